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
