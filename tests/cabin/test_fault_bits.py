"""Alarm bits, health and display warnings agree, and a bit raised is cleared when its cause clears (issue 14, item 1)."""

from terminal.link.payloads import ALARM_BITS

SPEED_SENSOR = 1 << ALARM_BITS["speed_sensor_fault"]
METER = 1 << ALARM_BITS["meter_fault"]


def test_speed_sensor_bit_is_23_as_in_jtt_905():
    assert ALARM_BITS["speed_sensor_fault"] == 23


def test_distance_mismatch_raises_the_speed_sensor_bit_and_agreement_clears_it(bench):
    bench.press("hire")
    bench.drive_gnss(60, 40)                            # agree: nothing raised
    assert bench.reports("location")[-1]["alarm"] == 0
    bench.drive_gnss(200, 40, pulse_factor=0.7)         # the sensor counts 30 % short
    last = bench.reports("location")[-1]
    assert last["alarm"] & SPEED_SENSOR and not last["alarm"] & METER
    bench.advance(1)
    bench.term.reporting.health(bench.clock.t)
    health = bench.reports("health")[-1]
    assert health["devices"]["speed_sensor"] == {"ok": False, "detail": "distance_mismatch"}
    assert health["alarm"] & SPEED_SENSOR
    assert "脉冲故障" in bench.display.warnings
    bench.drive_gnss(200, 40)                           # agrees again
    last = bench.reports("location")[-1]
    assert last["alarm"] == 0, last
    bench.term.reporting.health(bench.clock.t)
    health = bench.reports("health")[-1]
    assert health["devices"]["speed_sensor"]["ok"] and health["alarm"] == 0
    assert "脉冲故障" not in bench.display.warnings
    assert bench.audit_edges("speed_sensor_fault") == [("off", "on"), ("on", "off")]


def test_pulses_silent_while_gnss_moves_is_the_speed_sensor_not_the_meter(bench):
    bench.press("hire")
    bench.drive_gnss(20, 40)
    bench.drive_gnss(30, 40, pulse_factor=0)
    assert bench.reports("location")[-1]["alarm"] == SPEED_SENSOR
    bench.drive_gnss(20, 40)
    assert bench.reports("location")[-1]["alarm"] == 0
    edges = bench.audit_edges("speed_sensor_fault")
    assert edges[0] == ("off", "on") and edges[-1] == ("on", "off")
    assert bench.audit_edges("meter_fault") == []


def test_meter_fault_bit_follows_the_meters_own_fault(bench):
    bench.press("hire")
    bench.drive(100, seconds=5)
    bench.pulses += 500_000                              # 500 km in a second: implausible
    bench.drive(0, seconds=2)
    assert bench.term.meter.fault
    assert bench.reports("location")[-1]["alarm"] & METER
    bench.term.reporting.health(bench.clock.t)
    health = bench.reports("health")[-1]
    assert not health["devices"]["meter"]["ok"] and health["alarm"] & METER


def test_no_none_text_in_health(bench):
    bench.event("printer_status", online=False, paper_out=True, cover_open=False, paper_near_end=False,
                reason="paper_out", detail="")
    bench.term.reporting.health(bench.clock.t)
    printer = bench.reports("health")[-1]["devices"]["printer"]
    assert printer == {"ok": False, "detail": "paper_out"}
    bench.event("printer_status", online=True, paper_out=False, cover_open=False, paper_near_end=False,
                reason=None, detail="")
    bench.term.reporting.health(bench.clock.t)
    printer = bench.reports("health")[-1]["devices"]["printer"]
    assert printer == {"ok": True, "detail": ""}


def test_paper_out_is_shown_as_paper_out_not_offline(bench):
    bench.event("printer_status", online=False, paper_out=True, cover_open=False, paper_near_end=False,
                reason="paper_out", detail="")
    assert bench.display.warnings == ("缺纸",)


def test_a_gnss_dropout_is_not_a_speed_sensor_fault(bench):
    """The demo's GNSS dropout raised the pulse-vs-GNSS mismatch: GNSS that is not there judges nothing."""
    bench.press("hire")
    bench.drive_gnss(60, 40)
    bench.drive_gnss(120, 40, fixes=False)           # a tunnel: pulses go on, no fixes
    bench.drive_gnss(200, 40)
    assert bench.audit_edges("speed_sensor_fault") == []
    assert all(r["alarm"] == 0 for r in bench.reports("location"))
