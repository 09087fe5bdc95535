"""Benchmarks of the JT/T links (no broker: the JT/T platform emulator over real TCP).

jt_backlog_flush_s_3600: the JT/T 808 platform refuses connections for an hour of 1 Hz
location reports (3,600 stored on a virtual clock), then takes them again; seconds from
that moment until the emulator has every one of the 3,600 (as 0x0704 type 1 blind-area
batches) and has acknowledged them, so the outbox is empty. Anything missing, live or
left in the outbox fails the benchmark. Reconnect backoff 0.05-0.1 s, as bench_link.

jt_alarm_to_platform_ms_p99: a whole terminal (``Runtime`` on the sim board, JT/T 808
as its only link): the hidden alarm's event put on the loop's queue -> the emulator has
decoded the alarm's 0x0200 (alarm bits set, our alarm id item 0xE3, which periodic
location reports do not carry). p99 over 200 alarms (the first press raises the
pre-alarm, the rest are "pressed again" reports), wall time.
"""

from __future__ import annotations

import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

from drivers.event import Event
from sim.jtt_platform import JttPlatform
from terminal.link.jtt_link import tcp_link
from terminal.link.jtt_link.links import LinkOutbox
from terminal.link.link_loop import run_link_loop
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

REPORTS = 3600
ALARMS = 200
T0_MS = 1_795_000_000_000
LAST_TIMES: list = []    # the last alarm run's latencies, for a look at the spread


def _location(i: int) -> dict:
    return {"ts": T0_MS + i * 1000, "alarm": 0, "status": 3, "latitude": 22543096 + i, "longitude": 114057865,
            "altitude": 12, "speed": 352, "direction": 90, "time": "261121103000", "south": False, "west": False,
            "extra": {"mileage": 123456 + i, "operating": "hired", "order_id": "0", "overspeed": False}}


def jt_backlog_flush_s_3600() -> dict:
    with tempfile.TemporaryDirectory() as tmp, JttPlatform("jt808") as platform:
        platform.refuse = True
        events: queue.Queue = queue.Queue()
        clock = [T0_MS]
        storage = Storage(Path(tmp) / "terminal.db", clock=lambda: clock[0])
        cfg = tcp_link.link_config("jt808", {"port": platform.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.1,
                                             "auth_file": str(Path(tmp) / "auth")}, {"id": "T0001"})
        link = tcp_link.JttLink("jt808", "jt808", cfg, events, lambda: clock[0])
        outbox = Outbox(storage)
        view = LinkOutbox(storage, link, link="jt808", window=cfg["window"])
        outbox.add_links([view], own=None)
        stop = threading.Event()
        loop = threading.Thread(target=run_link_loop, args=(outbox, events, stop), kwargs={"tick_s": 0.01})
        loop.start()
        link.start()
        for i in range(REPORTS):
            clock[0] = T0_MS + i * 1000
            outbox.enqueue("taxi/T0001/up/location", _location(i), "location")
        start = time.perf_counter()
        platform.refuse = False
        deadline = start + 60
        while time.perf_counter() < deadline and (len(platform.locations()) < REPORTS or view.pending()):
            time.sleep(0.002)
        took = time.perf_counter() - start
        got = platform.locations()
        pending = view.pending()
        link.stop()
        stop.set()
        loop.join(5)
        storage.close()
    if len(got) < REPORTS or pending:
        raise RuntimeError(f"{len(got)} of {REPORTS} arrived, {pending} still pending after 60 s")
    if sorted(loc["latitude"] - 22543096 for loc in got) != list(range(REPORTS)):
        raise RuntimeError("reports lost or duplicated")
    if not all(loc["resent"] for loc in got):
        raise RuntimeError("a backlog report went live, not as a blind-area batch")
    return {"value": round(took, 3), "unit": "s", "better": "lower"}


def jt_alarm_to_platform_ms_p99() -> dict:
    from sim.printer_emulator import PrinterEmulator
    from sim.provision import provision_state
    from sim.pty import PtyDevice
    from sim.sign_emulator import SignEmulator
    from terminal.app import config as config_mod
    from terminal.app.runtime import Runtime

    with tempfile.TemporaryDirectory() as tmp, JttPlatform("jt808") as platform:
        tmp = Path(tmp)
        sign, printer_pty, gnss_pty = SignEmulator().start(), PtyDevice(), PtyDevice()
        printer = PrinterEmulator(out_dir=None)
        printer.serve_pty(printer_pty)
        provision_state(tmp / "state")
        config = config_mod.from_dict({
            "terminal": {"id": "T0042", "state_dir": str(tmp / "state")},
            "links": {"use": ["jt808"]},
            "jt808": {"port": platform.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2},
            "board": {"serial": {"sign": sign.path, "printer": printer_pty.path, "gnss": gnss_pty.path}},
        })
        runtime = Runtime(config, "sim")
        runtime.start()
        times = []
        try:
            if not runtime.ready.wait(10):
                raise RuntimeError("terminal did not start")
            platform.wait_online(10)
            time.sleep(0.3)
            for _ in range(ALARMS):
                before = {id(m) for m in platform.messages(0x0200)}
                start = time.perf_counter()
                runtime.events.put(Event("alarm_button", runtime.clock(), {"held_ms": 3000, "button": "alarm_a"}))
                platform.wait_for(lambda m, before=before: m["header"]["msg_id"] == 0x0200 and id(m) not in before
                                  and "227" in m["body"].get("extra", {}).get("custome", {}), 10)
                times.append((time.perf_counter() - start) * 1000)
                time.sleep(0.005)
        finally:
            runtime.stop()
            printer.close()
            printer_pty.close()
            gnss_pty.close()
            sign.close()
    LAST_TIMES[:] = times
    return {"value": round(statistics.quantiles(times, n=100)[98], 3), "unit": "ms", "better": "lower"}


METRICS = {"jt_backlog_flush_s_3600": jt_backlog_flush_s_3600, "jt_alarm_to_platform_ms_p99": jt_alarm_to_platform_ms_p99}
