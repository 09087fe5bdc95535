"""Faults: plausibility that reading often cannot evade, a fault state that counts nothing,
and the technician's way out of it (MicroPython-compatible: no pytest)."""

from meter.errors import MeterError
from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.drive import Drive
from tests.meter.support import FRI_10H, HOUR, meter, raises, tariff_data


def credited_within_limit(d, t0, m0, max_kmh=250):
    """Distance counted since (t0, m0) is at most max_kmh over the time since, plus one count and a metre."""
    return (d.m.totals.total_m - m0) * 3600 <= max_kmh * (d.t - t0) + (1000 // d.k + 1) * 3600


def test_reading_often_does_not_evade_the_speed_limit():
    # A pulse generator at 720 km/h, read every 333 ms, 100 ms or 10 ms, for 10 s.
    for step_ms in (1000, 400, 333, 100, 10):
        for k in (1000, 100):
            d = Drive(meter(k=k), k=k).key("hire").run(60, 40)
            t0, m0, fare = d.t, d.m.totals.total_m, d.fare()
            d.run(10, 720, step_ms=step_ms)
            assert "implausible" in (d.m.view()["fault"] or ""), (step_ms, k)
            assert credited_within_limit(d, t0, m0), (step_ms, k, d.m.totals.total_m - m0)
            assert d.fare() - fare <= 30, (step_ms, k)   # at most ~70 m more charged, never 2 km


def test_any_reading_cadence_is_fine_below_the_limit():
    for step_ms in (10, 50, 333, 1000, 3000):
        for k in (100, 1000, 20000):
            d = Drive(meter(k=k), k=k).key("hire").run(30, 200, step_ms=step_ms)
            assert d.m.view()["fault"] is None, (step_ms, k)
            d.run(30, 220, step_ms=step_ms).run(30, 0, step_ms=step_ms)
            assert d.m.view()["fault"] is None, (step_ms, k)


def test_the_limit_and_window_are_meter_parameters():
    sched = Schedule([parse_tariff(tariff_data())])
    m = Taximeter(sched, {"max_kmh": 100, "speed_window_ms": 2000, "speed_window_pulses": 50})
    d = Drive(m)
    m.apply({"t_ms": d.t, "pulses": 0})
    d.key("hire").run(60, 95, step_ms=250)
    assert m.view()["fault"] is None
    d.run(3, 130, step_ms=250)
    assert "implausible" in m.view()["fault"]
    for params, word in (({"speed_window_ms": 999}, "speed_window_ms"), ({"speed_window_pulses": 0}, "speed_window_pulses"),
                         ({"max_kmh": 0}, "max_kmh"), ({"speed_window_ms": "1s"}, "speed_window_ms"),
                         ({"dip_ms": -1}, "dip_ms")):
        exc = raises(MeterError, Taximeter, sched, params)
        assert word in str(exc), (params, str(exc))


def fault_trip():
    """Crawl (waiting), then an implausible jump; return the drive and what was counted before."""
    d = Drive(meter()).run(30, 30).key("hire").run(400, 40).run(60, 6)
    before = {"t": d.t, "view": d.m.view(), "totals": d.m.totals.as_dict(), "fare": d.m.trip.fare.fare_fen()}
    d.t += 1000
    d.m.apply({"t_ms": d.t, "pulses": d.m.odometer.reading + 500000})   # 500 km in a second
    d.num = d.m.odometer.reading * 3600000
    return d, before


def test_from_the_fault_instant_nothing_more_is_counted():
    d, before = fault_trip()
    v = d.m.view()
    assert "implausible" in v["fault"]
    assert v["waiting_ms"] == before["view"]["waiting_ms"]     # the faulting interval is not charged
    assert v["distance_m"] == before["view"]["distance_m"]
    d.run(60, 6).run(120, 40).key("pause").run(30, 10).key("resume").run(30, 5).key("settle").run(20, 20)
    v = d.m.view()
    assert (v["fare_fen"], v["distance_m"], v["waiting_ms"]) == (
        before["view"]["fare_fen"], before["view"]["distance_m"], before["view"]["waiting_ms"])
    assert d.m.totals.as_dict() == before["totals"]
    d.key("clear")
    trip = d.closed[0]
    assert "meter_fault" in trip["flags"]
    assert trip["distance_m"] == before["view"]["distance_m"]
    assert trip["waiting_ms"] == before["view"]["waiting_ms"]
    assert trip["paused_m"] == 0
    assert trip["fare_fen"] == before["fare"]
    # the distance charge is that of the recorded distance: 3000 m free, then 2.30 yuan/km
    assert trip["fare"]["distance_fen"] == (trip["distance_m"] - 3000) * 230 // 1000
    t = d.m.totals
    assert t.hired_m == trip["distance_m"] and t.total_m == t.hired_m + t.empty_m + t.paused_m
    assert t.waiting_ms == trip["waiting_ms"] and t.fares_fen == trip["fare_fen"]


def test_the_record_says_where_the_fault_began_and_what_was_counted_before():
    d, before = fault_trip()
    d.run(60, 40).key("settle").key("clear")
    fault = d.closed[0]["fault"]
    assert fault["from_ms"] == before["t"]
    assert fault["detected_ms"] == before["t"] + 1000
    assert "implausible" in fault["reason"]
    assert fault["distance_m"] == before["view"]["distance_m"]
    assert fault["waiting_ms"] == before["view"]["waiting_ms"]
    assert fault["fare_fen"] == before["fare"]
    assert fault["odometer_m"] == before["totals"]["total_m"]
    # a trip without a fault keeps the record it always had
    d.m.clear_fault(d.t + 1000, "sensor cable replaced")
    d.t += 1000
    d.key("hire").run(60, 30).key("settle").key("clear")
    assert "fault" not in d.closed[1] and d.closed[1]["flags"] == []


def test_a_fault_while_for_hire_counts_no_empty_distance_and_blocks_hiring():
    d = Drive(meter()).run(30, 30)
    d.t += 1000
    d.m.apply({"t_ms": d.t, "pulses": d.m.odometer.reading + 100000})
    d.num = d.m.odometer.reading * 3600000
    total = d.m.totals.total_m
    d.run(60, 50)
    assert d.m.totals.total_m == total
    exc = raises(MeterError, d.key, "hire")
    assert "fault" in str(exc)


def test_clearing_a_fault_is_a_technician_action_between_trips():
    d, before = fault_trip()
    exc = raises(MeterError, d.m.clear_fault, d.t + 1000, "repaired")
    assert "between trips" in str(exc)
    d.run(10, 40).key("settle").key("clear")
    raises(MeterError, d.m.clear_fault, d.t + 1000, "")            # a reason is required
    raises(MeterError, d.m.clear_fault, d.t + 1000, None)
    d.run(30, 50)
    total = d.m.totals.total_m
    d.t += 1000
    entry = d.m.clear_fault(d.t, "pulse sensor replaced, job 42")
    assert entry["reason"] == "pulse sensor replaced, job 42"
    assert entry["cleared_ms"] == d.t
    assert "implausible" in entry["fault"]["reason"] and entry["fault"]["from_ms"] == before["t"]
    assert d.m.view()["fault"] is None
    assert d.m.totals.total_m == total                               # nothing driven while faulted appears
    d.run(36, 100)                                                   # 1000 m at 100 km/h
    assert d.m.totals.total_m == total + 1000
    d.key("hire")
    assert d.m.state == "hired"
    raises(MeterError, d.m.clear_fault, d.t + 1000, "again")         # no fault to clear
    d.key("settle").key("clear")


def test_a_fault_survives_power_cycles_and_restarts():
    d, before = fault_trip()
    d.key("settle").key("clear")
    d.power(False).power(True, after_ms=HOUR)
    assert "implausible" in d.m.view()["fault"]
    m = Taximeter.restore(d.m.snapshot(), d.m.schedule)
    assert m.view()["fault"] == d.m.view()["fault"]
    assert m.fault_record == d.m.fault_record
    raises(MeterError, m.key, d.t + 1000, "hire")


def test_negative_time_is_refused_as_such():
    m = Taximeter(Schedule([parse_tariff(tariff_data())]))
    exc = raises(MeterError, m.apply, {"t_ms": -1, "pulses": 0})
    assert "non-negative" in str(exc)
    m.apply({"t_ms": FRI_10H, "pulses": 0})
