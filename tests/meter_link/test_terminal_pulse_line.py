"""With the meter fitted on the 905.2 link, the terminal's own calibrated pulse line feeds the
driving record; if that line falls silent while GNSS says the car moves, the terminal raises the
speed-sensor fault (JT/T 905 bit 23) and the record turns to GNSS, as with the internal meter.
An uncalibrated line is not in use, so its silence is no fault."""

import queue

from drivers.event import Event
from gps.fix import Fix
from meter.tariff import Schedule, parse_tariff
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from terminal.trust.calibration import KV_KEY, Calibration
from tests.meter.support import tariff_data
from tests.meter_link.test_meter_port import Clock, FakeLink


def _terminal(tmp_path, calibrated_k):
    clock = Clock()
    storage = Storage(tmp_path / "terminal.db", clock)
    if calibrated_k is not None:
        storage.kv_set(KV_KEY, Calibration.from_run(1000, calibrated_k, clock.t - 86_400_000).kv_text())
    term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=storage,
                    schedule=Schedule([parse_tariff(tariff_data())]), events=queue.Queue(), clock=clock,
                    devices=Devices(meter_link=FakeLink()), software_id="0" * 64, calibrated_k=calibrated_k)
    term.start()
    return term, storage, clock


def _drive_with_a_dead_line(term, clock, seconds):
    for i in range(seconds):
        clock.t += 1000
        term.handle(Event("pulses", clock.t, {"count": 0}))
        fix = Fix(time_ms=clock.t, lat=23.1 + i * 0.0001, lon=113.3, speed_mps=15.0, quality=1, mode=3, sats=8,
                  hdop=1.0, valid=True)
        term.handle(Event("fix", clock.t, {"fix": fix}))


def test_a_silent_calibrated_line_is_a_speed_sensor_fault(tmp_path):
    term, storage, clock = _terminal(tmp_path, 1000)
    try:
        _drive_with_a_dead_line(term, clock, 30)
        assert "speed_sensor_fault" in term.alarm_flags
        assert "meter_fault" not in term.alarm_flags      # the meter on the link is fine
        clock.t += 1000
        term.handle(Event("pulses", clock.t, {"count": 5}))   # the line is back
        assert "speed_sensor_fault" not in term.alarm_flags
    finally:
        storage.close()


def test_an_uncalibrated_line_is_not_watched(tmp_path):
    term, storage, clock = _terminal(tmp_path, None)
    try:
        _drive_with_a_dead_line(term, clock, 30)
        assert not {"speed_sensor_fault", "meter_fault"} & set(term.alarm_flags)
    finally:
        storage.close()
