"""Builders for the meter firmware tests (MicroPython-compatible: no pytest, no hypothesis)."""

import json

from meter.device.firmware import MeterDevice

T0 = 1795140000000          # 2026-11-20 10:00 China time
PROFILE = {"plate": "AD1234", "licence": "L-440100", "driver": "440100123456", "vendor": 0,
           "utc_offset_min": 480}
TARIFF = {"id": "T1", "effective_from": "2026-01-01 00:00", "utc_offset_min": 480, "mode": "CN",
          "start_fare_fen": 1300, "start_distance_m": 3000, "per_km_fen": 230, "step_fen": 10,
          "waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60}}


def device(flash, now=T0, boot=True):
    return MeterDevice(flash, [TARIFF], PROFILE, now, boot=boot)


def trip_ops(start=T0 + 1000, km=4, base=0):
    """A short shift as device calls: (name, args) pairs."""
    ops = [("pulses", (start, base)), ("press", (start + 1000, "hire"))]
    t = start + 1000
    for i in range(km):
        t += 60000
        ops.append(("pulses", (t, base + (i + 1) * 1000)))
    ops += [("press", (t + 1000, "settle")), ("press", (t + 2000, "clear"))]
    return ops


def run(dev, op):
    name, args = op
    getattr(dev, name)(*args)


def state_of(dev):
    return json.loads(json.dumps({"meter": dev.meter.snapshot(), "pending": dev.pending}))
