"""The meter on its own microcontroller: link latency, firmware throughput and footprint.

- ``meter_link_trip_ms_p99``: trip end on the device (the clear key inside the firmware under
  MicroPython) until the trip record is stored in the terminal's database, over the 905.2 link
  on a real pty (sim/meter_device.py), 30 trips.
- ``meter_device_events_per_s_micropython``: events (pulse readings, each applied, journaled in
  the hash-chained flash journal and answered) per second through ``MeterDevice`` under
  MicroPython 1.27 (WebAssembly on this PC; an RP2040 is far slower: see docs/meter-device.md).
- ``meter_device_flash_kb``: the firmware's files plus its journal area, against 2048 KB; it also
  prints the RAM side (code compiled into RAM plus the peak live heap under MicroPython, of 264 KB).
- ``meter_device_heap_kb_micropython``: the firmware's code compiled into RAM plus the peak live
  heap of a running device (3000 events), against 264 KB.
"""

from __future__ import annotations

import functools
import queue
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def _device_figures() -> dict:
    proc = subprocess.run(["node", str(REPO / "bench" / "meter_device_mp.mjs")], capture_output=True, text=True,
                          timeout=600, check=True)
    figures = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"([A-Z0-9_]+) (-?\d+)", line)
        if match:
            figures[match.group(1)] = int(match.group(2))
    print("   ", " ".join(f"{k}={v}" for k, v in figures.items()))
    return figures


def meter_device_events_per_s_micropython() -> dict:
    return {"value": _device_figures()["DEVICE_EVENTS_PER_S"], "unit": "events/s", "better": "higher"}


def meter_device_heap_kb_micropython() -> dict:
    f = _device_figures()
    return {"value": round((f["DEVICE_HEAP_CODE"] + f["DEVICE_HEAP_LIVE_PEAK"]) / 1024, 1), "unit": "KB",
            "better": "lower"}


def meter_device_flash_kb() -> dict:
    import ast
    main = (REPO / "meter" / "device" / "main.py").read_text()
    files = ast.literal_eval(re.search(r"FILES = (\(.*?\))\n", main, re.S).group(1))
    code = sum((REPO / name).stat().st_size for name in files)
    # meter/device/hw.py imports the chip's modules: read its journal size from the text
    factors = re.search(r"^FLASH_BYTES = ([0-9 *]+)", (REPO / "meter/device/hw.py").read_text(), re.M).group(1)
    journal = 1
    for factor in factors.split("*"):
        journal *= int(factor)
    total_kb = (code + journal) / 1024
    print(f"    firmware files {code / 1024:.1f} KB + journal {journal // 1024} KB of 2048 KB")
    f = _device_figures()
    print(f"    RAM under MicroPython: code {f['DEVICE_HEAP_CODE'] / 1024:.1f} KB + peak live heap "
          f"{f['DEVICE_HEAP_LIVE_PEAK'] / 1024:.1f} KB of 264 KB")
    return {"value": round(total_kb, 1), "unit": "KB", "better": "lower"}


def meter_link_trip_ms_p99() -> dict:
    from drivers.meter_link import MeterLinkDriver
    from meter.tariff import Schedule, parse_tariff
    from sim.meter_device import MeterDeviceEmulator
    from terminal.app import config as config_mod
    from terminal.app.loop import Devices, Terminal
    from terminal.storage.database import Storage
    from tests.meter_device.support import TARIFF

    t_start = time.monotonic()

    def clock() -> int:   # a minute of meter time per real second
        return 1795140000000 + int((time.monotonic() - t_start) * 60000)

    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        emu = MeterDeviceEmulator(Path(tmp) / "flash.bin", clock, [TARIFF]).start()
        events: queue.Queue = queue.Queue()
        driver = MeterLinkDriver(emu.path, events, clock, query_interval_ms=60000, answer_timeout_ms=30000).start()
        storage = Storage(Path(tmp) / "terminal.db", clock)
        term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=storage,
                        schedule=Schedule([parse_tariff(TARIFF)]), events=events, clock=clock,
                        devices=Devices(meter_link=driver), software_id="0" * 64)
        stop = threading.Event()
        loop = threading.Thread(target=term.run, args=(stop,), daemon=True)
        loop.start()
        try:
            pulses = 0
            for n in range(1, 31):
                emu.pulses(pulses)
                emu.press("hire")
                time.sleep(0.3)
                pulses += 150
                emu.pulses(pulses)
                emu.press("settle")
                sent = time.perf_counter()
                emu.press("clear")
                while storage.trip(n) is None:
                    if time.perf_counter() - sent > 10:
                        raise RuntimeError(f"trip {n} never reached the terminal")
                    time.sleep(0.001)
                latencies.append((time.perf_counter() - sent) * 1000)
        finally:
            stop.set()
            loop.join(5)
            driver.close()
            emu.close()
            storage.close()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"    median {latencies[len(latencies) // 2]:.1f} ms, max {latencies[-1]:.1f} ms over {len(latencies)} trips")
    return {"value": round(p99, 1), "unit": "ms", "better": "lower"}


METRICS = {
    "meter_link_trip_ms_p99": meter_link_trip_ms_p99,
    "meter_device_events_per_s_micropython": meter_device_events_per_s_micropython,
    "meter_device_flash_kb": meter_device_flash_kb,
    "meter_device_heap_kb_micropython": meter_device_heap_kb_micropython,
}
