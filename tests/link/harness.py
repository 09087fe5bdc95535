"""Test harness: a platform-side subscriber, and the terminal's uplink half (storage, outbox,
link and a minimal loop) wired together the way the terminal's loop wires them."""

from __future__ import annotations

import json
import queue
import threading
import time

import paho.mqtt.client as mqtt

from terminal.link.link_loop import run_link_loop
from terminal.link.mqtt import MqttLink
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

DEADLINE_S = 15.0  # how long to wait for something that must happen; never a speed claim


def wait_until(predicate, what: str, deadline_s: float = DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


class Collector:
    """A platform-side client that records every message on ``topic_filter`` (QoS 1)."""

    def __init__(self, broker, topic_filter: str = "taxi/#", client_id: str = "platform-test") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_filter, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subscribed.set()
        self.client.reconnect_delay_set(0.05, 0.2)
        broker.secure(self.client, client_id)             # a platform account of its own
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(DEADLINE_S):
            raise AssertionError("collector never subscribed")

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def payloads(self, suffix: str = "") -> list[dict]:
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith(suffix) and p]

    def uplinks(self) -> list[dict]:
        """Messages on up/ topics, in arrival order."""
        with self._lock:
            return [json.loads(p) for t, p, _ in self.messages if "/up/" in t]

    def seqs(self, suffix: str = "") -> list[int]:
        return [p["seq"] for p in self.payloads(suffix) if "seq" in p]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Uplink:
    """Storage + Outbox + MqttLink + a loop thread, as in the terminal."""

    def __init__(self, db_path, link_config: dict, capacity: int = 100_000, window: int = 100) -> None:
        self.events: queue.Queue = queue.Queue()
        self.other: list = []
        self.storage = Storage(db_path)
        self.outbox = Outbox(self.storage, capacity=capacity, window=window)
        self.link = MqttLink(link_config, self.events, software="taxiterm test")
        self.outbox.publisher = self.link
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        run_link_loop(self.outbox, self.events, self._stop, self.other.append, tick_s=0.01)

    def start(self) -> Uplink:
        self._thread.start()
        self.link.start()
        return self

    def enqueue(self, kind: str, body: dict, priority: int | None = None) -> int | None:
        # Only the loop thread publishes; enqueue is a storage transaction and is safe from here.
        return self.outbox.enqueue(self.link.config.up_topic(kind), body, kind, priority)

    def stop(self) -> None:
        self.link.stop()
        self._stop.set()
        self._thread.join(5)
        self.storage.close()
