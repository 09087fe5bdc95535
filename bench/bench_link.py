"""Benchmarks of the uplink: how fast a blind-area backlog drains once the broker is back,
and what storing one uplink costs.

backlog_flush_s_3600: the broker is unreachable for an hour of 1 Hz location reports
(3,600 reports enqueued on a virtual clock), then reachable again; seconds from that
moment until a subscriber on the broker has received all 3,600, in order, none lost
(anything else fails the benchmark). A real Mosquitto, a real database file; the
terminal's reconnect backoff is set to 0.05-0.1 s so the figure is the flush itself.
"""

from __future__ import annotations

import json
import queue
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from sim.broker import Broker, Gate
from terminal.link.mqtt import MqttLink
from terminal.link.link_loop import run_link_loop
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

REPORTS = 3600
T0_MS = 1_795_000_000_000


def _location(i: int) -> dict:
    return {"ts": T0_MS + i * 1000, "alarm": 0, "status": 3, "latitude": 22543096 + i, "longitude": 114057865,
            "altitude": 12, "speed": 352, "direction": 90, "time": "261121103000",
            "extra": {"mileage": 123456 + i, "operating": "hired", "order_id": "0", "overspeed": False}}


def backlog_flush_s_3600() -> dict:
    with tempfile.TemporaryDirectory() as tmp, Broker() as broker:
        gate = Gate(broker.port)
        gate.hold()
        received: list[tuple[int, bool]] = []
        done = threading.Event()

        def on_message(client, userdata, message) -> None:
            payload = json.loads(message.payload)
            received.append((payload["seq"], payload["resent"]))
            if len(received) >= REPORTS:
                done.set()

        subscribed = threading.Event()
        platform = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="platform", protocol=mqtt.MQTTv5)
        platform.on_message = on_message
        platform.on_subscribe = lambda *a: subscribed.set()
        broker.secure(platform, "platform")
        platform.connect(broker.host, broker.port)
        platform.subscribe("taxi/T0001/up/location", qos=1)
        platform.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("platform never subscribed")

        events: queue.Queue = queue.Queue()
        clock = [T0_MS]
        storage = Storage(Path(tmp) / "terminal.db", clock=lambda: clock[0])
        outbox = Outbox(storage)
        link = MqttLink(broker.link_config(port=gate.port, reconnect_min_s=0.05, reconnect_max_s=0.1),
                        events, clock=lambda: clock[0])
        outbox.publisher = link
        stop = threading.Event()
        loop = threading.Thread(target=run_link_loop, args=(outbox, events, stop), kwargs={"tick_s": 0.01})
        loop.start()
        link.start()
        topic = link.config.up_topic("location")
        for i in range(REPORTS):  # an hour without the broker, on the virtual clock
            clock[0] = T0_MS + i * 1000
            outbox.enqueue(topic, _location(i), "location")
        start = time.perf_counter()
        gate.release()
        finished = done.wait(60)
        took = time.perf_counter() - start
        link.stop()
        stop.set()
        loop.join(5)
        platform.disconnect()
        platform.loop_stop()
        gate.close()
        storage.close()
    if not finished:
        raise RuntimeError(f"only {len(received)} of {REPORTS} reports arrived within 60 s")
    seqs = [seq for seq, _ in received]
    if seqs[:REPORTS] != list(range(1, REPORTS + 1)):
        raise RuntimeError("reports arrived out of order or with gaps")
    if not all(resent for _, resent in received):
        raise RuntimeError("a backlog report was not marked resent")
    return {"value": round(took, 3), "unit": "s", "better": "lower"}


def outbox_enqueue_ms_p99() -> dict:
    """One location report stored (one durable transaction, synchronous=FULL): p99 over 500."""
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "terminal.db")
        outbox = Outbox(storage)
        times = []
        for i in range(500):
            start = time.perf_counter()
            outbox.enqueue("taxi/T0001/up/location", _location(i), "location")
            times.append((time.perf_counter() - start) * 1000)
        storage.close()
    return {"value": round(statistics.quantiles(times, n=100)[98], 3), "unit": "ms", "better": "lower"}


METRICS = {"backlog_flush_s_3600": backlog_flush_s_3600, "outbox_enqueue_ms_p99": outbox_enqueue_ms_p99}
