"""The speed status log (GB/T 19056 15H): the pulse sensor against GNSS while driving at 40 km/h or more."""

from terminal.recorder.core import RecorderCore
from terminal.recorder.speed_status import ABNORMAL, NORMAL, SpeedStatus
from tests.recorder.model import T0, drive, of


def feed(check, start, seconds, recorded, reference, pulses=True):
    out = []
    for i in range(seconds):
        out += check.second(start + i * 1000, recorded, pulses, reference)
    return out


def test_a_sensor_that_agrees_is_logged_normal_once_a_day_and_a_wrong_one_abnormal_at_once():
    check = SpeedStatus()
    [(kind, log)] = feed(check, T0, 60, 600, 610)
    assert kind == "speed_status" and log["status"] == NORMAL
    assert log["start_ms"] == T0 and log["end_ms"] == T0 + 59_000 and len(log["recorded"]) == 60
    assert feed(check, T0 + 60_000, 600, 600, 610) == []                  # the same status the same day
    [(_, log)] = feed(check, T0 + 660_000, 60, 600, 700)                  # 14 % slow: abnormal
    assert log["status"] == ABNORMAL
    assert feed(check, T0 + 86_400_000, 60, 600, 700)[0][1]["status"] == ABNORMAL   # next day: logged again


def test_slow_driving_gnss_missing_or_speed_not_from_pulses_is_not_judged():
    check = SpeedStatus()
    assert feed(check, T0, 120, 300, 300) == []                           # below 40 km/h
    assert feed(check, T0, 120, 600, None) == []
    assert feed(check, T0, 120, 600, 600, pulses=False) == []
    assert feed(check, T0, 59, 600, 600) == [] and feed(check, T0 + 61_000, 59, 600, 600) == []   # a gap restarts


def test_the_core_judges_its_pulse_speed_against_the_fixes():
    core = RecorderCore()
    records, _ = drive(core, [(130_000, 600)])
    [(_, log)] = of(records, "speed_status")
    assert log["status"] == NORMAL and all(abs(r - 600) <= 40 for r in log["recorded"][1:])
