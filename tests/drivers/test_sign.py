"""The rooftop sign driver against the top-light emulator over a real pseudo-terminal."""

import os
import queue
import random
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.sign import SignDriver, SignFollower
from drivers.sign_frame import (
    CMD_QUERY,
    CMD_SET_STATE,
    DEVICE_TOP_LIGHT,
    Frame,
    TopLightStatus,
    encode,
    parse_bcd_time,
)
from drivers.sign_health import SignHealth
from sim.pty import PtyDevice
from sim.sign_emulator import SignEmulator
from tests.drivers.helpers import next_event, wait_until


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def sign():
    emulator = SignEmulator().start()
    events: queue.Queue = queue.Queue()
    driver = SignDriver(emulator.path, events, wall_ms, query_interval_ms=60, answer_timeout_ms=30,
                        fault_after=3).start()
    yield emulator, driver, events
    driver.close()
    emulator.close()


# --- SignFollower (pure) ------------------------------------------------------------------------

def test_follower_maps_the_meter_states():
    follower = SignFollower()
    assert follower.state == "vacant"
    assert follower.meter("hired") == "occupied"
    assert follower.meter("stopped") is None  # still occupied: nothing to send
    assert follower.meter("settling") is None
    assert follower.meter("for_hire") == "vacant"
    assert follower.meter("out_of_service") == "out_of_service"
    assert follower.meter("for_hire") == "vacant"


def test_follower_on_call_then_passenger_boards():
    follower = SignFollower()
    assert follower.on_call(True) == "on_call"
    assert follower.meter("hired") == "occupied"
    assert follower.on_call(False) is None
    assert follower.meter("for_hire") == "vacant"


def test_alarm_overrides_and_release_restores_what_the_situation_says():
    follower = SignFollower()
    follower.meter("hired")
    assert follower.alarm(True) == "alarm"
    assert follower.meter("settling") is None  # the alarm stays on the sign
    assert follower.meter("for_hire") is None
    assert follower.alarm(False) == "vacant"  # the trip ended under the alarm: back to vacant


def test_follower_refuses_unknown_meter_state():
    with pytest.raises(ValueError, match="unknown meter state 'parked'"):
        SignFollower().meter("parked")


@given(st.lists(st.tuples(st.sampled_from(["meter", "on_call"]),
                          st.sampled_from(["for_hire", "hired", "stopped", "settling", "out_of_service"]),
                          st.booleans()), max_size=12))
def test_alarm_release_returns_to_the_state_without_the_alarm(steps):
    with_alarm, without = SignFollower(), SignFollower()
    with_alarm.alarm(True)
    for what, meter_state, flag in steps:
        for follower in (with_alarm, without):
            follower.meter(meter_state) if what == "meter" else follower.on_call(flag)
    assert with_alarm.state == "alarm"
    with_alarm.alarm(False)
    assert with_alarm.state == without.state


# --- SignHealth (pure) --------------------------------------------------------------------------

def test_health_raises_after_n_failed_attempts_and_clears_on_answer():
    health = SignHealth(answer_timeout_ms=100, fault_after=3)
    t = 0
    for attempt in range(3):
        assert health.asked(t) == []
        t += 100
        events = health.due(t)
        if attempt < 2:
            assert events == []
    assert [e.data for e in events] == [{"active": True, "reason": "no answer (3 attempts)"}]
    health.asked(t)
    (event,) = health.answered(t + 5)
    assert event.kind == "sign_fault" and event.data["active"] is False


def test_health_names_garbage_and_tolerates_noise_next_to_a_good_answer():
    health = SignHealth(answer_timeout_ms=100, fault_after=1)
    health.asked(0)
    health.garbage(10, "XOR mismatch")
    assert health.answered(20) == []  # a good answer wins over noise
    health.asked(200)
    health.garbage(210, "XOR mismatch")
    (event,) = health.due(300)
    assert event.data == {"active": True, "reason": "garbage: XOR mismatch (1 attempts)"}


# --- driver against the emulator -------------------------------------------------------------

def test_driver_follows_a_shift_on_the_sign(sign):
    emulator, driver, _ = sign
    follower = SignFollower()
    steps = [("on_call", True), ("meter", "hired"), ("on_call", False), ("meter", "settling"),
             ("meter", "for_hire"), ("alarm", True), ("alarm", False), ("meter", "out_of_service")]
    for what, value in steps:
        new_state = getattr(follower, what)(value)
        if new_state is not None:
            driver.show(new_state)
    expected = ["on_call", "occupied", "vacant", "alarm", "vacant", "out_of_service"]
    assert wait_until(lambda: emulator.states() == expected), emulator.states()
    assert wait_until(lambda: driver.acks.get(CMD_SET_STATE) == 0)


def test_status_query_is_answered_and_carries_the_time(sign):
    emulator, driver, events = sign
    assert wait_until(lambda: driver.status is not None)
    assert driver.status.product_id == DEVICE_TOP_LIGHT
    query = next(f for f in emulator.frames if f.command == CMD_QUERY)
    assert parse_bcd_time(query.body)[:2] == "20"
    assert not driver.health.faulty


def test_night_mode_and_stars_reach_the_sign(sign):
    emulator, driver, _ = sign
    driver.night(True)
    driver.stars(4)
    assert wait_until(lambda: emulator.night and emulator.stars == 4)
    assert wait_until(lambda: driver.status is not None and driver.status.night_mode == 1)


def test_silent_sign_raises_a_fault_and_recovery_clears_it(sign):
    emulator, driver, events = sign
    emulator.silent = True
    fault = next_event(events, "sign_fault")
    assert fault is not None and fault.data["active"] is True
    assert fault.data["reason"].startswith("no answer")
    emulator.silent = False
    cleared = next_event(events, "sign_fault")
    assert cleared is not None and cleared.data["active"] is False


