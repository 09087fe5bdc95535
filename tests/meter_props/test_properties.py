"""Properties over thousands of random tariffs and drives (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meter.errors import MeterError, TariffError
from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.agreement import random_tariff, run_case
from tests.meter.support import FRI_10H, Lcg, tariff_data

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seeds)
def test_meter_equals_the_reference_to_the_fen(seed):
    run_case(Lcg(seed))


step = st.tuples(st.integers(1, 600000), st.integers(0, 130), st.sampled_from(["", "", "", "", "pause", "extra"]))


@settings(max_examples=400, deadline=None)
@given(seeds, st.lists(step, min_size=1, max_size=80))
def test_shown_fare_never_decreases_and_moves_in_steps(seed, steps):
    data = random_tariff(Lcg(seed))
    m = Taximeter(Schedule([parse_tariff(data)]), {"k": 2000})
    t = FRI_10H
    pulses = 0
    m.apply({"t_ms": t, "pulses": 0})
    m.apply({"t_ms": t, "key": "hire"})
    start = m.view()["fare_fen"]
    last = start
    for dt, kmh, action in steps:
        t += dt
        pulses += kmh * 2000 * dt // 3600000
        if dt > 1000 and kmh > 200:
            continue
        m.apply({"t_ms": t, "pulses": pulses})
        if action == "pause":
            m.apply({"t_ms": t, "key": "pause" if m.state == "hired" else "resume"})
        elif action == "extra":
            m.apply({"t_ms": t, "key": "extra", "amount_fen": 500, "label": "过路费"})
        v = m.view()
        assert v["fare_fen"] >= last
        assert (v["fare_fen"] - start) % data["step_fen"] == 0
        last = v["fare_fen"]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 23), st.integers(0, 59), st.integers(1, 7200), st.integers(0, 100))
def test_night_boundary_crossed_mid_trip_charges_only_the_night_part(h, mi, seconds, kmh):
    night = {"from": "%02d:%02d" % (h, mi), "to": "%02d:%02d" % ((h + 6) % 24, mi), "surcharge_pct": 50}
    with_night = Taximeter(Schedule([parse_tariff(tariff_data(night=night))]), {"k": 1000})
    without = Taximeter(Schedule([parse_tariff(tariff_data())]), {"k": 1000})
    t = FRI_10H
    for m in (with_night, without):
        m.apply({"t_ms": t, "pulses": 0})
        m.apply({"t_ms": t, "key": "hire"})
        m.apply({"t_ms": t + seconds * 1000, "pulses": kmh * seconds // 3600 * 1000 // 1000})
    a, b = with_night.trip.fare, without.trip.fare
    # the same charges beyond the start fare's cover (a cut may move them between distance
    # and waiting, as the cover is used in order), the same waiting time
    assert a.dist_u + a.wait_u == b.dist_u + b.wait_u and a.waiting_ms == b.waiting_ms
    assert a.night_u <= a.dist_u and a.wait_night_u <= a.wait_u
    assert with_night.view()["fare_fen"] >= without.view()["fare_fen"]


plain = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(list(tariff_data()) + ["night", "peak", "long_distance", "x"]), plain))
def test_tariff_parser_gives_a_tariff_or_a_named_error(changes):
    data = tariff_data()
    data.update(changes)
    try:
        parse_tariff(data)
    except TariffError as exc:
        assert exc.field and exc.rule


@settings(max_examples=500, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["t_ms", "pulses", "key", "power", "gnss_m", "amount_fen",
                                                  "label", "order_id"]), plain, max_size=4), max_size=20))
def test_meter_refuses_malformed_events_cleanly(events):
    m = Taximeter(Schedule([parse_tariff(tariff_data())]))
    for event in events:
        try:
            m.apply(event)
        except MeterError:
            pass  # refused with a reason: what we want
