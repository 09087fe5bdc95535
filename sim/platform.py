"""Platform emulator: the supervision / dispatch centre on the other side of the broker.

The far end of the house's MQTT line, for tests and the simulator. ``PlatformEmulator``
is a paho client that subscribes to ``{prefix}/+/up/#`` and ``{prefix}/+/status``,
checks every message against its schema in terminal/schemas (counting the invalid
ones), keeps a transcript (in memory and, if asked, as JSONL with receive times) and
sends every downlink command of docs/mqtt.md, signed with the platform's Ed25519 key
(by default ``SIM_PLATFORM_KEY``, whose public half ``sim.provision`` installs in every
simulated terminal; never a real platform's key).

    with PlatformEmulator(broker.host, broker.port, transcript="out/platform.jsonl") as centre:
        cmd_id = centre.order_offer("T0001", "95128-0001", address="延安路 258 号")
        ack = centre.wait_ack(cmd_id)
        alarm = centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "pre_alarm")
"""

from __future__ import annotations

import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.link import downlink as commands_in
from terminal.link import schemas

# The simulator's platform key: derived from a public text, so anyone can sign with it.
# Only simulated and test terminals trust it (sim/provision.py installs its public half).
SIM_PLATFORM_KEY = Ed25519PrivateKey.from_private_bytes(
    hashlib.sha256(b"taxiterm simulator platform key - public, for tests only").digest())


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class PlatformError(RuntimeError):
    """The emulator could not reach the broker, or an awaited message did not come."""


class Received:
    """One message the platform received."""

    __slots__ = ("rx_ms", "topic", "terminal_id", "kind", "payload", "valid", "errors", "retained")

    def __init__(self, rx_ms, topic, terminal_id, kind, payload, valid, errors, retained) -> None:
        self.rx_ms = rx_ms
        self.topic = topic
        self.terminal_id = terminal_id
        self.kind = kind          # uplink type, or "status"
        self.payload = payload    # the decoded JSON, or the raw text when it was not JSON
        self.valid = valid
        self.errors = errors
        self.retained = retained

    def __repr__(self) -> str:
        return f"Received({self.topic!r}, valid={self.valid}, {self.payload!r})"


