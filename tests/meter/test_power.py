"""Power: a short dip resumes the trip with nothing lost; a long loss ends and records it."""

from meter.errors import MeterError
from tests.meter.drive import Drive
from tests.meter.support import meter, raises


def test_short_dip_resumes_the_trip_with_nothing_lost():
    d = Drive(meter(dip_ms=5000)).key("hire").run(300, 40)
    view = d.m.view()
    d.power(False).power(True, after_ms=4000)
    assert d.m.state == "hired"
    assert d.m.view()["fare_fen"] == view["fare_fen"]
    assert d.m.view()["waiting_ms"] == view["waiting_ms"]   # the dip itself is not charged
    d.run(300, 40).key("settle").key("clear")
    assert d.closed[0]["flags"] == []
    assert d.closed[0]["distance_m"] == 2 * 300 * 40000 // 3600


def test_long_loss_ends_the_trip_records_it_and_returns_to_for_hire():
    d = Drive(meter(dip_ms=5000)).key("hire").run(300, 40)
    fare = d.fare()
    off_at = d.t
    d.power(False).power(True, after_ms=60000)
    assert d.m.state == "for_hire"
    trip = d.closed[0]
    assert trip["flags"] == ["power_loss"]
    assert trip["fare_fen"] == fare
    assert trip["alight_ms"] == off_at
    assert d.m.totals.power_losses == 1


def test_events_while_off_are_refused():
    d = Drive(meter()).key("hire").power(False)
    raises(MeterError, d.key, "settle", 1000)
    raises(MeterError, d.m.apply, {"t_ms": d.t + 2000, "pulses": 10})
    raises(MeterError, d.power, False, 1000)


def test_loss_while_for_hire_changes_nothing_but_time():
    d = Drive(meter()).run(30, 30).power(False).power(True, after_ms=3600000)
    assert d.m.state == "for_hire"
    assert d.closed == []


def dip_drive(gap_ms, kmh=120, dip_ms=10000):
    """Drive at kmh at 1 Hz, lose power for gap_ms while still moving, read again 1 s after it returns."""
    d = Drive(meter(dip_ms=dip_ms)).key("hire").run(300, kmh)
    d.power(False).power(True, after_ms=gap_ms)
    d.num += kmh * d.k * gap_ms           # the car kept moving; the counter counted it
    d.run(1, kmh)
    return d


def test_a_short_dip_while_moving_is_judged_over_the_dip_and_loses_nothing():
    d = dip_drive(5000)
    assert d.m.view()["fault"] is None
    assert d.m.view()["speed_kmh"] <= 130           # ~120 km/h over the dip, not 720 in one second
    d.run(300, 120).key("settle").key("clear")
    trip = d.closed[0]
    assert trip["flags"] == []
    # every metre driven is credited, the dip's 5 s included (MID: resume with nothing lost)
    assert trip["distance_m"] == (300 + 5 + 1 + 300) * 120000 // 3600
    straight = Drive(meter()).key("hire").run(606, 120).key("settle").key("clear")
    assert trip["fare_fen"] == straight.closed[0]["fare_fen"]
    assert d.m.totals.hired_m == trip["distance_m"]


def test_a_crawl_across_a_dip_is_waiting_after_power_returns():
    d = Drive(meter()).key("hire").run(120, 8)          # crawling below 12 km/h: waiting
    waiting = d.m.view()["waiting_ms"]
    d.power(False).power(True, after_ms=5000)
    d.num += 8 * d.k * 5000
    d.run(1, 8)                                          # ~13 m shown 1 s after power returns
    assert d.m.view()["waiting_ms"] == waiting + 1000    # the dip is not charged, the second after it is


def test_distance_during_a_long_loss_does_not_fault_the_meter():
    d = dip_drive(60000, kmh=60)
    assert d.m.view()["fault"] is None
    trip = d.closed[0]
    assert trip["flags"] == ["power_loss"]
    assert trip["distance_m"] == 300 * 60000 // 3600
    d.key("hire")
    assert d.m.state == "hired"
