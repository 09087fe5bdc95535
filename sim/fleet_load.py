"""Fleet load that measures the platform side: N terminals in one process against one broker.

The simulator's room. ``sim/fleet.py`` runs each terminal as the terminal's whole uplink
path (database, outbox, paho client), so on one machine the terminals run out before the
broker does. Here each terminal is only what the broker and the platform see: its own
connection with its own client id and credentials, its own persisted-style sequence
numbers, a real ``location`` payload from ``terminal.link.payloads`` once a second along
a city route, published at QoS 1 with a window of unacknowledged messages (PUBACK
bookkeeping as the outbox does it). Terminals live on one asyncio loop per generator
process (``sim/mini_mqtt.py``), each sending at its own phase of the second.

The platform is ``consumers`` MQTT 5 clients on one shared subscription
(``$share/platform/taxi/+/up/#``, docs/fleet.md) in a process of their own; they count
messages and measure latency as receive time minus the report's ``ts``.

Every process reports the CPU it used over the measured interval, and the broker's is
read from /proc, so the report says which part saturated (docs/fleet.md).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import time
from collections import deque

from sim.broker import Broker
from sim.mini_mqtt import Client

SHARED_FILTER = "$share/platform/{prefix}/+/up/#"


def no_credentials(terminal_id: str) -> tuple[str | None, str | None]:
    return None, None


def cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one when ``pid`` is None)."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_s(pid: int | None = None) -> float:
    """Seconds a process's main thread waited for a CPU (/proc/PID/schedstat): the machine's load, not ours."""
    try:
        return int(open(f"/proc/{pid or 'self'}/schedstat").read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


class SimTerminal:
    """One terminal as the broker sees it: a connection, a seq counter, a window of unacknowledged reports."""

    __slots__ = ("tid", "topic", "client", "seq", "inflight", "backlog", "window", "path", "route_seed",
                 "published", "acked")

    def __init__(self, tid: str, route_seed: int, window: int, prefix: str = "taxi") -> None:
        self.tid, self.route_seed, self.window = tid, route_seed, window
        self.topic = f"{prefix}/{tid}/up/location"
        self.client: Client | None = None
        self.seq = 0
        self.inflight: dict[int, int] = {}
        self.backlog: deque = deque()
        self.path = None
        self.published = self.acked = 0

    def _sample(self):
        from sim.gnss_route import drive, urban_route
        sample = next(self.path, None) if self.path is not None else None
        if sample is None:
            self.path = drive(urban_route(20_000, seed=self.route_seed), 1.0)
            sample = next(self.path)
        return sample

    def report(self, now_ms: int) -> None:
        from terminal.link import payloads
        s = self._sample()
        self.seq += 1
        pos = payloads.position(lat_deg=s.lat, lon_deg=s.lon, alt_m=10.0, speed_mps=s.speed_mps,
                                course_deg=s.course_deg, fix_ms=now_ms)
        body = payloads.location(seq=self.seq, ts_ms=now_ms, pos=pos, status=["positioned", "acc_on"],
                                 operating="for_hire", mileage_m=int(s.distance_m))
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        if len(self.inflight) < self.window:
            self._send(self.seq, raw)
        else:
            self.backlog.append((self.seq, raw))

    def _send(self, seq: int, raw: bytes) -> None:
        self.inflight[self.client.publish(self.topic, raw, qos=1)] = seq
        self.published += 1

    def puback(self, pid: int) -> None:
        if self.inflight.pop(pid, None) is not None:
            self.acked += 1
            if self.backlog and not self.client.closed:
                self._send(*self.backlog.popleft())

    def pending(self) -> int:
        return len(self.inflight) + len(self.backlog)


async def _wait_go(go) -> float:
    while not go.value:
        await asyncio.sleep(0.02)
    return go.value


def _tls(tls_ca: str | None):
    if tls_ca is None:
        return None
    import ssl
    return ssl.create_default_context(cafile=tls_ca)


async def _generate(ids, creds, host, port, connected, go, warmup_s, seconds, window, version, tls_ca=None):
    terminals = [SimTerminal(tid, n, window) for n, tid in enumerate(ids)]
    context = _tls(tls_ca)
    for t in terminals:
        t._sample()  # the route is built before the clock starts, not in the first second
        user, password = creds.get(t.tid, (None, None))
        t.client = Client(t.tid, version=version, username=user, password=password, on_puback=t.puback)
    for i in range(0, len(terminals), 50):  # a connect storm the broker's listen backlog can take
        await asyncio.gather(*(t.client.open(host, port, ssl=context) for t in terminals[i:i + 50]))
    connected.set()
    start_at = await _wait_go(go)
    measure_at, stop_at = start_at + warmup_s, start_at + warmup_s + seconds
    await asyncio.sleep(max(0.0, start_at - time.time()))
    n, due, late = len(terminals), 0, []
    cpu0 = None
    while True:
        now = time.time()
        if now >= stop_at:
            break
        if cpu0 is None and now >= measure_at:
            cpu0, wait0, sent0 = cpu_s(), runqueue_wait_s(), due
        target = int((now - start_at) * n)
        if cpu0 is not None:
            late.append(target - due)
        now_ms = int(now * 1000)
        while due < target:
            terminals[due % n].report(now_ms)
            due += 1
        await asyncio.sleep(0.01)
    cpu = cpu_s() - cpu0 if cpu0 is not None else 0.0
    wait = runqueue_wait_s() - wait0 if cpu0 is not None else 0.0
    await asyncio.sleep(0.5)
    for t in terminals:
        t.client.close()
    late.sort()
    return {"sent": due - (sent0 if cpu0 is not None else 0), "cpu_s": cpu, "wait_s": wait,
            "pending": sum(t.pending() for t in terminals),
            "published": sum(t.published for t in terminals), "acked": sum(t.acked for t in terminals),
            "behind_p99": late[int(0.99 * (len(late) - 1))] if late else 0}


def _generator(ids, creds, host, port, connected, go, warmup_s, seconds, window, version, results,
               tls_ca=None) -> None:
    try:
        results.put(("generator", asyncio.run(_generate(ids, creds, host, port, connected, go, warmup_s, seconds,
                                                        window, version, tls_ca))))
    except Exception as exc:  # reported to the parent, which fails the run
        connected.set()
        results.put(("generator", {"error": f"{type(exc).__name__}: {exc}"}))


async def _consume(count, creds, host, port, go, warmup_s, seconds, ready, prefix, tls_ca=None):
    state = {"count": 0, "bad": 0, "lat": []}

    measure_at = stop_at = float("inf")

    def on_message(topic, payload):
        now = time.time()
        if not measure_at <= now < stop_at:
            return
        try:
            ts = json.loads(payload)["ts"]
        except (ValueError, KeyError, TypeError):
            state["bad"] += 1
            return
        state["count"] += 1
        state["lat"].append(int(now * 1000) - ts)

    clients = []
    for i in range(count):
        user, password = creds.get(f"platform-{i}", (None, None))
        c = await Client(f"platform-{i}", version=5, username=user, password=password,
                         on_message=on_message).open(host, port, ssl=_tls(tls_ca))
        await c.subscribe(SHARED_FILTER.format(prefix=prefix) if count > 1 else f"{prefix}/+/up/#", qos=1)
        clients.append(c)
    ready.set()
    measure_at = await _wait_go(go) + warmup_s
    stop_at = measure_at + seconds + 1.0  # a second's grace for the last reports in flight
    await asyncio.sleep(max(0.0, measure_at - time.time()))
    cpu0, wait0 = cpu_s(), runqueue_wait_s()
    await asyncio.sleep(max(0.0, stop_at - time.time()))
    cpu, wait = cpu_s() - cpu0, runqueue_wait_s() - wait0
    for c in clients:
        c.close()
    return {**state, "cpu_s": cpu, "wait_s": wait}


def _consumer(count, creds, host, port, go, warmup_s, seconds, ready, results, prefix="taxi", tls_ca=None) -> None:
    try:
        results.put(("consumer", asyncio.run(_consume(count, creds, host, port, go, warmup_s, seconds, ready,
                                                      prefix, tls_ca))))
    except Exception as exc:
        ready.set()
        results.put(("consumer", {"error": f"{type(exc).__name__}: {exc}"}))


def run_load(n: int, seconds: float = 10.0, *, warmup_s: float = 3.0, generators: int = 1, consumers: int = 2,
             window: int = 20, version: int = 5, broker: Broker | None = None,
             credentials=no_credentials, tls_ca: str | None = None, log=print) -> dict:
    """N terminals at 1 Hz for ``warmup_s + seconds``; rate, latency and CPU per part over ``seconds``.

    ``tls_ca`` (a CA file) connects every client over TLS, as to the shipped broker.

    ``credentials(client_id) -> (username, password)`` is asked for every terminal id and
    every platform consumer id (``platform-0``...): the broker's password file and ACL decide.
    """
    if n < 1 or generators < 1 or consumers < 1:
        raise ValueError("a fleet needs at least one terminal, generator and consumer")
    own = broker is None
    broker = broker or Broker(max_queued_messages=1_000_000, shipped=False).start()
    ids = [f"F{i:05d}" for i in range(n)]
    creds = {cid: credentials(cid) for cid in ids + [f"platform-{i}" for i in range(consumers)]}
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    ready = ctx.Event()
    go = ctx.Value("d", 0.0)
    connected = [ctx.Event() for _ in range(generators)]
    procs = [ctx.Process(target=_consumer, args=(consumers, creds, broker.host, broker.port, go, warmup_s,
                                                  seconds, ready, results, "taxi", tls_ca), daemon=True)]
    launched = time.time()
    try:
        procs[0].start()
        ready.wait(30)
        procs += [ctx.Process(target=_generator, args=(ids[g::generators], creds, broker.host, broker.port,
                                                       connected[g], go, warmup_s, seconds, window, version,
                                                       results, tls_ca), daemon=True) for g in range(generators)]
        for p in procs[1:]:
            p.start()
        for c in connected:
            c.wait(60 + n / 50)
        connect_s = round(time.time() - launched, 1)
        start_at = go.value = time.time() + 0.2
        measure_at, stop_at = start_at + warmup_s, start_at + warmup_s + seconds
        time.sleep(max(0.0, measure_at - time.time()))
        broker_cpu0, broker_wait0 = cpu_s(broker.pid), runqueue_wait_s(broker.pid)
        time.sleep(max(0.0, stop_at - time.time()))
        broker_cpu = cpu_s(broker.pid) - broker_cpu0
        broker_wait = runqueue_wait_s(broker.pid) - broker_wait0
        outcome = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        if own:
            broker.close()
    errors = [o["error"] for _, o in outcome if "error" in o]
    if errors:
        raise RuntimeError("fleet load failed: " + "; ".join(errors))
    gens = [o for kind, o in outcome if kind == "generator"]
    (cons,) = [o for kind, o in outcome if kind == "consumer"]
    lat = sorted(cons["lat"])

    def pct(q: float) -> int | None:
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else None

    report = {"terminals": n, "generators": generators, "consumers": consumers, "seconds": seconds,
              "messages": cons["count"], "rate_per_s": round(cons["count"] / seconds, 1), "expected_per_s": n,
              "latency_ms_p50": pct(0.5), "latency_ms_p99": pct(0.99), "latency_ms_max": lat[-1] if lat else None,
              "pending_at_end": sum(g["pending"] for g in gens),
              "connect_s": connect_s, "generator_behind_p99": max(g["behind_p99"] for g in gens),
              "cpu_pct": {"broker": round(100 * broker_cpu / seconds, 1),
                          "generators": round(100 * sum(g["cpu_s"] for g in gens) / seconds, 1),
                          "consumers": round(100 * cons["cpu_s"] / (seconds + 1.0), 1)},
              # time each part was runnable but waiting for a core, taken by other programs
              "cpu_wait_pct": {"broker": round(100 * broker_wait / seconds, 1),
                               "generators": round(100 * sum(g["wait_s"] for g in gens) / seconds, 1),
                               "consumers": round(100 * cons["wait_s"] / (seconds + 1.0), 1)},
              "loadavg_1min": os.getloadavg()[0]}
    log(json.dumps(report))
    return report


def run_shipped(n: int, seconds: float = 10.0, *, consumers: int = 2, **options) -> dict:
    """``run_load`` against the shipped broker configuration (broker/: TLS, an account per
    terminal and per platform consumer, the ACL): every client uses its own account."""
    ids = [f"F{i:05d}" for i in range(n)]
    platform = tuple(f"platform-{i}" for i in range(consumers))
    with Broker(shipped=True, terminals=ids, platform=platform) as broker:
        report = run_load(n, seconds, consumers=consumers, broker=broker, tls_ca=str(broker.ca_path),
                          credentials=lambda cid: (cid, broker.credentials[cid]), **options)
    report["broker_config"] = "shipped"
    return report


def sustained(report: dict) -> bool:
    """The platform got ≥ 98 % of the fleet's rate with p99 latency under 1 s."""
    return (report["rate_per_s"] >= 0.98 * report["expected_per_s"] and report["latency_ms_p99"] is not None
            and report["latency_ms_p99"] < 1000)
