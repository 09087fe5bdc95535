"""Fleet load: N simulated terminals reporting through one broker, measured from the platform's side.

The car park of the simulator. Each simulated terminal is the terminal's real uplink
path: its own database (``terminal.storage``), outbox (``terminal.link.outbox``: persist,
publish at QoS 1, delete on PUBACK) and MQTT connection (``terminal.link.mqtt``, its own
client id, last will and retained status), sending a location report
(``terminal.link.payloads.location``) once a second from a point moving along a city route.
Terminals run in worker processes (so the machine's cores are used), each worker
stepping its terminals from one loop. The platform side is ``consumers`` MQTT clients
sharing one subscription (``$share/platform/taxi/+/up/#``, the way a platform scales
its consumers on EMQX, VerneMQ or Mosquitto 2); they count messages and measure
end-to-end latency as receive time minus the report's ``ts`` (same machine, same clock).
"""

from __future__ import annotations

import json
import multiprocessing
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from sim.broker import Broker


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Consumer:
    """One platform consumer on a shared subscription: counts and latencies (ms) per received message."""

    def __init__(self, host: str, port: int, name: str, prefix: str = "taxi", shared: bool = True) -> None:
        self.latencies: list[int] = []
        self.count = 0
        self.bad = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        topic = f"$share/platform/{prefix}/+/up/#" if shared else f"{prefix}/+/up/#"
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._ready.wait(5):
            raise RuntimeError(f"platform consumer {name} could not subscribe")

    def _on_message(self, client, userdata, msg) -> None:
        now = wall_ms()
        try:
            ts = json.loads(msg.payload)["ts"]
        except (ValueError, KeyError, TypeError):
            with self._lock:
                self.bad += 1
            return
        with self._lock:
            self.count += 1
            self.latencies.append(now - ts)

    def take(self) -> tuple[int, list[int]]:
        with self._lock:
            count, lat = self.count, self.latencies
            self.count, self.latencies = 0, []
        return count, lat

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _worker(ids: list[str], host: str, port: int, root: str, start_at: float, stop_at: float,
            results: multiprocessing.Queue) -> None:
    """A worker process: its terminals report once a second from ``start_at`` to ``stop_at`` (wall time)."""
    from sim.gnss_route import drive, urban_route
    from terminal.link import payloads
    from terminal.link.mqtt import MqttLink
    from terminal.link.outbox import Outbox
    from terminal.storage.database import Storage

    terminals = []
    for n, tid in enumerate(ids):
        events: queue.Queue = queue.Queue()
        storage = Storage(Path(root) / f"{tid}.db")
        link = MqttLink({"terminal_id": tid, "host": host, "port": port, "reconnect_min_s": 0.2,
                         "reconnect_max_s": 2.0}, events, wall_ms)
        outbox = Outbox(storage, link, window=20)
        path = drive(urban_route(20_000, seed=n), 1.0)
        terminals.append((tid, events, storage, link, outbox, path))
        link.start()
    sent = 0
    next_second = start_at
    while True:
        now = time.time()
        if now >= stop_at:
            break
        for tid, events, _storage, _link, outbox, path in terminals:
            while True:
                try:
                    outbox.handle(events.get_nowait())
                except queue.Empty:
                    break
            if now >= next_second:
                sample = next(path, None)
                if sample is not None:
                    t = wall_ms()
                    pos = payloads.position(lat_deg=sample.lat, lon_deg=sample.lon, alt_m=10.0,
                                            speed_mps=sample.speed_mps, course_deg=sample.course_deg, fix_ms=t)
                    outbox.enqueue(f"taxi/{tid}/up/location", lambda seq, t=t, pos=pos, m=int(sample.distance_m): payloads.location(
                        seq=seq, ts_ms=t, pos=pos, status=["positioned", "acc_on"], operating="for_hire",
                        mileage_m=m), "location")
                    sent += 1
            outbox.pump()
        if now >= next_second:
            next_second += 1.0
        time.sleep(0.005)
    pending = sum(t[4].pending() for t in terminals)
    for _tid, _events, storage, link, _outbox, _path in terminals:
        link.stop(timeout_s=1.0)
        storage.close()
    results.put({"sent": sent, "pending": pending})


def run_fleet(n: int, seconds: float = 20.0, *, warmup_s: float = 5.0, workers: int | None = None,
              consumers: int = 2, broker: Broker | None = None, log=print) -> dict:
    """N terminals for ``warmup_s + seconds``; the rate and latency are measured over ``seconds``."""
    if n < 1:
        raise ValueError("a fleet needs at least one terminal")
    workers = workers or max(1, min(multiprocessing.cpu_count(), (n + 99) // 100))
    own = broker is None
    broker = broker or Broker(max_queued_messages=1_000_000, shipped=False).start()
    root = tempfile.mkdtemp(prefix="taxiterm-fleet-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    platform = [Consumer(broker.host, broker.port, f"platform-{i}", shared=consumers > 1) for i in range(consumers)]
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue = ctx.Queue()
    ids = [f"F{i:05d}" for i in range(n)]
    start_at = time.time() + 3.0 + n / 500          # time for the workers to connect their terminals
    stop_at = start_at + warmup_s + seconds
    procs = [ctx.Process(target=_worker, args=(ids[w::workers], broker.host, broker.port, root, start_at, stop_at,
                                                results), daemon=True) for w in range(workers)]
    try:
        for p in procs:
            p.start()
        time.sleep(max(0.0, start_at + warmup_s - time.time()))
        for c in platform:
            c.take()
        t0 = time.time()
        time.sleep(max(0.0, stop_at - time.time()))
        took = time.time() - t0
        count, latencies = 0, []
        for c in platform:
            k, lat = c.take()
            count += k
            latencies += lat
        outcome = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    finally:
        for c in platform:
            c.stop()
        for p in procs:
            if p.is_alive():
                p.kill()
        shutil.rmtree(root, ignore_errors=True)
        if own:
            broker.close()
    latencies.sort()

    def pct(q: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None

    report = {"terminals": n, "workers": workers, "consumers": consumers, "seconds": round(took, 2),
              "messages": count, "rate_per_s": round(count / took, 1) if took else 0.0,
              "expected_per_s": n, "latency_ms_p50": pct(0.5), "latency_ms_p99": pct(0.99),
              "latency_ms_max": latencies[-1] if latencies else None,
              "pending_at_end": sum(o["pending"] for o in outcome)}
    log(json.dumps(report))
    return report
