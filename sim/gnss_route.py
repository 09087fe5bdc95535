"""Vehicle route model for the GNSS emulator: where the car truly is, second by second.

A ``Route`` is a list of waypoints (latitude, longitude), a cruise speed for the leg that
starts at each one and a stop (seconds standing) at each. ``drive(route, rate_hz)``
moves a car along it with limited acceleration and braking, and yields ``TruthSample``s
at the output rate: the true position, speed, course and the true distance driven, which
the accuracy tests and benchmarks compare the GNSS odometer against.

``urban_route()`` builds a deterministic city route (blocks, turns, traffic lights, a
pick-up stop); ``Route.from_json()`` reads a route file (format in docs/gnss.md).
"""

import json
import math
import random
from collections.abc import Iterator

from gps.distance import geodesic_m

_A = 6378137.0
_E2 = 6.69437999014e-3  # WGS-84 first eccentricity squared


class Waypoint:
    __slots__ = ("lat", "lon", "speed_mps", "stop_s")

    def __init__(self, lat: float, lon: float, speed_mps: float = 12.0, stop_s: float = 0.0) -> None:
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"waypoint ({lat}, {lon}) is not a position")
        if not 0.0 < speed_mps <= 60.0 or stop_s < 0.0:
            raise ValueError(f"waypoint speed {speed_mps} m/s or stop {stop_s} s out of range")
        self.lat, self.lon, self.speed_mps, self.stop_s = lat, lon, speed_mps, stop_s


class Route:
    def __init__(self, waypoints: list[Waypoint], name: str = "route") -> None:
        if len(waypoints) < 2:
            raise ValueError("a route needs at least two waypoints")
        self.waypoints = waypoints
        self.name = name
        self.leg_m = [geodesic_m(a.lat, a.lon, b.lat, b.lon) for a, b in zip(waypoints, waypoints[1:], strict=False)]
        self.length_m = sum(self.leg_m)

    @classmethod
    def from_json(cls, text: str) -> "Route":
        """``{"name": str, "waypoints": [{"lat", "lon", "speed_kmh", "stop_s"}, ...]}``."""
        try:
            doc = json.loads(text)
            points = [Waypoint(float(w["lat"]), float(w["lon"]), float(w.get("speed_kmh", 40)) / 3.6,
                               float(w.get("stop_s", 0))) for w in doc["waypoints"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"bad route file: {exc}") from None
        return cls(points, str(doc.get("name", "route")))

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "waypoints": [
            {"lat": round(w.lat, 8), "lon": round(w.lon, 8), "speed_kmh": round(w.speed_mps * 3.6, 1),
             "stop_s": w.stop_s} for w in self.waypoints]}, indent=1)


