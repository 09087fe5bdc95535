"""A broken invariant is detected and named: from the summary check, and as the exit status of taxiterm sim."""

import copy

import pytest

from sim import summary
from sim.runner import ShiftRunner
from sim.scenario import parse
from terminal.cli import main as taxiterm

SHORT = {
    "scenario": {"name": "short", "start": "2026-11-20 10:00", "seed": 2},
    "vehicle": {"terminal_id": "T0900"},
    "actions": [
        {"do": "sign_in"},
        {"do": "hail", "route": {"length_m": 3600, "seed": 3}, "wait": "1m", "tolls_fen": 200},
        {"do": "hail", "route": {"length_m": 1500, "seed": 4}},
    ],
}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    runner = ShiftRunner(parse(copy.deepcopy(SHORT)), tmp_path_factory.mktemp("short"), render=False)
    result = runner.run()
    assert result["ok"], result["invariants"]
    return runner.data


def broken_after(data, change):
    data = copy.deepcopy(data)
    change(data)
    return summary.broken(summary.check(data))


def test_the_untouched_run_keeps_every_invariant(good):
    assert summary.broken(summary.check(good)) == []
    assert {r["invariant"] for r in summary.check(good)} == set(summary.INVARIANTS)


def test_a_missing_receipt_is_named(good):
    assert broken_after(good, lambda d: d["receipts"].pop()) == ["one_receipt_per_trip"]


def test_a_second_receipt_of_one_trip_is_named(good):
    assert broken_after(good, lambda d: d["receipts"].append(d["receipts"][0])) == ["one_receipt_per_trip"]


def test_a_platform_record_with_another_amount_is_named(good):
    def change(d):
        trip = next(m for m in d["uplinks"] if m["kind"] == "trip")
        trip["payload"]["record"]["total_fen"] += 10
    assert broken_after(good, change) == ["one_platform_record_per_trip"]


def test_a_lost_report_is_named(good):
    def change(d):
        d["uplinks"] = [m for m in d["uplinks"] if m["payload"].get("seq") != 3]
    assert "no_report_lost" in broken_after(good, change)


def test_a_fare_that_differs_from_the_reference_is_named(good):
    def change(d):
        d["trips"][0]["fare_fen"] += 10
        d["trips"][0]["total_fen"] += 10
        d["totalisers"]["fares_fen"] += 10
    assert broken_after(good, change) == ["one_receipt_per_trip", "one_platform_record_per_trip",
                                          "fares_equal_reference", "settle_total_equals_receipt"]


def test_totalisers_that_do_not_add_up_are_named(good):
    assert broken_after(good, lambda d: d["totalisers"].update(hirings=9)) == ["totalisers_equal_sums"]


def test_an_alarm_never_released_is_named(good):
    def change(d):
        d["uplinks"].append({"kind": "alarm", "valid": True, "errors": [], "rx_ms": 0,
                             "payload": {"seq": 10**6, "extra": {"alarm_id": "A1", "stage": "pre_alarm"}}})
    assert "alarm_lifecycle_complete" in broken_after(good, change)


# -- what people see (issue 14) -----------------------------------------------------------------------

def test_the_run_watched_the_display_the_sign_and_the_faults(good):
    checked = {r["invariant"]: r["checked"] for r in summary.check(good)}
    assert checked["display_equals_meter"] > 100 and checked["sign_follows_state"] > 100
    assert checked["settle_total_equals_receipt"] == 2 and checked["alarm_bits_cleared"] > 10
    tolls = [f for f in good["frames"] if f["screen"] == "SettleScreen" and f["entry"]]
    assert tolls, "the toll being keyed is on the display"


def test_a_display_behind_the_meter_is_named(good):
    def change(d):
        d["witness"]["problems"]["display_equals_meter"].append("16:00:00: display 2350 fen, meter 2850 fen")
    assert broken_after(good, change) == ["display_equals_meter"]


def test_a_settle_screen_that_never_showed_the_toll_is_named(good):
    def change(d):
        trip = d["trips"][0]
        last = [f for f in d["frames"] if f["screen"] == "SettleScreen" and f["t_ms"] <= trip["end_ms"]][-1]
        last["total_fen"] -= 200                 # the recorder missed the toll added after settle
    assert broken_after(good, change) == ["settle_total_equals_receipt"]


def test_a_sign_that_stays_vacant_after_sign_out_is_named(good):
    def change(d):
        d["witness"]["problems"]["sign_follows_state"].append("17:40:00: sign shows vacant, wanted out_of_service")
    assert broken_after(good, change) == ["sign_follows_state"]


def test_an_alarm_bit_left_on_with_health_ok_is_named(good):
    def change(d):
        last = max((m for m in d["uplinks"] if m["kind"] == "health"), key=lambda m: m["payload"]["seq"])
        last["payload"]["alarm"] = 1024          # meter fault bit, while health says the meter is ok
    assert broken_after(good, change) == ["device_faults_agree", "alarm_bits_cleared"]


def test_a_raise_without_its_clear_in_the_audit_trail_is_named(good):
    def change(d):
        d["device_alarm_edges"].append([0, "speed_sensor_fault", "off", "on"])
    assert broken_after(good, change) == ["alarm_bits_cleared"]


def test_none_as_text_in_a_payload_is_named(good):
    def change(d):
        health = next(m for m in d["uplinks"] if m["kind"] == "health")
        health["payload"]["devices"]["printer"]["detail"] = "None"
    assert broken_after(good, change) == ["payload_fields_typed"]


def test_reference_fare_prices_pauses_and_power_dips_like_the_meter():
    # hire at 0, 1000 m in 60 s, paused 60 s (not charged), a 5 s dip, then settle and clear
    tariff = {"id": "X", "effective_from": "2026-01-01 00:00", "start_fare_fen": 1000, "start_distance_m": 0,
              "per_km_fen": 200, "step_fen": 1, "waiting": {"below_kmh": 12, "fen_per_unit": 60, "unit_s": 60}}
    t0 = 1795132200000
    journal = [("reading", [t0, 0], {}), ("key", [t0, "hire"], {}), ("reading", [t0 + 60000, 1000], {}),
               ("key", [t0 + 60000, "pause"], {}), ("key", [t0 + 120000, "resume"], {}),
               ("power", [t0 + 120000, False], {}), ("power", [t0 + 125000, True], {}),
               ("key", [t0 + 125000, "settle"], {}), ("key", [t0 + 126000, "clear"], {})]
    trips = summary.reference_trips(journal, {"X": tariff}, k=1000)
    assert trips == {1: {"fare_fen": 1000 + 200, "waiting_ms": 0}}


def test_taxiterm_sim_exits_non_zero_naming_the_broken_invariant(tmp_path, capsys):
    scenario = tmp_path / "no-paper.toml"
    scenario.write_text("""
[scenario]
name = "no-paper"
start = "2026-11-20 10:00"
end = "10:30"
[vehicle]
terminal_id = "T0901"
[[actions]]
do = "hail"
route = { length_m = 800 }
[[actions]]
do = "paper_out"
into = "1m"
duration = "10h"
""", encoding="utf-8")
    status = taxiterm(["sim", str(scenario), "--out", str(tmp_path / "out"), "--virtual", "--no-render"])
    out = capsys.readouterr().out
    assert status == 1
    assert "broken invariant(s): one_receipt_per_trip" in out
    assert "paper_out" in out
