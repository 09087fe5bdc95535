"""Random tariffs and drives, run through the meter and the reference side by side.

Used by the plain seeded test (also under MicroPython) and by the hypothesis tests.
"""

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.reference import Reference, ReferencePlausibility

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
        if rng.chance(30):
            d["waiting"]["free_s"] = rng.int(1, 600)
        if rng.chance(30):
            d["waiting"]["units"] = "whole"
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


def run_case(rng, dips_and_faults=False):
    """One random tariff and trip; return the number of fare comparisons made.

    With ``dips_and_faults`` the drive also has power dips (short: the trip resumes; long:
    it closes), readings near or far above the speed limit judged by the reference's own
    plausibility window, and the fault state in which nothing more is counted.
    """
    data = random_tariff(rng)
    tariff = parse_tariff(data)
    k = (400, 1000, 4000, 20000)[rng.int(0, 3)]
    dip_ms = 10000
    m = Taximeter(Schedule([tariff]), {"k": k, "dip_ms": dip_ms})
    t = WEEK_START + rng.int(0, 7 * 1440) * 60000 + rng.int(0, 59999)
    pulses = 0
    m.apply({"t_ms": t, "pulses": 0})
    judge = ReferencePlausibility(per_km=k)
    judge.start(t, 0)
    t += rng.int(0, 5000)
    m.apply({"t_ms": t, "key": "hire"})
    ref = Reference(data, t)
    last_t = t
    last_m = 0
    last_p = 0
    paused = False
    faulted = False
    dip_from = None      # the power-off instant, until the first event after a dip
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
        if dips_and_faults:
            x = rng.int(1, 100)
            if x <= 4:
                kmh = rng.int(150, 400)               # near the limit: the window decides
            elif x == 5:
                kmh = 5000                            # a pulse generator
        t += dt
        since = last_t if dip_from is None else dip_from
        if dips_and_faults and rng.chance(6):
            m.apply({"t_ms": t, "power": "off"})
            if not paused and not faulted:
                ref.interval(last_t, t, 0, ref.below > 0 and t > since)
            off = t
            gap = rng.int(0, dip_ms) if rng.chance(80) else rng.int(dip_ms + 1, 3 * dip_ms)
            t += gap
            pulses += kmh * k * gap // 3600000        # the car moves on; the counter counts it
            closed = m.apply({"t_ms": t, "power": "on"})
            if gap > dip_ms:                          # a long loss closes the trip at the power-off
                trip = closed[0]
                assert "power_loss" in trip["flags"] and trip["alight_ms"] == off, data
                assert (trip["fare_fen"], trip["waiting_ms"]) == (ref.fare(), ref.waiting_ms), data
                assert trip["distance_m"] == ref.d, data
                return compared
            last_t, dip_from = t, off
            continue
        if rng.chance(8):
            key = "resume" if paused else "pause"
            m.apply({"t_ms": t, "key": key})
            if not paused and not faulted:
                ref.interval(last_t, t, 0, ref.below > 0 and t > since)
            paused = not paused
            last_t = t
        else:
            pulses += kmh * k * dt // 3600000
            plausible, anchor = judge.judge(t, pulses)
            m.apply({"t_ms": t, "pulses": pulses})
            if faulted:
                pass                                  # nothing is counted any more
            elif not plausible:
                faulted = True
            else:
                judge.remember(t, pulses, anchor)
                metres = pulses * 1000 // k
                dm = metres - last_m
                dp = pulses - last_p
                if not paused:
                    low = dp * 3600000 < ref.below * k * (t - since)
                    ref.interval(last_t, t, dm, low)
                last_m, last_p = metres, pulses
            last_t = t
        dip_from = None
        assert (m.fault is not None) == faulted, (data, t)
        assert m.view()["fare_fen"] == ref.fare(), (data, t)
        compared += 1
    t += 1000
    m.apply({"t_ms": t, "key": "settle"})
    if not paused and not faulted:
        ref.interval(last_t, t, 0, ref.below > 0 and t > (last_t if dip_from is None else dip_from))
    trip = m.apply({"t_ms": t + 1000, "key": "clear"})[0]
    assert trip["fare_fen"] == ref.fare(), data
    assert trip["waiting_ms"] == ref.waiting_ms, data
    if dips_and_faults:
        assert trip["distance_m"] == ref.d, data
        assert ("meter_fault" in trip["flags"]) == faulted, data
        if faulted:
            assert (trip["fault"]["fare_fen"], trip["fault"]["distance_m"]) == (trip["fare_fen"], trip["distance_m"])
    return compared
