"""With a meter fitted on the 905.2 link the driving record still comes from the terminal's own
pulse line: the installation calibrates it under the seal, the recorder measures with that K (not
the meter's, which never crosses the link), and a short shift keeps every recorder invariant with
either fitted meter — speed records from pulses, stop samples from distinct 0.2 s readings."""

import json
from pathlib import Path

import pytest

from sim.runner import ShiftRunner
from sim.scenario import load
from terminal.recorder import store
from terminal.recorder.core import SOURCE_PULSES
from terminal.trust.calibration import KV_KEY, stored_k

SCENARIO = Path(__file__).with_name("data") / "short-link.toml"
RECORDER = ("record_every_second", "record_speeds_equal_vehicle", "record_stops_cover_20s", "record_stop_samples_fine")


@pytest.mark.parametrize("kind", ["link", "device"])
def test_the_record_comes_from_the_terminals_own_calibrated_pulse_line(kind, tmp_path):
    sc = load(SCENARIO)
    runner = ShiftRunner(sc, tmp_path / kind, render=False, meter=kind)
    summary = runner.run()
    invariants = {i["invariant"]: i for i in summary["invariants"]}
    for name in RECORDER:
        assert invariants[name]["ok"] and invariants[name]["checked"] > 0, json.dumps(invariants[name])
    assert summary["broken"] == [], json.dumps(summary["invariants"], ensure_ascii=False)
    terminal = runner.car.terminal
    # the technician's calibration, stored and audited under the seal, is the recorder's K
    assert runner.car.pulse_calibration.k == sc.vehicle.k
    assert terminal.recorder.pulse_k() == sc.vehicle.k and terminal.meter.odometer.k is None
    from terminal.storage.database import Storage
    with Storage(runner.car.state.database) as db:
        assert stored_k(db.kv_get(KV_KEY)) == sc.vehicle.k
        rows = store.speed_minutes(db, sc.start_ms, runner.now)
        stops = store.events(db, "stop", sc.start_ms, runner.now)
    sources = [src for _, data in rows for speed, _st, src in store.seconds(data) if speed and speed != 0xFFFF]
    assert sources and all(src == SOURCE_PULSES for src in sources)    # pulses, not GNSS
    assert stops and all(s["interval_ms"] == 200 and len(s["samples"]) == 100 for s in stops)
    facts = terminal.recorder.facts()
    assert facts["k"] == sc.vehicle.k and abs(facts["total_m"] - 6300) < 400   # the recorder's own distance