class TruthSample:
    __slots__ = ("t_ms", "lat", "lon", "speed_mps", "course_deg", "distance_m")

    def __init__(self, t_ms, lat, lon, speed_mps, course_deg, distance_m) -> None:
        self.t_ms, self.lat, self.lon = t_ms, lat, lon
        self.speed_mps, self.course_deg, self.distance_m = speed_mps, course_deg, distance_m


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A position ``north_m``/``east_m`` away on the ellipsoid (local radii; metre-exact nearby)."""
    phi = math.radians(lat)
    s2 = math.sin(phi) ** 2
    meridian = _A * (1 - _E2) / (1 - _E2 * s2) ** 1.5
    normal = _A / math.sqrt(1 - _E2 * s2)
    return lat + math.degrees(north_m / meridian), lon + math.degrees(east_m / (normal * math.cos(phi)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def drive(route: Route, rate_hz: float = 1.0, *, accel_mps2: float = 1.5, brake_mps2: float = 2.0,
          start_still_s: float = 0.0) -> Iterator[TruthSample]:
    """The car's true state at ``rate_hz`` from start to the last waypoint (plus its stop)."""
    if not 0.2 <= rate_hz <= 20.0:
        raise ValueError(f"rate {rate_hz} Hz out of 0.2..20")
    points, legs = route.waypoints, route.leg_m
    starts = [0.0]
    for length in legs:
        starts.append(starts[-1] + length)
    out_ms = round(1000 / rate_hz)
    sub_ms = 50 if out_ms % 50 == 0 else out_ms  # integration step
    t_ms, s, v, leg = 0, 0.0, 0.0, 0
    dwell_ms = round(start_still_s * 1000)
    next_stop = 1
    while next_stop < len(points) and points[next_stop].stop_s <= 0 and next_stop < len(points) - 1:
        next_stop += 1

    # each leg's bearing once (the same number a sample would work out every time)
    bearings = [bearing_deg(points[i].lat, points[i].lon, points[i + 1].lat, points[i + 1].lon)
                for i in range(len(legs))]

    def sample() -> TruthSample:
        i = min(leg, len(legs) - 1)
        a, b = points[i], points[i + 1]
        frac = 0.0 if legs[i] == 0 else min(1.0, max(0.0, (s - starts[i]) / legs[i]))
        return TruthSample(t_ms, a.lat + (b.lat - a.lat) * frac, a.lon + (b.lon - a.lon) * frac, v,
                           bearings[i], s)

    yield sample()
    end = starts[-1]
    final_dwell_left = round(points[-1].stop_s * 1000)
    while True:
        for _ in range(out_ms // sub_ms):
            dt = sub_ms / 1000.0
            if dwell_ms > 0:
                dwell_ms -= sub_ms
                v = 0.0
            elif s < end:
                stop_at = starts[next_stop]
                target = min(points[leg].speed_mps, math.sqrt(max(0.0, 2 * brake_mps2 * (stop_at - s))))
                v = min(v + accel_mps2 * dt, target) if v < target else max(target, v - 2 * brake_mps2 * dt)
                if stop_at - s < 0.3 and v < 0.6:
                    v = 0.0
                    s = stop_at
                else:
                    s = min(stop_at, s + v * dt)
                while leg < len(legs) - 1 and s >= starts[leg + 1]:
                    leg += 1
                if s >= stop_at:
                    v = 0.0
                    if next_stop < len(points) - 1:
                        dwell_ms = round(points[next_stop].stop_s * 1000)
                        next_stop += 1
                        while points[next_stop].stop_s <= 0 and next_stop < len(points) - 1:
                            next_stop += 1
            else:
                v = 0.0
                final_dwell_left -= sub_ms
            t_ms += sub_ms
        yield sample()
        if s >= end and final_dwell_left <= 0:
            return


def urban_route(length_m: float = 10_000.0, *, seed: int = 1, origin: tuple[float, float] = (30.2741, 120.1551),
                light_every: int = 3, pickup_stops: int = 2) -> Route:
    """A city drive of about ``length_m``: blocks of 120–400 m, right-angle turns, 30–50 km/h,
    a red light (15–60 s) at every ``light_every``-th corner, ``pickup_stops`` stops of 90 s."""
    rng = random.Random(seed)
    lat, lon = origin
    heading = 0
    points = [Waypoint(lat, lon, rng.uniform(30, 50) / 3.6)]
    total = 0.0
    corner = 0
    pickups = {rng.randrange(3, 12) for _ in range(pickup_stops)}
    while total < length_m:
        block = min(rng.uniform(120, 400), length_m - total)
        north = block * math.cos(math.radians(heading))
        east = block * math.sin(math.radians(heading))
        lat, lon = offset(lat, lon, north, east)
        corner += 1
        stop = 0.0
        if corner % light_every == 0:
            stop = rng.uniform(15, 60)
        if corner in pickups:
            stop = 90.0
        points.append(Waypoint(lat, lon, rng.uniform(30, 50) / 3.6, stop))
        total += block
        heading = (heading + rng.choice((90, -90, 0))) % 360
    points[-1].stop_s = 5.0
    return Route(points, f"urban-{int(length_m)}m-seed{seed}")


def parked(seconds: float, *, origin: tuple[float, float] = (30.2741, 120.1551)) -> Route:
    """A car standing still for ``seconds`` (a zero-length route with one long stop)."""
    lat, lon = origin
    return Route([Waypoint(lat, lon, 1.0, 0.0), Waypoint(lat, lon, 1.0, seconds)], f"parked-{seconds:g}s")
