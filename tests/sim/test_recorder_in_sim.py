"""The driving recorder through a simulated shift (sim/scenarios/fatigue-overspeed.toml).

Overspeed on an expressway with hard stops, continuous driving past its (shortened) limit,
a rest, more driving past the daily limit: the record agrees with the vehicle model, the
fatigue alarms reach the platform, and a broken record is named by its invariant.
"""

import copy

import pytest

from sim import summary
from sim.runner import ShiftRunner
from sim.scenario import BUNDLED, load
from terminal.link.payloads import ALARM_BITS


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    runner = ShiftRunner(load(BUNDLED / "fatigue-overspeed.toml"), tmp_path_factory.mktemp("fatigue"), render=False)
    result = runner.run()
    assert result["ok"], summary.broken(result["invariants"])
    return runner.data


def test_the_record_agrees_with_the_vehicle(shift):
    results = {r["invariant"]: r for r in summary.check(shift)}
    for name in ("record_every_second", "record_speeds_equal_vehicle", "record_stops_cover_20s",
                 "record_stop_samples_fine"):
        assert results[name]["ok"] and results[name]["checked"] > 0, results[name]


def test_hard_stops_keep_the_speed_before_them(shift):
    stops = shift["recorder"]["stops"]
    assert len(stops) >= 3
    assert max(max(s for s, _ in stop["samples"]) for stop in stops) >= 600     # braking from 60 km/h or more


def test_overspeed_against_the_platforms_limit_is_recorded(shift):
    overspeed = shift["recorder"]["events"]["overspeed"]
    assert overspeed and all(o["limit_kmh"] == 60 and o["top_01kmh"] > 600 for o in overspeed)


def test_fatigue_alarms_reach_the_platform_and_leave_an_overtime_record(shift):
    bits = {m["payload"]["alarm"] for m in shift["uplinks"] if m["kind"] == "location"}
    assert any(b >> ALARM_BITS["continuous_driving"] & 1 for b in bits)
    assert any(b >> ALARM_BITS["daily_driving"] & 1 for b in bits)
    overtime = shift["recorder"]["events"]["overtime"]    # ended by the rest, then by the sign-out
    assert len(overtime) == 2
    assert all(o["driver_cert"] == "440100765432" and o["driven_ms"] > 600_000 for o in overtime)
    assert [d["event"] for d in shift["recorder"]["events"]["driver"]] == ["sign_in", "sign_out"]


def broken_after(data, change):
    data = copy.deepcopy(data)
    change(data["recorder"])
    return summary.broken(summary.check(data))


def test_a_lost_second_is_named(shift):
    assert broken_after(shift, lambda r: r["seconds"].pop(100)) == ["record_every_second"]


def test_a_wrong_speed_is_named(shift):
    def change(r):
        t, v = r["seconds"][200]
        r["seconds"][200] = (t, v + 200)
    assert broken_after(shift, change) == ["record_speeds_equal_vehicle"]


def test_a_lost_stop_is_named(shift):
    assert broken_after(shift, lambda r: r["stops"].pop(0)) == ["record_stops_cover_20s"]


def test_stop_samples_are_true_fifth_second_measurements(shift):
    results = {r["invariant"]: r for r in summary.check(shift)}
    assert results["record_stop_samples_fine"]["ok"] and results["record_stop_samples_fine"]["checked"] >= 3, \
        results["record_stop_samples_fine"]


def test_stop_samples_repeated_once_a_second_are_named(shift):
    def once_a_second(r):
        for stop in r["stops"]:
            stop["age_ms"] = [(stop["first_ms"] + 200 * i) % 1000 for i in range(len(stop["samples"]))]
    assert broken_after(shift, once_a_second) == ["record_stop_samples_fine"]