class PlatformEmulator:
    def __init__(self, host: str, port: int, *, prefix: str = "taxi", client_id: str = "platform-emulator",
                 key: Ed25519PrivateKey | None = SIM_PLATFORM_KEY, transcript: str | Path | None = None,
                 clock: Callable[[], int] = wall_ms, username: str | None = None, password: str | None = None,
                 tls_ca: str | Path | None = None) -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.key = key
        self.clock = clock
        self.messages: list[Received] = []
        self.invalid = 0
        self.duplicates = 0
        self._seen: set[tuple[str, int]] = set()
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._ids = itertools.count(1)
        self._schema_names = frozenset(schemas.names())   # listed once, not a directory read per message
        self._transcript = open(transcript, "a", encoding="utf-8") if transcript else None
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                   protocol=mqtt.MQTTv5)
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=1)
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls_ca is not None:
            self._client.tls_set(ca_certs=str(tls_ca))
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # --- life -------------------------------------------------------------------------------

    def start(self, timeout_s: float = 5.0) -> PlatformEmulator:
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._subscribed.wait(timeout_s):
            self.stop()
            raise PlatformError(f"no subscription on {self.host}:{self.port} within {timeout_s}s")
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        if self._transcript:
            self._transcript.close()
            self._transcript = None

    def __enter__(self) -> PlatformEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- receiving --------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            return
        # paho leaves Nagle on; with it, a command that follows an unacknowledged write
        # waits for the peer's delayed ACK (~40 ms on Linux) before it leaves the socket.
        sock = client.socket()
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Subscribed on every connect: a restarted broker without persistence forgets us.
        client.subscribe([(f"{self.prefix}/+/up/#", 1), (f"{self.prefix}/+/status", 1)])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._subscribed.set()

    def _on_message(self, client, userdata, msg) -> None:
        rx_ms = self.clock()
        # The prefix may span several topic levels; what follows it is {tid}/status or {tid}/up/{type}.
        parts = msg.topic[len(self.prefix) + 1:].split("/")
        tid = parts[0]
        if len(parts) == 2 and parts[1] == "status":
            kind, schema = "status", "status"
        elif len(parts) == 3 and parts[1] == "up":
            kind, schema = parts[2], schemas.uplink_schema(parts[2])
        else:
            kind, schema = "?", None
        try:
            payload = json.loads(msg.payload.decode("utf-8"))
            decoded = True
        except (UnicodeDecodeError, json.JSONDecodeError):
            payload, decoded = msg.payload.decode("utf-8", errors="replace"), False
        if not decoded:
            errors = ["payload is not UTF-8 JSON"]
        elif schema is None or schema not in self._schema_names:
            errors = [f"no schema for topic {msg.topic}"]
        else:
            errors = schemas.errors(schema, payload)
        received = Received(rx_ms, msg.topic, tid, kind, payload, not errors, errors, bool(msg.retain))
        with self._cond:
            if errors:
                self.invalid += 1
            if kind != "status" and decoded and isinstance(payload, dict) and isinstance(payload.get("seq"), int):
                if (tid, payload["seq"]) in self._seen:
                    self.duplicates += 1
                self._seen.add((tid, payload["seq"]))
            self.messages.append(received)
            self._write({"dir": "in", "rx_ms": rx_ms, "topic": msg.topic, "retained": received.retained,
                         "valid": received.valid, "errors": errors, "payload": payload})
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Received], bool], timeout_s: float = 5.0,
                 after: int = 0) -> Received:
        """The first message (from index ``after`` on) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for m in self.messages[after:]:
                    if predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PlatformError(f"no matching message within {timeout_s}s; have {len(self.messages)}")
                self._cond.wait(left)

    def wait_ack(self, cmd_id: str, timeout_s: float = 5.0) -> dict:
        """The acknowledgement payload of command ``cmd_id``."""
        return self.wait_for(lambda m: m.kind == "ack" and isinstance(m.payload, dict)
                             and m.payload.get("cmd_id") == cmd_id, timeout_s).payload

    def received(self, kind: str | None = None, terminal_id: str | None = None) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if (kind is None or m.kind == kind)
                    and (terminal_id is None or m.terminal_id == terminal_id)]

    def status(self, terminal_id: str) -> dict | None:
        """The last status the terminal published (its retained status or its last will)."""
        found = self.received("status", terminal_id)
        return found[-1].payload if found else None

    # --- sending -----------------------------------------------------------------------------

    def send(self, terminal_id: str, command: str, body: dict | None = None, *, cmd_id: str | None = None,
             raw: bytes | None = None, sign: bool = True, timeout_s: float = 5.0, ts: int | None = None,
             retain: bool = False) -> str:
        """Publish one downlink command (QoS 1, not retained unless ``retain``); returns its cmd_id.

        ``raw`` publishes those bytes as they are (for malformed-input tests); otherwise the
        body gets ``cmd_id`` and ``ts`` (the emulator's clock unless given) and, when the
        emulator holds a key and ``sign``, the platform's signature ``sig``.
        """
        topic = f"{self.prefix}/{terminal_id}/down/{command}"
        cmd_id = cmd_id or f"p{next(self._ids)}"
        if raw is not None:
            data, logged = raw, raw.decode("utf-8", errors="replace")
        else:
            message = {"cmd_id": cmd_id, "ts": self.clock() if ts is None else ts, **(body or {})}
            if self.key is not None and sign:
                message = commands_in.sign(topic, message, self.key)
            data, logged = json.dumps(message, ensure_ascii=False).encode("utf-8"), message
        info = self._client.publish(topic, data, qos=1, retain=retain)
        info.wait_for_publish(timeout_s)
        with self._cond:
            self._write({"dir": "out", "tx_ms": self.clock(), "topic": topic, "payload": logged})
        return cmd_id

    def order_offer(self, terminal_id: str, order_id: str, *, order_type: str = "immediate",
                    pickup_ms: int | None = None, address: str = "候车点", latitude: int | None = None,
                    longitude: int | None = None, text: str = "", answer_s: int | None = None, **kw) -> str:
        pickup: dict = {"address": address}
        if latitude is not None:
            pickup.update(latitude=latitude, longitude=longitude)
        body = {"order_id": order_id, "order_type": order_type,
                "pickup_ms": pickup_ms if pickup_ms is not None else self.clock(), "pickup": pickup, "text": text}
        if answer_s is not None:
            body["answer_s"] = answer_s
        return self.send(terminal_id, "order_offer", body, **kw)

    def order_cancel(self, terminal_id: str, order_id: str, reason: str = "", **kw) -> str:
        return self.send(terminal_id, "order_cancel", {"order_id": order_id, "reason": reason}, **kw)

    def alarm_confirm(self, terminal_id: str, alarm_id: str | None = None, **kw) -> str:
        return self.send(terminal_id, "alarm_confirm", {} if alarm_id is None else {"alarm_id": alarm_id}, **kw)

    def alarm_release(self, terminal_id: str, alarm_id: str | None = None, reason: str = "", **kw) -> str:
        body = {"reason": reason} if alarm_id is None else {"alarm_id": alarm_id, "reason": reason}
        return self.send(terminal_id, "alarm_release", body, **kw)

    def params(self, terminal_id: str, params: dict, **kw) -> str:
        return self.send(terminal_id, "params", {"params": params}, **kw)

    def notice(self, terminal_id: str, notice_id: str, text: str, priority: str = "normal", **kw) -> str:
        return self.send(terminal_id, "notice", {"notice_id": notice_id, "text": text, "priority": priority}, **kw)

    def time_sync(self, terminal_id: str, utc_ms: int | None = None, **kw) -> str:
        return self.send(terminal_id, "time_sync", {"utc_ms": utc_ms if utc_ms is not None else self.clock()}, **kw)

    # --- transcript ----------------------------------------------------------------------------

    def _write(self, entry: dict) -> None:
        if self._transcript:
            self._transcript.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._transcript.flush()
