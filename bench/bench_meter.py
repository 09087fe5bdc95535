"""Meter core throughput: events per second on CPython and on MicroPython (WebAssembly, Node)."""

import re
import subprocess
import time
from pathlib import Path

from tests.meter.benchmark import events_per_s

REPO = Path(__file__).resolve().parent.parent


def meter_events_per_s() -> dict:
    def ticks() -> int:
        return time.perf_counter_ns() // 1000000

    best = max(events_per_s(ticks, lambda a, b: a - b, n_events=200000) for _ in range(3))
    return {"value": best, "unit": "events/s", "better": "higher"}


def meter_events_per_s_micropython() -> dict:
    proc = subprocess.run(["node", str(REPO / "tests/micropython/run.mjs"), "--bench"],
                          capture_output=True, text=True, timeout=600, check=True)
    match = re.search(r"EVENTS_PER_S (\d+)", proc.stdout)
    if not match:
        raise RuntimeError("MicroPython benchmark printed no result: " + proc.stdout + proc.stderr)
    return {"value": int(match.group(1)), "unit": "events/s", "better": "higher"}


METRICS = {
    "meter_events_per_s": meter_events_per_s,
    "meter_events_per_s_micropython": meter_events_per_s_micropython,
}
