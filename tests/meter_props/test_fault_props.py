"""Plausibility against adversarial reading cadences, and genuine drives that never fault (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.agreement import run_case
from tests.meter.support import FRI_10H, Lcg, tariff_data

SCHEDULE = Schedule([parse_tariff(tariff_data())])

# A reading after dt ms with dp more pulses, or a power gap of dt ms (short or long).
step = st.one_of(
    st.tuples(st.just("read"), st.integers(0, 3000), st.integers(0, 2000)),
    st.tuples(st.just("read"), st.integers(0, 50), st.integers(0, 40)),
    st.tuples(st.just("gap"), st.integers(0, 30000), st.integers(0, 5000)),
)
params = st.fixed_dictionaries({
    "k": st.sampled_from([100, 400, 1000, 4000, 20000]),
    "max_kmh": st.sampled_from([30, 120, 250]),
    "speed_window_ms": st.sampled_from([1000, 2500]),
    "speed_window_pulses": st.sampled_from([1, 20, 300]),
})


@settings(max_examples=600, deadline=None)
@given(params, st.lists(step, min_size=1, max_size=120))
def test_no_cadence_credits_distance_above_the_limit(p, steps):
    """Credited distance <= max_kmh x time since the first reading + one count + the metre rounding."""
    m = Taximeter(SCHEDULE, dict(p, dip_ms=10000))
    t0 = t = FRI_10H
    pulses = 0
    m.apply({"t_ms": t, "pulses": 0})
    m.apply({"t_ms": t, "key": "hire"})
    k = p["k"]
    for kind, dt, dp in steps:
        if kind == "gap":
            m.apply({"t_ms": t, "power": "off"})
            t += dt
            m.apply({"t_ms": t, "power": "on"})
            if m.state == "for_hire" and not m.fault:
                m.apply({"t_ms": t, "key": "hire"})
        t += dt
        pulses += dp
        m.apply({"t_ms": t, "pulses": pulses})
        credited = m.totals.total_m
        assert credited * 3600 * k <= p["max_kmh"] * (t - t0) * k + 3600 * (1000 + k), (credited, t - t0)
        assert m.totals.total_m == m.totals.hired_m + m.totals.empty_m + m.totals.paused_m
        assert len(m.window.points) <= p["speed_window_pulses"] + 20     # memory stays small


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([100, 400, 1000, 20000]), st.integers(0, 999),
       st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 225), st.booleans()), min_size=1, max_size=80))
def test_a_genuine_drive_below_the_limit_never_faults_at_any_cadence(k, offset, steps):
    """True speed at most 90 % of 250 km/h, read at any cadence, with dips: never a fault, nothing lost."""
    m = Taximeter(SCHEDULE, {"k": k, "dip_ms": 10000})
    t = FRI_10H
    true = offset * 3600000 // 1000     # the car is part-way into a pulse at the first reading (x 3.6e6)
    m.apply({"t_ms": t, "pulses": true // 3600000})
    first = true // 3600000
    m.apply({"t_ms": t, "key": "hire"})
    for dt, kmh, dip in steps:
        if dip:
            m.apply({"t_ms": t, "power": "off"})
            t += dt
            true += kmh * k * dt
            m.apply({"t_ms": t, "power": "on"})
            if m.state == "for_hire":
                m.apply({"t_ms": t, "key": "hire"})
        t += dt
        true += kmh * k * dt
        m.apply({"t_ms": t, "pulses": true // 3600000})
        assert m.fault is None, (k, t - FRI_10H)
    assert m.totals.total_m == true // 3600000 * 1000 // k - first * 1000 // k


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_meter_equals_the_reference_through_dips_and_faults(seed):
    run_case(Lcg(seed), dips_and_faults=True)
