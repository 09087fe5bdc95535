"""Shared builders for the meter tests (MicroPython-compatible: no pytest, no hypothesis)."""

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter

# 2026-11-20 (a Friday) 10:00 China time, as Unix epoch ms
FRI_10H = 1795140000000
MIN = 60000
HOUR = 3600000


def tariff_data(**changes):
    d = {
        "id": "T1",
        "effective_from": "2026-01-01 00:00",
        "utc_offset_min": 480,
        "mode": "CN",
        "start_fare_fen": 1300,
        "start_distance_m": 3000,
        "per_km_fen": 230,
        "step_fen": 10,
        "waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60},
    }
    for key in changes:
        if changes[key] is None:
            d.pop(key, None)
        else:
            d[key] = changes[key]
    return d


def meter(k=1000, source="pulses", dip_ms=10000, **changes):
    m = Taximeter(Schedule([parse_tariff(tariff_data(**changes))]), {"k": k, "source": source, "dip_ms": dip_ms})
    m.apply({"t_ms": FRI_10H - HOUR, "pulses": 0})
    return m


def raises(exc_type, fn, *args):
    """Call fn(*args); return the exception it raised (fail if it did not raise exc_type)."""
    try:
        fn(*args)
    except exc_type as exc:
        return exc
    raise AssertionError("expected " + exc_type.__name__)


class Lcg:
    """A small deterministic generator (identical on CPython and MicroPython)."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF

    def next(self):
        self.s = (self.s * 1664525 + 1013904223) & 0xFFFFFFFF
        return self.s

    def int(self, lo, hi):
        return lo + (self.next() >> 8) % (hi - lo + 1)

    def chance(self, percent):
        return self.int(1, 100) <= percent
