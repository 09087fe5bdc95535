"""Receiver health: JT/T 808 GNSS fault and antenna alarms from silence, lost fix and antenna reports."""

import pytest

from gps.fix import Fix
from gps.health import GnssHealth, antenna_status
from gps.parse import SentenceParser

GOOD = Fix(time_ms=1, lat=30.0, lon=120.0, valid=True, mode=3, speed_mps=0.0)


def test_silence_raises_and_data_clears_gnss_fault():
    health = GnssHealth(0, no_data_ms=5000, no_fix_ms=30000)
    assert health.tick(4999) == []
    assert health.tick(5000) == [("gnss_fault", True)]
    assert health.tick(6000) == []
    assert health.on_fix(GOOD, 6100) == [("gnss_fault", False)]


def test_no_fix_for_too_long_is_a_fault_even_with_data():
    health = GnssHealth(0, no_data_ms=5000, no_fix_ms=10000)
    lost = Fix(time_ms=1, valid=False, mode=1)
    changes = []
    for t in range(0, 12000, 1000):
        changes += health.on_fix(lost, t)
    assert changes == [("gnss_fault", True)]


@pytest.mark.parametrize("sentence, status", [
    ("GNTXT,01,01,02,ANTSTATUS=OPEN", "open"), ("GPTXT,01,01,02,ANTSTATUS=SHORT", "short"),
    ("GNTXT,01,01,02,ANTSTATUS=OK", "ok"), ("GNTXT,01,01,02,ANTSTATUS=INIT", None),
    ("GPTXT,01,01,01,ANTENNA OPEN", "open"), ("BDTXT,01,01,01,ANTENNA SHORT", "short"),
    ("GPTXT,01,01,01,ANTENNA OK", "ok"), ("GNTXT,01,01,02,u-blox AG - www.u-blox.com", None),
    ("PGTOP,11,1", "short"), ("PGTOP,11,2", "open"), ("PGTOP,11,3", "ok"),
])
def test_antenna_reports_of_three_receiver_families(sentence, status):
    assert antenna_status(SentenceParser().parse(sentence)) == status


def test_antenna_alarms_follow_the_reports():
    health = GnssHealth(0)
    assert health.on_antenna("open", 10) == [("antenna_open", True)]
    assert health.on_antenna("short", 20) == [("antenna_open", False), ("antenna_short", True)]
    assert health.on_antenna("ok", 30) == [("antenna_short", False)]
    with pytest.raises(ValueError):
        health.on_antenna("melted", 40)
