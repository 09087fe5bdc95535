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
                                          "fares_equal_reference"]


def test_totalisers_that_do_not_add_up_are_named(good):
    assert broken_after(good, lambda d: d["totalisers"].update(hirings=9)) == ["totalisers_equal_sums"]


def test_an_alarm_never_released_is_named(good):
    def change(d):
        d["uplinks"].append({"kind": "alarm", "valid": True, "errors": [], "rx_ms": 0,
                             "payload": {"seq": 10**6, "extra": {"alarm_id": "A1", "stage": "pre_alarm"}}})
    assert "alarm_lifecycle_complete" in broken_after(good, change)


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
