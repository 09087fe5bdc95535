"""Idle CPU of the whole terminal with a JT/T 808 platform link beside MQTT.

live_cpu_pct_jt808: the same live run as ``live_cpu_pct`` (bench/bench_terminal.py: the
sim board, 10 Hz NMEA, 1 Hz reports, 50 Hz pulses, the shipped broker over TLS), with
``[links] use = ["mqtt", "jt808"]`` and a JT/T 808 platform emulator (sim/jtt_platform.py)
receiving every report as 0x0200 over TCP. Value: the process's CPU share over the run.
"""

import os

from bench.bench_terminal import _run_live
from sim.jtt_platform import JttPlatform


def live_cpu_pct_jt808() -> dict:
    seconds = float(os.environ.get("BENCH_LIVE_S", "60"))
    with JttPlatform("jt808") as platform:
        extra = f'[links]\nuse = ["mqtt", "jt808"]\n[jt808]\nhost = "{platform.host}"\nport = {platform.port}\n'
        live = _run_live(seconds, extra)
        locations = len(platform.locations())
    if locations < seconds * 0.8:
        raise RuntimeError(f"only {locations} JT/T 808 location reports in {seconds} s: the link was not live")
    print(f"  {locations} JT/T 808 location reports")
    return {"value": round(live["cpu_pct"], 2), "unit": "%", "better": "lower"}


METRICS = {"live_cpu_pct_jt808": live_cpu_pct_jt808}
