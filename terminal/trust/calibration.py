"""Calibration of K, the speed sensor's pulses per kilometre, from a drive over a measured course.

The workshop bench of the house, pure: a known distance and the pulses counted over it go in; K,
or the reason it cannot be trusted, comes out. Also the stored calibration record (Storage kv
``calibration``) and how to read it back. The shell (``taxiterm calibrate``) counts, asks the seal,
stores and audits; the meter applies a new K between trips (``Taximeter.set_k``). See
docs/calibration.md.

K = pulses x 1000 / distance_m, rounded to the nearest integer, halves up. A run must resolve K to
0.1 %: at least 1000 pulses (one pulse is then <= 0.1 % of the count) over at least 1000 m of course
(one metre of course is then <= 0.1 %). K must lie in 100..100000 pulses/km, the range the odometer
accepts; anything outside is a wiring fault or a typo, not a vehicle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

K_MIN = 100
K_MAX = 100_000
MIN_PULSES = 1000
MIN_DISTANCE_M = 1000
MAX_DISTANCE_M = 100_000          # a calibration course, not a day's driving
KV_KEY = "calibration"            # Storage kv: the record below (terminal/export.py reads it)


class CalibrationError(ValueError):
    """A measurement or a stored calibration that cannot give a trustworthy K; the message says why."""


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CalibrationError(f"{name} must be a whole number, got {value!r}")
    return value


def k_from_run(distance_m: int, pulses: int) -> int:
    """K in pulses/km from ``pulses`` counted over ``distance_m`` metres; CalibrationError if not trustworthy."""
    distance_m = _count("distance_m", distance_m)
    pulses = _count("pulses", pulses)
    if distance_m < MIN_DISTANCE_M:
        raise CalibrationError(f"a course of {distance_m} m is too short: at least {MIN_DISTANCE_M} m for 0.1 % "
                               "resolution")
    if distance_m > MAX_DISTANCE_M:
        raise CalibrationError(f"a course of {distance_m} m is implausible (at most {MAX_DISTANCE_M} m)")
    if pulses < MIN_PULSES:
        raise CalibrationError(f"{pulses} pulses counted: at least {MIN_PULSES} are needed for 0.1 % resolution "
                               f"(drive a longer course, or check the sensor wiring)")
    k = (2 * pulses * 1000 + distance_m) // (2 * distance_m)
    if not K_MIN <= k <= K_MAX:
        raise CalibrationError(f"K = {k} pulses/km is implausible (expected {K_MIN}..{K_MAX}); "
                               "check the course length and the sensor")
    return k


def resolution_ppm(distance_m: int, pulses: int) -> int:
    """The coarser of one pulse and one metre, relative to the run, in parts per million (rounded up)."""
    return max(-(-1_000_000 // pulses), -(-1_000_000 // distance_m))


@dataclass(frozen=True)
class Calibration:
    """One accepted run: what goes into Storage kv ``calibration``."""

    k: int
    calibrated_ms: int
    distance_m: int
    pulses: int

    @classmethod
    def from_run(cls, distance_m: int, pulses: int, t_ms: int) -> Calibration:
        return cls(k_from_run(distance_m, pulses), _count("calibrated_ms", t_ms), distance_m, pulses)

    def record(self) -> dict:
        return {"k": self.k, "calibrated_ms": self.calibrated_ms, "distance_m": self.distance_m,
                "pulses": self.pulses}

    def kv_text(self) -> str:
        return json.dumps(self.record(), sort_keys=True, separators=(",", ":"))

    @property
    def resolution_ppm(self) -> int:
        return resolution_ppm(self.distance_m, self.pulses)

    @property
    def rounding_ppm(self) -> int:
        """How far the integer K may be from the measured ratio (at most half a pulse per km)."""
        exact_num = self.pulses * 1000
        return -(-abs(self.k * self.distance_m - exact_num) * 1_000_000 // exact_num)


def stored_k(text: str | None) -> int | None:
    """K from the stored kv record, None when the terminal was never calibrated; CalibrationError if malformed."""
    if text is None:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        raise CalibrationError("stored calibration record is not JSON") from None
    if not isinstance(record, dict) or "k" not in record or "calibrated_ms" not in record:
        raise CalibrationError("stored calibration record lacks k or calibrated_ms")
    k = record["k"]
    if isinstance(k, bool) or not isinstance(k, int) or not K_MIN <= k <= K_MAX:
        raise CalibrationError(f"stored calibration K {k!r} is outside {K_MIN}..{K_MAX}")
    return k


def effective_k(configured_k: int, stored_text: str | None) -> int:
    """The K a terminal uses: the sealed calibration when there is one, else the configuration's meter.k."""
    k = stored_k(stored_text)
    return configured_k if k is None else k
