"""The recorder's invariants against a vehicle model, on synthetic drives (not yet inside the shift simulator).

A vehicle that accelerates and brakes at the simulator's rates (1.5 and 4 m/s^2), a pulse
sensor at K pulses/km sampled every period, a GNSS fix every second: the record must have
every second, speeds within the sensor's resolution, and each stop's 20 s. The checks
must also fail on a record with a hole, a wrong speed or a missing stop.
"""

import pytest

from sim.recorder_checks import (
    missing_seconds,
    recorded_seconds,
    resolution_01,
    speed_mismatches,
    stop_problems,
    vehicle_stops,
)
from terminal.recorder import store as store_mod
from terminal.recorder.core import RecorderCore
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000
POS = (22543096, 114057865, 10)


def vehicle(plan):
    """Speeds in m/s, one per second, from (target km/h, seconds held) legs at realistic rates."""
    v, out = 0.0, []
    for target_kmh, seconds in plan:
        target = target_kmh / 3.6
        for _ in range(seconds):
            v = min(target, v + 1.5) if v < target else max(target, v - 4.0)
            out.append(v)
    return out


def record(tmp_path, speeds, *, k=1000, period_ms=200):
    storage = Storage(tmp_path / "t.db")
    rs = RecordStore(storage)
    core = RecorderCore()
    odometer = 0.0
    t = T0
    truth = {T0 - 2000: 0, T0 - 1000: 0}      # the vehicle stood before the drive
    for v in speeds:
        truth[t] = round(v * 36)
        for _ in range(5):
            odometer += v * 0.2
            t += 200
            for r in core.advance(t):
                if r[0] == "second":
                    rs.second(*r[1:])
                elif r[0] == "stop":
                    rs.event("stop", r[1]["t_ms"], r[1])
            if t % period_ms == 0:
                core.pulses(t, int(odometer * k / 1000), k)
            if t % 1000 == 0:
                core.fix(t, round(v * 36), (POS[0], POS[1] + int(odometer), POS[2]))
    rs.flush()
    return storage, truth, t


PLAN = [(50, 40), (0, 25), (30, 30), (0, 10), (60, 60), (0, 30)]


@pytest.mark.parametrize("k,period_ms", [(1000, 200), (4000, 200), (1000, 1000)])
def test_a_drive_with_stops_agrees_with_the_vehicle(tmp_path, k, period_ms):
    storage, truth, end = record(tmp_path, vehicle(PLAN), k=k, period_ms=period_ms)
    rows = store_mod.speed_minutes(storage, T0, end)
    recorded = recorded_seconds(rows)
    # the first measurement comes one sampling period after the start
    assert missing_seconds(recorded, range(T0 if period_ms < 1000 else T0 + 1000, end - 1000, 1000)) == []
    assert speed_mismatches(recorded, truth, tolerance_01=resolution_01(k, 1000) + 1, lag_ms=period_ms) == []
    stops = vehicle_stops(truth)
    assert len(stops) == 3
    bodies = store_mod.events(storage, "stop", 0, end)
    assert stop_problems(bodies, stops, lag_ms=period_ms, position_of=lambda t, pos: pos[0] == POS[0]) == []


def test_the_checks_catch_a_hole_a_wrong_speed_and_a_missing_stop(tmp_path):
    storage, truth, end = record(tmp_path, vehicle(PLAN))
    rows = store_mod.speed_minutes(storage, T0, end)
    minute, data = rows[0]
    broken = bytearray(data)
    broken[20:24] = bytes((0xFF, 0xFF, 0, 0))                          # second 5 lost
    broken[40:42] = (900).to_bytes(2, "big")                          # second 10 at 90 km/h
    rows = [(minute, bytes(broken))] + rows[1:]
    recorded = recorded_seconds(rows)
    assert len(missing_seconds(recorded, range(T0, end - 1000, 1000))) == 1
    assert any("recorded 90.0 km/h" in p for p in speed_mismatches(recorded, truth, tolerance_01=37))
    bodies = store_mod.events(storage, "stop", 0, end)
    assert stop_problems(bodies[1:], vehicle_stops(truth)) == [f"no stop record for the vehicle's stop at "
                                                                f"{vehicle_stops(truth)[0]}"]
    short = dict(bodies[0], samples=bodies[0]["samples"][50:])
    assert stop_problems([short], vehicle_stops(truth)[:1])
