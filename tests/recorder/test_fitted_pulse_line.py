"""With the meter fitted on the 905.2 link, the recorder measures the terminal's own pulse line with
the terminal's calibration under the seal (GB/T 19056 04H), never a K taken from the meter; without
a calibration it records GNSS speed only rather than guess a K."""

import logging
from types import SimpleNamespace

from terminal.app.recorder import Recorder
from terminal.recorder import store
from terminal.recorder.core import SOURCE_GNSS, SOURCE_PULSES
from terminal.trust.calibration import KV_KEY, Calibration
from tests.recorder.test_desk import T0, drive, make_term


def fitted(tmp_path, calibrated_k=None):
    term = make_term(tmp_path)
    # the link meter's mirror: its K is under its own seal and not known to the terminal
    term.meter = SimpleNamespace(powered=True, state="hired", shift_info=None, external=True,
                                 odometer=SimpleNamespace(k=None), totals=SimpleNamespace(total_m=123_400))
    if calibrated_k is not None:
        term.storage.kv_set(KV_KEY, Calibration.from_run(1000, calibrated_k, T0 - 86_400_000).kv_text())
    return term


def sources(term, t):
    rec_rows = store.speed_minutes(term.storage, T0, t)
    return [(speed, src) for _, data in rec_rows for speed, _st, src in store.seconds(data) if speed != 0xFFFF]


def test_the_calibrated_k_of_the_terminals_own_line_measures_speed_and_distance(tmp_path):
    term = fitted(tmp_path, calibrated_k=1000)
    rec = Recorder(term)
    assert rec.pulse_k() == 1000
    t, count = drive(rec, T0, 20, 36)
    rec.flush(t)
    seen = sources(term, t)
    assert seen and all(src == SOURCE_PULSES for _, src in seen) and seen[-1][0] == 360
    facts = rec.facts()
    first = 2          # the first reading is the baseline: 2 pulses in its 0.2 s at 36 km/h
    assert facts["k"] == 1000 and facts["total_m"] == count - first    # its own distance, not the meter's
    # the distance carries over a restart
    again = Recorder(term)
    assert again.facts()["total_m"] == count - first


def test_a_doubled_calibration_halves_the_recorded_speed(tmp_path):
    term = fitted(tmp_path, calibrated_k=2000)
    rec = Recorder(term)
    t, _ = drive(rec, T0, 20, 36)
    rec.flush(t)
    assert sources(term, t)[-1] == (180, SOURCE_PULSES)


def test_without_a_calibration_the_record_is_gnss_only_and_says_so(tmp_path, caplog):
    term = fitted(tmp_path)
    with caplog.at_level(logging.WARNING, logger="taxiterm"):
        rec = Recorder(term)
    assert rec.pulse_k() is None and "not calibrated" in caplog.text
    t, _ = drive(rec, T0, 20, 36)
    rec.flush(t)
    seen = sources(term, t)
    assert seen and all(src == SOURCE_GNSS for _, src in seen)
    assert rec.facts()["k"] == 0
