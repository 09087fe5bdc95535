"""Random tariffs and drives, run through the meter and the reference side by side.

Used by the plain seeded test (also under MicroPython) and by the hypothesis tests.
"""

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.reference import Reference

WEEK_START = 1795104000000  # 2026-11-20 00:00 China time


def _hhmm(minute):
    return "%02d:%02d" % (minute // 60, minute % 60)


def random_tariff(rng):
    mode = ("S", "D", "CN")[rng.int(0, 2)]
    d = {
        "id": "R%d" % rng.int(0, 9999),
        "effective_from": "2026-01-01 00:00",
        "mode": mode,
        "start_fare_fen": rng.int(0, 2000),
        "start_distance_m": rng.int(0, 5000),
        "per_km_fen": rng.int(100, 500),
        "step_fen": (1, 10, 50, 100)[rng.int(0, 3)],
        "rounding": ("down", "half_up", "up")[rng.int(0, 2)],
    }
    if mode != "CN" or rng.chance(80):
        d["waiting"] = {"below_kmh": rng.int(5, 20), "fen_per_unit": rng.int(0, 200), "unit_s": rng.int(10, 300)}
    if rng.chance(50):
        d["long_distance"] = {"from_m": d["start_distance_m"] + rng.int(0, 20000), "surcharge_pct": rng.int(0, 100)}
    if rng.chance(60):
        a = rng.int(0, 1439)
        b = (a + rng.int(1, 1438)) % 1440
        d["night"] = {"from": _hhmm(a), "to": _hhmm(b), "start_fare_fen": rng.int(0, 2500),
                      "surcharge_pct": rng.int(0, 50), "waiting_surcharge_pct": rng.int(0, 50)}
    if rng.chance(60):
        a = rng.int(0, 1300)
        b = a + rng.int(1, 120)
        windows = [_hhmm(a) + "-" + _hhmm(b)]
        if rng.chance(50) and b < 1400:
            c = rng.int(b, 1400)
            windows.append(_hhmm(c) + "-" + _hhmm(c + rng.int(1, 1440 - c)))
        days = [day for day in range(1, 8) if rng.chance(70)] or [3]
        d["peak"] = {"windows": windows, "days": days, "surcharge_pct": rng.int(0, 50),
                     "waiting_surcharge_pct": rng.int(0, 80)}
    return d


def run_case(rng, checks_per_case=None):
    """One random tariff and trip; return the number of fare comparisons made."""
    data = random_tariff(rng)
    tariff = parse_tariff(data)
    k = (400, 1000, 4000, 20000)[rng.int(0, 3)]
    m = Taximeter(Schedule([tariff]), {"k": k})
    t = WEEK_START + rng.int(0, 7 * 1440) * 60000 + rng.int(0, 59999)
    pulses = 0
    m.apply({"t_ms": t, "pulses": 0})
    t += rng.int(0, 5000)
    m.apply({"t_ms": t, "key": "hire"})
    ref = Reference(data, t)
    last_t = t
    last_m = 0
    last_p = 0
    paused = False
    compared = 0
    for _ in range(rng.int(1, 120)):
        # Readings come only with pulse events: a key event carries no distance, so
        # the vehicle is taken to stand still between a key and the next reading.
        r = rng.int(1, 100)
        if r <= 5:
            dt = rng.int(600000, 3 * 3600000)       # a long stop: crosses windows
            kmh = 0
        else:
            dt = rng.int(1, 8000)
            kmh = rng.int(0, 120)
        t += dt
        if rng.chance(8):
            key = "resume" if paused else "pause"
            m.apply({"t_ms": t, "key": key})
            if not paused:
                ref.interval(last_t, t, 0, False if ref.below == 0 else t > last_t)
            paused = not paused
            last_t = t
        else:
            pulses += kmh * k * dt // 3600000
            m.apply({"t_ms": t, "pulses": pulses})
            metres = pulses * 1000 // k
            dm = metres - last_m
            dp = pulses - last_p
            if not paused:
                low = dp * 3600000 < ref.below * k * (t - last_t)
                ref.interval(last_t, t, dm, low)
            last_t, last_m, last_p = t, metres, pulses
        assert m.view()["fare_fen"] == ref.fare(), (data, t)
        compared += 1
    t += 1000
    m.apply({"t_ms": t, "key": "settle"})
    if not paused:
        ref.interval(last_t, t, 0, ref.below > 0)
    trip = m.apply({"t_ms": t + 1000, "key": "clear"})[0]
    assert trip["fare_fen"] == ref.fare(), data
    assert trip["waiting_ms"] == ref.waiting_ms, data
    return compared
