"""The simulated car: where it is, how fast it goes and how far it went, second by second.

In the simulator room. ``Vehicle`` drives a scenario's routes one simulated second at a time
and answers with the GNSS truth; ``TruthFeed`` hands the current truth to the NMEA
generators; ``split_route`` cuts a trip's route in two for standing or pausing half way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sim.gnss_route import Route, TruthSample, Waypoint, drive, offset, urban_route
from sim.scenario import RouteSpec

FIFTH_MS = 200


class TruthFeed:
    """The vehicle's current truth sample, pulled by the NMEA generators one epoch at a time."""

    def __init__(self) -> None:
        self.current: TruthSample | None = None

    def __iter__(self) -> Iterator[TruthSample]:
        while True:
            yield self.current


class Vehicle:
    """Where the car is and how far it went; ``drive(spec)`` starts a route from here."""

    def __init__(self, origin: tuple[float, float]) -> None:
        self.lat, self.lon = origin
        self.speed_mps = 0.0
        self.course = 0.0
        self.odometer_m = 0.0
        self._samples: Iterator[TruthSample] | None = None
        self._last_d = 0.0
        self.frozen = False      # power off: the car stands
        self.fifths = [0.0] * (1000 // FIFTH_MS)   # the odometer at the end of each 0.2 s of the last second
        self.fifths_from = 0.0                      # ... and at its start

    @property
    def driving(self) -> bool:
        return self._samples is not None

    def route(self, spec: RouteSpec, seed_offset: int = 0) -> Route:
        if spec.length_m is not None:
            return urban_route(float(spec.length_m), seed=spec.seed + seed_offset, origin=(self.lat, self.lon),
                               pickup_stops=0)
        points = [Waypoint(self.lat, self.lon, spec.legs[0][2] / 3.6)]
        lat, lon = self.lat, self.lon
        for i, (metres, heading, _kmh, stop) in enumerate(spec.legs):
            lat, lon = offset(lat, lon, metres * math.cos(math.radians(heading)),
                              metres * math.sin(math.radians(heading)))
            nxt = spec.legs[i + 1][2] if i + 1 < len(spec.legs) else spec.legs[-1][2]
            points.append(Waypoint(lat, lon, nxt / 3.6, stop))
        return Route(points, spec.name or "legs")

    def start(self, route: Route) -> None:
        self._samples = drive(route, 1000 / FIFTH_MS)
        next(self._samples)       # the first sample is where the car stands now
        self._last_d = 0.0

    def step(self) -> float:
        """One second; returns the metres driven. Ends the drive at the route's end.

        ``fifths`` holds the odometer at the end of each 0.2 s of the second (the pulse counter
        reads it at that rate, drivers/pulse.py); the route is integrated the same either way."""
        start_m = self.fifths_from = self.odometer_m
        self.fifths = [start_m] * (1000 // FIFTH_MS)
        if self._samples is None or self.frozen:
            self.speed_mps = 0.0
            return 0.0
        sample = None
        for i in range(1000 // FIFTH_MS):
            nxt = next(self._samples, None)
            if nxt is None:
                if sample is not None:
                    self._samples = iter(())     # the route ended inside this second: the drive ends next
                break
            sample = nxt
            self.fifths[i:] = [start_m + sample.distance_m - self._last_d] * (len(self.fifths) - i)
        if sample is None:
            self._samples = None
            self.speed_mps = 0.0
            return 0.0
        dm = sample.distance_m - self._last_d
        self._last_d = sample.distance_m
        self.lat, self.lon, self.speed_mps = sample.lat, sample.lon, sample.speed_mps
        self.course = sample.course_deg
        self.odometer_m += dm
        return dm

    def truth(self, t_ms: int) -> TruthSample:
        return TruthSample(t_ms, self.lat, self.lon, self.speed_mps, self.course, self.odometer_m)


def split_route(spec: RouteSpec) -> tuple[RouteSpec, RouteSpec]:
    """A trip's route in two halves (for standing in traffic or pausing in the middle)."""
    if spec.length_m is not None:
        half = max(100, spec.length_m // 2)
        return (RouteSpec(length_m=half, seed=spec.seed, name=spec.name),
                RouteSpec(length_m=max(100, spec.length_m - half), seed=spec.seed + 1000, name=spec.name))
    legs = list(spec.legs)
    if len(legs) == 1:
        m, h, v, s = legs[0]
        return RouteSpec(legs=((m / 2, h, v, 0.0),), name=spec.name), RouteSpec(legs=((m / 2, h, v, s),),
                                                                                 name=spec.name)
    mid = len(legs) // 2
    return RouteSpec(legs=tuple(legs[:mid]), name=spec.name), RouteSpec(legs=tuple(legs[mid:]), name=spec.name)
