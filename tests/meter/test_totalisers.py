"""Totalisers equal the sums over the trips; shift counters start afresh at sign-in."""

from meter.errors import MeterError
from tests.meter.drive import Drive
from tests.meter.support import Lcg, meter, raises


def test_totalisers_equal_the_sum_of_trips():
    rng = Lcg(11)
    d = Drive(meter(dip_ms=3000))
    for _ in range(25):
        d.run(rng.int(0, 120), rng.int(0, 60))
        d.key("hire").run(rng.int(10, 400), rng.int(0, 80))
        if rng.chance(30):
            d.key("pause").run(rng.int(1, 60), rng.int(0, 20)).key("resume")
        if rng.chance(20):
            d.power(False).power(True, after_ms=rng.int(0, 6000))
            if d.m.state == "for_hire":
                continue
        d.run(rng.int(1, 300), rng.int(0, 50)).key("settle")
        if rng.chance(50):
            d.key("extra", amount_fen=rng.int(1, 3000), label="过路费")
        d.key("clear")
    trips = d.closed
    tot = d.m.totals
    assert tot.hirings == len(trips)
    assert tot.fares_fen == sum(t["fare_fen"] for t in trips)
    assert tot.extras_fen == sum(t["extras_fen"] for t in trips)
    assert tot.waiting_ms == sum(t["waiting_ms"] for t in trips)
    assert tot.hired_m == sum(t["distance_m"] for t in trips)
    assert tot.paused_m == sum(t["paused_m"] for t in trips)
    assert tot.empty_m == sum(t["empty_m"] for t in trips) + d.m.empty_since_trip
    assert tot.total_m == tot.hired_m + tot.empty_m + tot.paused_m
    assert [t["trip_no"] for t in trips] == list(range(1, len(trips) + 1))


def test_shift_counters_start_at_sign_in_and_close_at_sign_out():
    d = Drive(meter())
    d.key("hire").run(300, 40).key("settle").key("clear")
    d.m.start_shift(d.t + 1000, "440100123456")
    d.t += 1000
    d.key("hire").run(300, 40).key("settle").key("clear")
    raises(MeterError, d.m.start_shift, d.t + 1, "x")
    summary = d.m.end_shift(d.t + 1000)
    assert summary["driver"] == "440100123456"
    assert summary["totals"]["hirings"] == 1
    assert summary["totals"]["fares_fen"] == d.closed[1]["fare_fen"]
    assert d.m.totals.hirings == 2
    raises(MeterError, d.m.end_shift, d.t + 2000)
