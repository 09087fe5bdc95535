"""GNSS distance (JJF 1578 style): an odometer from fixes, and the pulse-vs-GNSS cross-check.

Method (docs/gnss.md has the reasoning and the measured errors):
- Between consecutive fixes (at most ``step_max_ms`` apart) the distance is the receiver's
  Doppler speed integrated over time (trapezoid). Summing distances between noisy
  positions would add the noise: with 3 m (1σ) white noise at 1 Hz and 10 m/s that
  overstates distance by some 15 %; Doppler speed is good to ~0.1 m/s.
- Each step is checked against the WGS-84 geodesic between the two positions (Vincenty):
  a position that disagrees with the speeds by more than ``position_tolerance_m`` (plus
  20 %), a speed above ``max_speed_mps`` or an acceleration above ``max_accel_mps2`` is an
  outlier and is skipped. ``reanchor_after`` consecutive outliers that agree with each other mean the
  old reference was wrong: the odometer re-anchors on them.
- Parked drift: while both ends of a step are below ``stationary_mps`` nothing accrues.
- Gaps (signal loss) up to ``bridge_max_ms`` are bridged by the geodesic between the last
  fix before and the first after, if that needs no impossible speed; longer or impossible
  gaps add nothing and are counted (``unbridged_gaps``, ``jumps_rejected``) so the meter
  can fall back to pulses.
Output is whole metres (``metres``); the float total is kept inside so rounding never drifts.
"""

import math

