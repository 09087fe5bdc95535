"""Odometer: distance exact to the pulse over a vehicle's life."""

from meter.errors import MeterError
from meter.odometer import Odometer
from tests.meter.support import HOUR, Lcg, meter, raises


def test_exact_over_a_million_kilometres_with_uneven_readings():
    rng = Lcg(7)
    for k in (317, 1000, 4999, 65000):
        o = Odometer(k)
        o.advance(0)
        pulses = 0
        total = 0
        target = 10 ** 6 * k   # pulses for 10^6 km
        while pulses < target:
            pulses += rng.int(1, target // 50)
            total += o.advance(pulses)
        assert total == pulses * 1000 // k
        assert o.current_m() == pulses * 1000 // k


def test_totalisers_follow_the_odometer_for_a_vehicle_life():
    m = meter(k=65000)
    t = m.t
    pulses = 0
    for _ in range(7000):              # 7000 hours at 150 km/h = 1.05 million km
        t += HOUR
        pulses += 150 * 65000
        m.apply({"t_ms": t, "pulses": pulses})
    assert m.totals.total_m == pulses * 1000 // 65000 == 1050000000


def test_bad_k_and_source_are_refused():
    raises(MeterError, Odometer, 0)
    raises(MeterError, Odometer, 1000.0)
    raises(MeterError, Odometer, 1000, "wheel")


def test_gnss_source_takes_metres_and_ignores_pulses():
    m = meter(source="gnss")
    t = m.t + 1000
    m.apply({"t_ms": t, "gnss_m": 0})
    m.apply({"t_ms": t + 1000, "key": "hire"})
    m.apply({"t_ms": t + 2000, "pulses": 99999})
    m.apply({"t_ms": t + 60000, "gnss_m": 600})
    assert m.view()["distance_m"] == 600


def test_a_new_k_keeps_the_distance_counted_and_applies_to_later_pulses():
    m = meter(k=1000)
    t = m.t
    m.apply({"t_ms": t + 60000, "pulses": 1500})
    assert m.totals.total_m == 1500
    m.set_k(t + 61000, 2000)
    m.apply({"t_ms": t + 120000, "pulses": 3500})     # 2000 more pulses at K = 2000: 1000 m
    assert m.totals.total_m == 2500
    assert m.odometer.current_m() - m.odometer.metres_at(1500) == 1000
    m.apply({"t_ms": t + 121000, "key": "hire"})
    raises(MeterError, m.set_k, t + 122000, 1000)      # not during a trip
    fresh = meter()
    raises(MeterError, fresh.set_k, fresh.t + 1000, 5)  # not an implausible K
    assert fresh.odometer.k == 1000
