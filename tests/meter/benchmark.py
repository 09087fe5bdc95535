"""Throughput of the meter core, shared by the CPython and MicroPython benchmarks.

A shift of 1 Hz pulse readings with hirings, pauses, settles and extras: the event
mix a taxi produces. Events are built first; only ``Taximeter.apply`` is timed.
"""

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.support import FRI_10H, Lcg, tariff_data


def shift_events(n_events, seed=5):
    rng = Lcg(seed)
    events = [{"t_ms": FRI_10H, "pulses": 0}]
    t = FRI_10H
    pulses = 0
    state = "for_hire"
    while len(events) < n_events:
        t += 1000
        pulses += rng.int(0, 20)
        events.append({"t_ms": t, "pulses": pulses})
        r = rng.int(1, 400)
        if r == 1:
            if state == "for_hire":
                events.append({"t_ms": t, "key": "hire"})
                state = "hired"
            elif state == "hired":
                events.append({"t_ms": t, "key": "settle"})
                events.append({"t_ms": t, "key": "extra", "amount_fen": 1000, "label": "toll"})
                events.append({"t_ms": t, "key": "clear"})
                state = "for_hire"
        elif r == 2 and state == "hired":
            events.append({"t_ms": t, "key": "pause"})
            events.append({"t_ms": t + 500, "key": "resume"})
            t += 500
    return events


def events_per_s(ticks_ms, ticks_diff, n_events=20000):
    data = tariff_data(night={"from": "23:00", "to": "05:00", "surcharge_pct": 20},
                       peak={"windows": ["07:00-09:00", "17:00-19:00"], "waiting_surcharge_pct": 50},
                       long_distance={"from_m": 15000, "surcharge_pct": 50})
    m = Taximeter(Schedule([parse_tariff(data)]), {"k": 4000})
    events = shift_events(n_events)
    start = ticks_ms()
    for event in events:
        m.apply(event)
    elapsed = ticks_diff(ticks_ms(), start)
    return len(events) * 1000 // (elapsed if elapsed > 0 else 1)
