"""Invariants of the driving record against the vehicle model (simulator room).

Pure functions over what the terminal recorded (``terminal.recorder.store`` rows and
event bodies) and what the simulated vehicle did (its speed every second). Each returns
a list of problems, empty when the record agrees with the vehicle:

- ``missing_seconds``: every simulated second the terminal was running has a speed record;
- ``speed_mismatches``: each recorded second equals the vehicle's speed within the
  sensor's resolution (one pulse per sampling period, plus the vehicle's change of speed
  over the period the sensor lags by);
- ``stop_problems``: every stop of the vehicle has a stop record whose 100 samples at
  0.2 s cover the 20 s before it and end still, at the position of the stop.
"""

from __future__ import annotations

from terminal.recorder import store
from terminal.recorder.core import FINE_MS, MOVING_01, NO_SPEED, STOP_SAMPLES


def recorded_seconds(speed_rows) -> dict[int, int]:
    """{second start ms: speed_01} from ``rec_speed`` rows (minute_ms, data)."""
    out = {}
    for minute_ms, data in speed_rows:
        for i, (speed, _status, _source) in enumerate(store.seconds(data)):
            if speed != NO_SPEED:
                out[minute_ms + i * 1000] = speed
    return out


def missing_seconds(speed_rows, from_ms: int, to_ms: int) -> list[str]:
    """Seconds in [from_ms, to_ms) (whole seconds) without a speed record."""
    have = recorded_seconds(speed_rows)
    start = -(-from_ms // 1000) * 1000
    gaps = [t for t in range(start, to_ms - to_ms % 1000, 1000) if t not in have]
    return [f"no speed record for the second at {t} ({len(gaps)} missing in all)" for t in gaps[:5]]


def resolution_01(k: int, period_ms: int) -> int:
    """One pulse per sampling period, in 0.1 km/h (rounded up)."""
    return -(-36_000_000 // (k * period_ms))


def speed_mismatches(speed_rows, truth_01: dict[int, int], *, k: int, period_ms: int,
                     lag_ms: int = 1000) -> list[str]:
    """Each recorded second against the vehicle's speed (``truth_01``: second start ms -> 0.1 km/h).

    The record of the second at S averages the speeds the sensor reported at its samples in
    [S, S + 1 s), each the speed over a period that ended up to ``lag_ms`` before the sample
    (``truth_01`` gives the speed of each whole second); so it must lie within the vehicle's
    speeds of the seconds from S - 1 s - lag_ms to S + 1 s, widened by one pulse per second.
    """
    tolerance = resolution_01(k, 1000) + 1
    problems = []
    for t, speed in sorted(recorded_seconds(speed_rows).items()):
        first = t - 1000 * (1 + -(-lag_ms // 1000))
        window = [truth_01[s] for s in range(first, t + 1001, 1000) if s in truth_01]
        if not window:
            continue
        low, high = min(window) - tolerance, max(window) + tolerance
        if not low <= speed <= high:
            problems.append(f"second {t}: recorded {speed / 10:.1f} km/h, the vehicle drove "
                            f"{min(window) / 10:.1f}..{max(window) / 10:.1f} km/h")
    return problems


def vehicle_stops(truth_01: dict[int, int], *, arm_01: int = 50) -> list[int]:
    """When the vehicle came to a stop (speed below 1 km/h after a second at 5 km/h or more)."""
    stops, armed = [], False
    for t in sorted(truth_01):
        v = truth_01[t]
        if v >= arm_01:
            armed = True
        elif v < MOVING_01 and armed:
            stops.append(t)
            armed = False
    return stops


def stop_problems(stop_bodies: list[dict], vehicle_stop_ms: list[int], *, lag_ms: int = 1000,
                  position_of=None) -> list[str]:
    """Every vehicle stop has its record covering the 20 s before it; ``position_of(t)`` checks the place."""
    problems = []
    for stop in vehicle_stop_ms:
        # the record's stop is the first still sample: after the vehicle's stop by at most
        # the sensor's lag and one 0.2 s sample, and never before the vehicle slowed below 1 km/h
        found = [b for b in stop_bodies if stop - 1000 <= b["t_ms"] <= stop + lag_ms + FINE_MS + 1000]
        if not found:
            problems.append(f"no stop record for the vehicle's stop at {stop}")
            continue
        body = found[0]
        samples = body["samples"]
        if len(samples) != STOP_SAMPLES or body["interval_ms"] != FINE_MS:
            problems.append(f"stop at {stop}: {len(samples)} samples at {body['interval_ms']} ms, "
                            f"not {STOP_SAMPLES} at {FINE_MS}")
        # 20 s ending at the recorded stop, which is late by the sensor's lag at most
        latest_first = stop - (STOP_SAMPLES - 1) * FINE_MS + lag_ms + FINE_MS
        if body["t_ms"] - body["first_ms"] != (STOP_SAMPLES - 1) * FINE_MS or body["first_ms"] > latest_first:
            problems.append(f"stop at {stop}: samples from {body['first_ms']} to {body['t_ms']} do not cover "
                            f"the 20 s before it")
        if samples and samples[-1][0] not in (NO_SPEED,) and samples[-1][0] >= MOVING_01:
            problems.append(f"stop at {stop}: the last sample shows {samples[-1][0] / 10:.1f} km/h")
        if position_of is not None and not position_of(stop, body.get("position")):
            problems.append(f"stop at {stop}: position {body.get('position')} is not where the vehicle stood")
    return problems


