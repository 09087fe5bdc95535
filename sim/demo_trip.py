"""The bundled demo trip: a deterministic drive written as meter replay events.

Empty running to the pick-up, a street hail, city driving with red lights and a jam,
a toll, settle and clear. ``python -m sim.demo_trip > sim/data/demo-trip.jsonl``
regenerates the bundled file.
"""

import json
import sys

from meter import civil

K = 1000  # pulses per km of the demo vehicle


def speed_profile():
    """(seconds, km/h) segments of the drive after boarding."""
    return [
        (40, 30), (30, 0), (120, 45), (60, 8), (90, 0), (240, 55), (45, 0),
        (300, 60), (120, 20), (60, 0), (180, 40), (30, 5), (20, 0),
    ]


def events(start_local: str = "2026-11-21 14:00"):
    t = (civil.parse_local(start_local) - 480) * civil.MS_PER_MIN
    pulses_milli = 0  # thousandths of a pulse, so slow speeds still accumulate exactly
    out = [{"t_ms": t, "pulses": 0}]

    def drive(seconds, kmh):
        nonlocal t, pulses_milli
        for _ in range(seconds):
            t += 1000
            pulses_milli += kmh * K * 1000 // 3600
            out.append({"t_ms": t, "pulses": pulses_milli // 1000})

    drive(90, 35)                      # empty, to the passenger
    t += 2000
    out.append({"t_ms": t, "key": "hire"})
    for seconds, kmh in speed_profile():
        drive(seconds, kmh)
    t += 1000
    out.append({"t_ms": t, "key": "settle"})
    t += 8000
    out.append({"t_ms": t, "key": "extra", "amount_fen": 1000, "label": "过桥费"})
    t += 20000
    out.append({"t_ms": t, "key": "clear"})
    return out


if __name__ == "__main__":
    for event in events():
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
