"""The device's power-fail drill inside a whole shift: ``--meter device`` with the MicroPython
emulator killed at random moments (some during trips, some longer than a dip) and booted again
from its flash, the terminal attached all along. No trip the meter closed is lost or
duplicated on the terminal or at the platform, and the shift keeps its invariants."""

import json
import random
from pathlib import Path

from sim.runner import ShiftRunner
from sim.scenario import load

SCENARIO = Path(__file__).with_name("data") / "short-link.toml"


def test_killing_the_meter_device_during_a_shift_loses_no_trip(tmp_path):
    sc = load(SCENARIO)
    runner = ShiftRunner(sc, tmp_path / "drill", render=False, meter="device")
    rng = random.Random(905)
    cuts = []
    for _ in range(5):
        at = sc.start_ms + rng.randrange(20_000, 900_000)
        off_ms = rng.choice((2_000, 5_000, 15_000, 40_000))       # dips and losses (dip_ms = 10 s)
        cuts.append((at, off_ms))
        runner.clock.at(at, lambda: runner.car.fitted_meter.cut())
        runner.clock.at(at + off_ms, lambda: runner.car.fitted_meter.restore())
    summary = runner.run()
    fitted = runner.car.fitted_meter
    assert fitted.cuts >= 4, cuts
    assert summary["broken"] == [], json.dumps(summary["invariants"], ensure_ascii=False)
    final = fitted.final
    closed = final["trips"] if final["state"] in ("for_hire", "out_of_service") else final["trips"] - 1
    stored = [t["trip_no"] for t in runner.data["trips"]]
    assert closed >= 1 and final["pending"] == []              # the meter holds nothing unacknowledged
    assert stored == list(range(1, closed + 1))                 # every closed trip stored once, none invented
    reported = [m["payload"]["record"]["trip_no"] for m in runner.data["uplinks"] if m["kind"] == "trip"]
    assert sorted(reported) == stored                           # and reported once each
