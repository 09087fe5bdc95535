"""What the driver keys in and sees: toll entry digit by digit, the signed-out car (issue 14, items 4 and 5)."""

from drivers.screens import FareScreen, SettleScreen, SignedOutScreen  # noqa: F401
from terminal.app.cabin import toll_key_presses


def shown_total(screen) -> int:
    return screen.total_fen if isinstance(screen, SettleScreen) else screen.fare_fen


def settle_a_trip(bench) -> None:
    bench.press("hire")
    bench.drive(3000)
    bench.press("settle")


def test_a_toll_is_keyed_digit_by_digit_with_its_jiao_and_shown_while_keyed(bench):
    settle_a_trip(bench)
    before = bench.term.meter.view()
    fare, total = before["fare_fen"], before["total_fen"]
    bench.press("extra")
    assert bench.screen.entry == ("0000", 1)
    for _ in range(2):
        bench.press("extra")          # tens: 2
    bench.press("pause")
    for _ in range(5):
        bench.press("extra")          # yuan: 5
    bench.press("pause")
    for _ in range(5):
        bench.press("accept")         # jiao: 0 down five = 5
    assert bench.screen.entry == ("0255", 3)
    assert bench.screen.total_fen == total        # not in the total until it is added
    bench.press("settle")
    assert bench.term.meter.view()["total_fen"] == total + 2550
    assert bench.screen.extras[-1] == ("路桥费", 2550) and bench.screen.fare_fen == fare
    assert bench.screen.total_fen == total + 2550 and not bench.screen.entry
    bench.press("hire")
    trip = bench.storage.trips()[-1]
    assert trip["total_fen"] == total + 2550


def test_a_25_yuan_toll_takes_far_fewer_than_25_presses():
    assert len(toll_key_presses(2500)) <= 10
    assert toll_key_presses(0) == ["extra", "settle"]


def test_key_sequence_enters_exactly_the_amount(bench):
    settle_a_trip(bench)
    before = bench.term.meter.view()["extras_fen"]
    for key in toll_key_presses(12390):
        bench.press(key)
    assert bench.term.meter.view()["extras_fen"] == before + 12390


def test_a_dropped_entry_adds_nothing_and_hire_after_an_entry_only_closes_it(bench):
    settle_a_trip(bench)
    before = bench.term.meter.view()["extras_fen"]
    bench.press("extra")
    bench.press("extra")
    bench.press("reject")
    assert bench.term.meter.view()["extras_fen"] == before and not bench.screen.entry
    bench.press("extra")
    bench.press("extra")              # 10 yuan
    bench.press("hire")               # adds it; the trip stays open so the total can be seen
    assert bench.term.meter.state == "settling"
    assert shown_total(bench.screen) == bench.term.meter.view()["total_fen"]
    bench.press("hire")
    assert bench.storage.trips()[-1]["extras_fen"] == before + 1000


def test_display_total_equals_the_meter_after_every_key(bench):
    bench.press("hire")
    bench.drive(2000)
    for key in ["settle", *toll_key_presses(500), *toll_key_presses(130)]:
        bench.press(key)
        v = bench.term.meter.view()
        assert shown_total(bench.screen) == v["total_fen"]


def test_after_sign_out_the_car_is_out_of_service_until_the_next_sign_in(bench):
    bench.press("sign")
    assert bench.sign.state == "vacant"
    settle_a_trip(bench)
    bench.press("hire")
    bench.advance(4000)
    bench.press("sign")                          # sign-out
    bench.advance(4000)                          # the 签退 notice has gone
    assert bench.sign.state == "out_of_service"
    assert isinstance(bench.screen, SignedOutScreen)
    bench.advance(600_000)
    assert bench.sign.state == "out_of_service" and isinstance(bench.screen, SignedOutScreen)
    bench.press("sign")                          # the next shift
    bench.advance(4000)
    assert bench.sign.state == "vacant"
    assert bench.screen == FareScreen("for_hire")


def test_signed_out_survives_a_restart(bench, tmp_path):
    from tests.cabin.bench import Bench
    bench.press("sign")
    bench.press("sign")
    state_dir = bench.config["terminal"]["state_dir"]
    bench.close()
    again = Bench(type(tmp_path)(state_dir))
    try:
        assert again.sign.history[0] == "out_of_service"
        again.advance(1000)
        assert isinstance(again.screen, SignedOutScreen)
    finally:
        again.close()


def test_power_on_self_test_on_a_stepped_clock(tmp_path, tmp_path_factory):
    """All pixels for 3 s, then the software id for 3 s, then the fare screen: checked at chosen moments."""
    from drivers.screens import AllOnScreen, IdentityScreen
    from tests.cabin.bench import Bench, provisioned
    b = Bench(provisioned(tmp_path, tmp_path_factory.getbasetemp()), settle_self_test=False)
    try:
        seen = []
        for _ in range(8):
            b.advance(1000)
            seen.append(type(b.screen))
        assert seen[:2] == [AllOnScreen, AllOnScreen] and seen[3:5] == [IdentityScreen, IdentityScreen]
        assert seen[-1] is FareScreen
        assert b.term.selftest is None
    finally:
        b.close()


def test_the_presses_for_any_toll_key_in_exactly_that_toll():
    from hypothesis import given
    from hypothesis import strategies as st

    from terminal.app.cabin import TollEntry

    @given(st.integers(0, 9999).map(lambda jiao: jiao * 10))
    def check(fen):
        keys = toll_key_presses(fen)
        assert keys[0] == "extra" and keys[-1] == "settle"
        entry = TollEntry()
        for key in keys[1:-1]:
            {"extra": entry.up, "accept": entry.down, "pause": entry.next}[key]()
        assert entry.amount_fen == fen
        assert len(keys) <= 2 + 4 * 5 + 3          # never more than five steps a digit
    check()
