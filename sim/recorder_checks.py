"""Invariants of the driving record against the vehicle model (simulator room).

Functions over what the terminal recorded (``terminal.recorder.store`` rows and event
bodies) and what the simulated vehicle did (its mean speed in every second the car was
powered). Each check returns a list of problems, empty when the record agrees with the
vehicle; ``gather(runner)`` and ``check(data)`` put them into the shift's invariants
(sim/summary.py):

- ``missing_seconds``: every simulated second the terminal was running has a speed record;
- ``speed_mismatches``: each recorded second equals the vehicle's speed within the
  sensor's resolution (one pulse per sampling period, plus the vehicle's change of speed
  over the period the sensor lags by); a second the car's supply went off in is not judged
  (no pulses are read then; see ``speed_mismatches``);
- ``stop_problems``: every stop of the vehicle has a stop record whose 100 samples at
  0.2 s cover the 20 s before it and end still, at the position of the stop;
- ``fine_sample_problems``: those 100 samples are distinct 0.2 s measurements (no reading
  used twice, none older than one reading period) and each equals the vehicle's speed over
  the 0.2 s it measured, within the sensor's resolution.
"""

from __future__ import annotations

from terminal.recorder import store
from terminal.recorder.core import FINE_MS, MOVING_01, NO_SPEED, STILL_MS, STOP_SAMPLES
from terminal.recorder.ring import EVENT_CAPACITY

# A stop record may come before the vehicle's stop as the whole seconds show it: the vehicle
# stands from some moment inside its first still second, and 0.2 s samples cannot tell a car
# under one pulse per 0.2 s (18 km/h at K = 1000; the last ~1.3 s of braking at 4 m/s^2)
# from a standing one.
EARLY_MS = 2000


def recorded_seconds(speed_rows) -> dict[int, int]:
    """{second start ms: speed_01} from ``rec_speed`` rows (minute_ms, data)."""
    out = {}
    for minute_ms, data in speed_rows:
        for i, (speed, _status, _source) in enumerate(store.seconds(data)):
            if speed != NO_SPEED:
                out[minute_ms + i * 1000] = speed
    return out


def missing_seconds(recorded: dict[int, int], expected) -> list[str]:
    """Seconds (start ms) in ``expected`` without a speed record in ``recorded`` (see recorded_seconds)."""
    gaps = [t for t in expected if t not in recorded]
    return [f"no speed record for the second at {t} ({len(gaps)} missing in all)" for t in gaps[:5]]