# WGS-84
_A = 6378137.0
_F = 1 / 298.257223563
_B = _A * (1 - _F)


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres on the WGS-84 ellipsoid (Vincenty's inverse formula, sub-mm for
    vehicle steps). Near-antipodal points, where Vincenty does not converge, fall back to a
    spherical estimate (irrelevant for a vehicle, but the function never fails)."""
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    u1 = math.atan((1 - _F) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - _F) * math.tan(math.radians(lat2)))
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    sin_u1, cos_u1 = math.sin(u1), math.cos(u1)
    sin_u2, cos_u2 = math.sin(u2), math.cos(u2)
    for _ in range(200):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
        if sin_sigma == 0.0:
            return 0.0
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = cos_u1 * cos_u2 * sin_lam / sin_sigma
        cos2_alpha = 1 - sin_alpha * sin_alpha
        cos_2sm = cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha if cos2_alpha != 0.0 else 0.0
        c = _F / 16 * cos2_alpha * (4 + _F * (4 - 3 * cos2_alpha))
        lam_prev = lam
        lam = big_l + (1 - c) * _F * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm * cos_2sm)))
        if abs(lam - lam_prev) < 1e-12:
            break
    else:
        return _spherical_m(lat1, lon1, lat2, lon2)
    u_sq = cos2_alpha * (_A * _A - _B * _B) / (_B * _B)
    a_coef = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    b_coef = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    delta_sigma = b_coef * sin_sigma * (cos_2sm + b_coef / 4 * (
        cos_sigma * (-1 + 2 * cos_2sm * cos_2sm)
        - b_coef / 6 * cos_2sm * (-3 + 4 * sin_sigma * sin_sigma) * (-3 + 4 * cos_2sm * cos_2sm)))
    return _B * a_coef * (sigma - delta_sigma)


def _spherical_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(h)))


class _Point:
    __slots__ = ("t_ms", "lat", "lon", "speed")

    def __init__(self, t_ms: int, lat: float, lon: float, speed: float) -> None:
        self.t_ms, self.lat, self.lon, self.speed = t_ms, lat, lon, speed


class GnssOdometer:
    """Cumulative GNSS distance. ``add(fix)`` returns the metres (float) that fix added."""

    def __init__(self, *, max_speed_mps: float = 70.0, max_accel_mps2: float = 10.0,
                 stationary_mps: float = 0.5, step_max_ms: int = 3_000, bridge_max_ms: int = 120_000,
                 position_tolerance_m: float = 30.0, max_hdop: float = 10.0, reanchor_after: int = 5) -> None:
        if not (max_speed_mps > 0 and max_accel_mps2 > 0 and stationary_mps >= 0 and step_max_ms > 0
                and bridge_max_ms >= step_max_ms and position_tolerance_m > 0 and max_hdop > 0
                and reanchor_after >= 2):
            raise ValueError("odometer limits must be positive and bridge_max_ms >= step_max_ms")
        self.max_speed_mps = max_speed_mps
        self.max_accel_mps2 = max_accel_mps2
        self.stationary_mps = stationary_mps
        self.step_max_ms = step_max_ms
        self.bridge_max_ms = bridge_max_ms
        self.position_tolerance_m = position_tolerance_m
        self.max_hdop = max_hdop
        self.reanchor_after = reanchor_after
        self.total_m = 0.0
        self._anchor: _Point | None = None
        self._suspects: list[_Point] = []
        self.counts = {"used": 0, "ignored": 0, "outliers": 0, "bridged_gaps": 0, "unbridged_gaps": 0,
                       "jumps_rejected": 0, "reanchored": 0}

    @property
    def metres(self) -> int:
        return int(self.total_m)

    def add(self, fix) -> float:
        counts = self.counts
        if (not fix.positioned or fix.time_ms is None or fix.speed_mps is None
                or (fix.hdop is not None and fix.hdop > self.max_hdop)):
            counts["ignored"] += 1
            return 0.0
        if fix.speed_mps > self.max_speed_mps:
            counts["outliers"] += 1
            return 0.0
        point = _Point(fix.time_ms, fix.lat, fix.lon, fix.speed_mps)
        anchor = self._anchor
        if anchor is None:
            self._anchor = point
            counts["used"] += 1
            return 0.0
        dt_ms = point.t_ms - anchor.t_ms
        if dt_ms <= 0:
            counts["ignored"] += 1
            return 0.0
        if dt_ms > self.step_max_ms:
            added = self._bridge(anchor, point)
            self._anchor = point
            self._suspects.clear()
            counts["used"] += 1
            self.total_m += added
            return added
        step = self._step(anchor, point)
        if step is not None:
            self._anchor = point
            self._suspects.clear()
            counts["used"] += 1
            self.total_m += step
            return step
        counts["outliers"] += 1
        return self._maybe_reanchor(point)

    def _step(self, a: _Point, b: _Point) -> float | None:
        """Distance of a regular step, or None if the two fixes cannot both be right."""
        dt_s = (b.t_ms - a.t_ms) / 1000.0
        if abs(b.speed - a.speed) > self.max_accel_mps2 * dt_s:
            return None
        expected = (a.speed + b.speed) / 2.0 * dt_s
        chord = geodesic_m(a.lat, a.lon, b.lat, b.lon)
        if abs(chord - expected) > self.position_tolerance_m + 0.2 * expected:
            return None
        if a.speed < self.stationary_mps and b.speed < self.stationary_mps:
            return 0.0
        return expected

    def _bridge(self, a: _Point, b: _Point) -> float:
        """Distance across a gap in the fixes (signal loss), or nothing if it is not believable."""
        dt_s = (b.t_ms - a.t_ms) / 1000.0
        chord = geodesic_m(a.lat, a.lon, b.lat, b.lon)
        if chord > self.max_speed_mps * dt_s + self.position_tolerance_m:
            self.counts["jumps_rejected"] += 1
            return 0.0
        if b.t_ms - a.t_ms > self.bridge_max_ms:
            self.counts["unbridged_gaps"] += 1
            return 0.0
        self.counts["bridged_gaps"] += 1
        if a.speed < self.stationary_mps and b.speed < self.stationary_mps and chord < self.position_tolerance_m:
            return 0.0  # parked through the gap: the chord is noise
        return chord

    def _maybe_reanchor(self, point: _Point) -> float:
        suspects = self._suspects
        suspects.append(point)
        if len(suspects) < self.reanchor_after:
            return 0.0
        track = suspects[-self.reanchor_after:]
        steps = [self._step(a, b) for a, b in zip(track, track[1:], strict=False)]
        if any(step is None for step in steps):
            del suspects[:-(self.reanchor_after - 1)]
            return 0.0
        # the old anchor was the odd one out: join it to the new track like a gap
        self.counts["reanchored"] += 1
        added = self._bridge(self._anchor, track[0]) + sum(steps)
        self._anchor = track[-1]
        suspects.clear()
        self.total_m += added
        return added


class DistanceCrossCheck:
    """Pulse distance against GNSS distance over windows of ``window_m`` metres.

    ``update(pulse_m, gnss_m)`` takes both cumulative distances (feed GNSS only while it is
    healthy) and returns a change ``{"active": bool, "ratio_permille": int, "pulse_m": int,
    "gnss_m": int}`` when the verdict flips: active when pulse/GNSS over the last window is
    off by more than ``tolerance`` (a sensor fault or tampering), inactive when it agrees again.
    """

    def __init__(self, *, window_m: int = 1000, tolerance: float = 0.10) -> None:
        if window_m <= 0 or not 0 < tolerance < 1:
            raise ValueError("window_m must be positive and tolerance between 0 and 1")
        self.window_m = window_m
        self.tolerance = tolerance
        self.active = False
        self._start: tuple[int, int] | None = None

    def restart(self) -> None:
        """Begin a new window at the next ``update``: GNSS was not healthy, so the open window proves nothing.
        The verdict (``active``) stands until a whole window judges again."""
        self._start = None

    def update(self, pulse_m: int, gnss_m: int) -> dict | None:
        if pulse_m < 0 or gnss_m < 0:
            raise ValueError("distances must not be negative")
        if self._start is None:
            self._start = (pulse_m, gnss_m)
            return None
        pulse = pulse_m - self._start[0]
        gnss = gnss_m - self._start[1]
        if pulse < 0 or gnss < 0:
            raise ValueError("cumulative distances must not go backwards")
        if max(pulse, gnss) < self.window_m:
            return None
        self._start = (pulse_m, gnss_m)
        ratio = pulse / gnss if gnss else math.inf
        mismatch = abs(ratio - 1.0) > self.tolerance
        if mismatch == self.active:
            return None
        self.active = mismatch
        permille = round(ratio * 1000) if gnss else -1
        return {"active": mismatch, "ratio_permille": permille, "pulse_m": pulse, "gnss_m": gnss}