def test_garbage_answers_raise_a_fault_naming_garbage(sign):
    emulator, driver, events = sign
    emulator.garbage = True
    fault = next_event(events, "sign_fault")
    assert fault is not None and fault.data["active"] is True
    assert fault.data["reason"].startswith("garbage")
    assert driver.rejected > 0
    emulator.garbage = False
    cleared = next_event(events, "sign_fault")
    assert cleared is not None and cleared.data["active"] is False


def test_driver_shows_its_state_again_when_the_sign_lost_it(sign):
    emulator, driver, _ = sign
    driver.show("occupied")
    assert wait_until(lambda: emulator.state == "occupied")
    emulator.state = "vacant"  # the sign rebooted on its own
    assert wait_until(lambda: emulator.state == "occupied" and emulator.states()[-1] == "occupied"
                      and len(emulator.states()) >= 2)


def _status_answer(state_code: int) -> bytes:
    body = TopLightStatus(0, DEVICE_TOP_LIGHT, 7, 1, 1, 0, 0, state_code, 0).to_body()
    return encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, body))


NASTY = [
    b"\x55\xaa\xff\xff",                                   # absurd length
    b"\x55\xaa\x00\x04\x05\x00\x00\x00\x01\x55\xaa",       # right shape, wrong XOR
    encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, b"\x01")),  # status answer too short
    encode(Frame(0x02, 0, CMD_QUERY, bytes(16))),           # the meter answering, not the sign
    encode(Frame(DEVICE_TOP_LIGHT, 0, 0x4242, b"")),        # unknown command
    encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_STATE, b"\x01\x02")),  # ack with two bytes
    b"\x55" * 50, b"\xaa\x55" * 20, bytes(range(256)),
]


def test_malformed_answers_never_crash_the_driver():
    with PtyDevice() as line:
        events: queue.Queue = queue.Queue()
        driver = SignDriver(line.path, events, wall_ms, query_interval_ms=10_000, answer_timeout_ms=5_000,
                            fault_after=1).start()
        try:
            rng = random.Random(4)
            payloads = NASTY + [bytes(rng.randrange(256) for _ in range(rng.randint(1, 80))) for _ in range(40)]
            for payload in payloads:
                line.write(payload)
            # a frame whose false header swallows bytes must not block good answers for long:
            line.write(bytes(1100))
            line.write(_status_answer(1))
            assert wait_until(lambda: driver.status is not None and driver.status.running_state == 1)
            assert all(t.is_alive() for t in driver._threads)
            assert driver.rejected > 0
        finally:
            driver.close()


def test_a_malformed_port_url_is_a_clear_error():
    import serial

    with pytest.raises(serial.SerialException, match="rooftop sign: cannot open nosuchscheme://x"):
        SignDriver("nosuchscheme://x", queue.Queue(), wall_ms).start()


def test_a_sign_missing_at_start_is_a_sign_fault_and_is_picked_up_when_plugged_in(tmp_path):
    """An unplugged sign (its udev link missing) must not keep the terminal from metering: the
    driver starts without its port, what it is told to show is dropped, the silence is a
    sign_fault, and the sign is found when it appears (the terminal then shows its state again)."""
    link = tmp_path / "taxiterm-sign"
    events: queue.Queue = queue.Queue()
    driver = SignDriver(str(link), events, wall_ms, query_interval_ms=60, answer_timeout_ms=30,
                        fault_after=3).start()
    emulator = None
    try:
        driver.show("occupied")                  # nothing to write to: dropped, no exception
        event = next_event(events, "sign_fault")
        assert event is not None and event.data["active"] is True
        assert str(link) in (driver.error or "")
        emulator = SignEmulator().start()
        link.symlink_to(emulator.path)            # plugged in
        event = next_event(events, "sign_fault")
        assert event is not None and event.data["active"] is False
        driver.show("occupied")
        assert wait_until(lambda: emulator.state == "occupied")
        assert all(t.is_alive() for t in driver._threads)
    finally:
        driver.close()
        if emulator is not None:
            emulator.close()


def test_pty_is_really_a_tty(sign):
    emulator, _, _ = sign
    assert os.path.exists(emulator.path) and emulator.path.startswith("/dev/pts/")


def test_the_anti_counterfeit_mark_is_shown_and_cleared(sign):
    from drivers.sign_frame import CMD_CLEAR_MARK, CMD_SET_MARK, encode, mark_frame
    emulator, driver, _ = sign
    assert encode(mark_frame(b"\x01\x02")).hex() == "55aa0006050000130102" + "13" + "55aa"
    driver.show_mark(b"ABC123")
    assert wait_until(lambda: emulator.mark == b"ABC123" and driver.acks.get(CMD_SET_MARK) == 0)
    driver.clear_mark()
    assert wait_until(lambda: emulator.mark is None and driver.acks.get(CMD_CLEAR_MARK) == 0)


def test_a_command_dropped_while_the_sign_was_missing_awaits_no_acknowledgement(tmp_path):
    """The mark sent while nothing was plugged in never reached a sign, so an acknowledgement of it
    arriving later (replayed on the line) is not believed."""
    from drivers.sign_frame import CMD_SET_MARK
    driver = SignDriver(str(tmp_path / "taxiterm-sign"), queue.Queue(), wall_ms).start()
    try:
        driver.show_mark(b"\x01\x02")
        rejected = driver.rejected
        driver.received(encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_MARK, b"\x00")))   # "mark shown"
        assert CMD_SET_MARK not in driver.acks and driver.rejected == rejected + 1
    finally:
        driver.close()