def resolution_01(k: int, period_ms: int) -> int:
    """One pulse per sampling period, in 0.1 km/h (rounded up)."""
    return -(-36_000_000 // (k * period_ms))


def speed_mismatches(recorded: dict[int, int], truth_01: dict[int, int], *, tolerance_01: int,
                     lag_ms: int = 1000) -> list[str]:
    """Each recorded second against the vehicle's speed (``truth_01``: second start ms -> 0.1 km/h).

    The record of the second at S averages the speeds the sensor reported at its samples in
    [S, S + 1 s), each the speed over a period that ended up to ``lag_ms`` before the sample
    (``truth_01`` gives the speed of each whole second); so it must lie within the vehicle's
    speeds of the seconds from S - 1 s - lag_ms to S + 1 s, widened by ``tolerance_01`` (the
    sensor's resolution: one pulse, or one whole metre where the simulator counts metres).
    A second the car's supply went off in (``t`` not in ``truth_01``: the runner reads no pulses
    while the supply is off, and the recorder drops what it measured before the cut,
    terminal/recorder/core.py ``SpeedSource.cut``) is not judged: it is measured by fewer than
    five readings, or none, and the vehicle model has no speed for it. This holds for every meter
    kind and is counted out of the checked number (``judged_seconds``).
    """
    tolerance = tolerance_01
    problems = []
    for t, speed in sorted(recorded.items()):
        if t not in truth_01:
            continue
        first = t - 1000 * (1 + -(-lag_ms // 1000))
        window = [truth_01[s] for s in range(first, t + 1001, 1000) if s in truth_01]
        if not window:
            continue
        low, high = min(window) - tolerance, max(window) + tolerance
        if not low <= speed <= high:
            problems.append(f"second {t}: recorded {speed / 10:.1f} km/h, the vehicle drove "
                            f"{min(window) / 10:.1f}..{max(window) / 10:.1f} km/h")
    return problems


def judged_seconds(recorded: dict[int, int], truth_01: dict[int, int]) -> int:
    """How many recorded seconds ``speed_mismatches`` judges (those the car was powered to the end of)."""
    return sum(1 for t in recorded if t in truth_01)


def vehicle_stops(truth_01: dict[int, int], *, arm_01: int = 50, still_ms: int = STILL_MS) -> list[int]:
    """When the vehicle came to a stop: after a second at 5 km/h or more, below 1 km/h for ``still_ms``.

    The same rule as the recorder's (terminal/recorder/core.py), applied to the vehicle's
    own speeds: a car that stands for a moment only (less than ``still_ms``) has not stopped.
    """
    stops, armed = [], False
    for t in sorted(truth_01):
        v = truth_01[t]
        if t - 1000 not in truth_01:
            armed = False          # the car was off: what happened in between is not known
        if v >= arm_01:
            armed = True
        elif v < MOVING_01 and armed and all(truth_01.get(t + d, NO_SPEED) < MOVING_01
                                               for d in range(0, still_ms, 1000)):
            stops.append(t)
            armed = False
    return stops


def stop_problems(stop_bodies: list[dict], vehicle_stop_ms: list[int], *, lag_ms: int = 1000,
                  position_of=None) -> list[str]:
    """Every vehicle stop has its record covering the 20 s before it; ``position_of(t)`` checks the place."""
    problems = []
    # The record's stop is the first still sample. It follows the vehicle's stop by the
    # sensor's lag, one 0.2 s sample, and one second more where the last pulse of a creeping
    # car falls after the stop (the sensor's resolution); the 20 s it keeps end there.
    slack = lag_ms + FINE_MS + 1000
    for stop in vehicle_stop_ms:
        found = [b for b in stop_bodies if stop - EARLY_MS <= b["t_ms"] <= stop + slack]
        if not found:
            problems.append(f"no stop record for the vehicle's stop at {stop}")
            continue
        body = found[0]
        samples = body["samples"]
        if len(samples) != STOP_SAMPLES or body["interval_ms"] != FINE_MS:
            problems.append(f"stop at {stop}: {len(samples)} samples at {body['interval_ms']} ms, "
                            f"not {STOP_SAMPLES} at {FINE_MS}")
        latest_first = stop - (STOP_SAMPLES - 1) * FINE_MS + slack
        if body["t_ms"] - body["first_ms"] != (STOP_SAMPLES - 1) * FINE_MS or body["first_ms"] > latest_first:
            problems.append(f"stop at {stop}: samples from {body['first_ms']} to {body['t_ms']} do not cover "
                            f"the 20 s before it")
        if samples and samples[-1][0] not in (NO_SPEED,) and samples[-1][0] >= MOVING_01:
            problems.append(f"stop at {stop}: the last sample shows {samples[-1][0] / 10:.1f} km/h")
        if position_of is not None and not position_of(stop, body.get("position")):
            problems.append(f"stop at {stop}: position {body.get('position')} is not where the vehicle stood")
    return problems


def stop_bodies_for(stop_bodies: list[dict], vehicle_stop_ms: list[int], *, lag_ms: int = 1000) -> list[dict]:
    """The stop record of each vehicle stop (as ``stop_problems`` finds it), where there is one."""
    slack = lag_ms + FINE_MS + 1000
    out = []
    for stop in vehicle_stop_ms:
        found = [b for b in stop_bodies if stop - EARLY_MS <= b["t_ms"] <= stop + slack]
        if found:
            out.append(found[0])
    return out


def fine_sample_problems(stop_bodies: list[dict], fine_truth_01: dict[int, int], *, tolerance_01: int) -> list[str]:
    """Each stop record's samples are distinct 0.2 s measurements equal to the vehicle's speed.

    ``fine_truth_01``: the end of each 0.2 s the vehicle drove -> its speed over it (0.1 km/h).
    A sample at t with age a measured the 0.2 s ending at t - a: no two samples may share a
    measurement, none may be older than one 0.2 s reading (a 1 s reading repeated five times
    is not 0.2 s data), and each must lie within ``tolerance_01`` of the vehicle's speed then.
    """
    problems = []
    for body in stop_bodies:
        ages = body.get("age_ms")
        where = f"stop record at {body['t_ms']}"
        if ages is None or len(ages) != len(body["samples"]):
            problems.append(f"{where}: no measurement time for its samples")
            continue
        measured = [None if a is None else body["first_ms"] + i * body["interval_ms"] - a for i, a in enumerate(ages)]
        known = [m for m in measured if m is not None]
        if len(set(known)) != len(known):
            problems.append(f"{where}: {len(known) - len(set(known))} samples repeat a reading: not 0.2 s data")
        stale = [a for a in ages if a is not None and a >= FINE_MS]
        if stale:
            problems.append(f"{where}: {len(stale)} samples come from readings {max(stale)} ms old")
        wrong = []
        for (speed, _status), at in zip(body["samples"], measured, strict=False):
            if at is None or at not in fine_truth_01 or speed == NO_SPEED:
                continue
            if abs(speed - fine_truth_01[at]) > tolerance_01:
                wrong.append(f"{at}: {speed / 10:.1f} km/h, the vehicle {fine_truth_01[at] / 10:.1f}")
        if wrong:
            problems.append(f"{where}: {len(wrong)} samples differ from the vehicle, e.g. {wrong[0]}")
    return problems


# -- in the shift simulator ------------------------------------------------------------------------------

NAMES = ("record_every_second", "record_speeds_equal_vehicle", "record_stops_cover_20s", "record_stop_samples_fine")


def stops_still_held(vehicle_stop_ms: list[int], stop_bodies: list[dict], capacity: int) -> list[int]:
    """The vehicle's stops the recorder must still hold: all of them while its ring of stops is
    not full, else those from its oldest record on (older ones were rightly overwritten)."""
    if len(stop_bodies) < capacity or not stop_bodies:
        return list(vehicle_stop_ms)
    oldest = min(b["t_ms"] for b in stop_bodies)
    return [t for t in vehicle_stop_ms if t >= oldest - 1000]


def gather(runner) -> dict:
    """What the terminal recorded and what the vehicle did, as plain data for the summary."""
    car = runner.car
    car.terminal.recorder.flush(runner.now)
    start = runner.scenario.start_ms
    rows = store.speed_minutes(car.storage, start, runner.now)
    return {"seconds": sorted(recorded_seconds(rows).items()),
            "stops": store.events(car.storage, "stop", start, runner.now),
            "events": {kind: store.events(car.storage, kind, start, runner.now)
                       for kind in ("overtime", "overspeed", "driver", "power")},
            "truth": sorted(getattr(runner, "recorder_truth", {}).items()),
            "fine_truth": sorted(getattr(runner, "recorder_fine_truth", {}).items()),
            "period_ms": car.counter.period_ms, "k": runner.scenario.vehicle.k}


def check(data: dict | None) -> list[tuple[str, list[str], int]]:
    """(invariant, problems, how many checked) for the record against the vehicle."""
    if not data:
        return [(name, [], 0) for name in NAMES]
    recorded = {t: v for t, v in data["seconds"]}
    truth = {t: v for t, v in data["truth"]}
    lag = max(1000, data["period_ms"])
    k = data.get("k", 1000)
    # the sensor reports a second's pulses at its end: the record of S + 1 s shows the truth of S;
    # the first second after power-up has no measurement yet, the last is still open
    expected = [t + lag for t in sorted(truth) if t - 1000 in truth and t + lag + 1000 in truth]
    stops = stops_still_held(vehicle_stops(truth), data["stops"], EVENT_CAPACITY["stop"])
    return [
        ("record_every_second", missing_seconds(recorded, expected), len(expected)),
        # The simulator hands over whole metres each second (1 m/s = 36 x 0.1 km/h) as a pulse
        # train the counter may read in the middle of (one pulse either way): that is its resolution.
        ("record_speeds_equal_vehicle", speed_mismatches(recorded, truth, lag_ms=lag,
                                                         tolerance_01=36 + resolution_01(data.get("k", 1000), 1000) + 1),
         judged_seconds(recorded, truth)),
        ("record_stops_cover_20s", stop_problems(data["stops"], stops, lag_ms=lag), len(stops)),
        # whole metres each 0.2 s (18 km/h) are the simulator's resolution; a pulse more where K is not 1 a metre
        ("record_stop_samples_fine",
         fine_sample_problems(stop_bodies_for(data["stops"], stops, lag_ms=lag), dict(data.get("fine_truth", ())),
                              tolerance_01=180 + (resolution_01(k, FINE_MS) if k != 1000 else 0) + 1),
         len(stops)),
    ]
