"""Platform-link room, JT/T links: one TCP (or TLS) connection to a JT/T 808 or 905 platform.

``JttLink`` is the publisher of one outbox view (``Outbox(..., link=name)``): the loop
calls ``publish`` with a stored message; the link maps it (``uplink.py``), sends it
with the session's next serial number and remembers serial -> outbox message. The
platform's general reply 0x8001 for that serial becomes a ``puback`` event for the
outbox (the same exactly-once rule as MQTT's PUBACK: the row goes only then). Backlog
location reports (``"resent": true``) are gathered into 0x0704 type 1 (808) / 0x0203
(905) blind-area messages; ``flush`` sends a partial batch at the end of each pump.

A reader thread connects with jittered exponential backoff, runs the session (808:
registration once, the auth code kept in ``auth_file``; authentication at every
connect; 905: online at connect), sends heartbeats (session timers on the monotonic
clock; event times from the clock it is given), and puts events on the loop's
queue, each with ``data["link"]`` = the link's name:

  link        {"up": bool, "link", "reason"}   authenticated / connection lost
  puback      {"mid", "ok", "link"}            the platform's 0x8001 for a message
  jt_command  {"link", "protocol", "message"}  a platform command (JSON as the codec gives it)

Nothing here touches the terminal's state; ``reply`` and ``send_message`` let the
loop answer a command on the connection it came on.
"""

from __future__ import annotations

import json
import logging
import os
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

from drivers.event import Event
from terminal.link import jtt
from terminal.link.jtt import uplink
from terminal.link.jtt.session import ONLINE, Session
from terminal.link.jtt.session905 import Session905

log = logging.getLogger(__name__)

RESULT_OK, RESULT_NOT_SUPPORTED, RESULT_ALARM_CONFIRMED = 0, 3, 4
DEFAULTS = {"host": "127.0.0.1", "port": 7611, "tls": False, "ca_file": "", "server_name": "",
            "phone": "", "isu": "", "proto_ver": -1, "heartbeat_s": 60, "reply_timeout_s": 10,
            "reconnect_min_s": 1.0, "reconnect_max_s": 60.0, "auth_file": "", "window": 1000,
            "province": 44, "city": 100, "manufacture": "TAXIT", "model": "TT-1", "dev_id": "",
            "plate_color": 1, "imei": "", "sw_version": ""}


def link_config(protocol: str, table: dict, terminal: dict) -> dict:
    """A link's settings: ``table`` (``[jt808]`` / ``[jt905]``) over the defaults; ids from ``[terminal]``."""
    unknown = sorted(set(table) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown key {protocol}.{unknown[0]}; known: {', '.join(DEFAULTS)}")
    cfg = dict(DEFAULTS, **table)
    for key, value in table.items():
        default = DEFAULTS[key]
        kind = (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kind):
            raise ValueError(f"{protocol}.{key} must be {type(default).__name__}, got {value!r}")
    digits = "".join(ch for ch in str(terminal.get("id", "")) if ch.isdigit())
    if protocol == "jt808":
        width = 20 if cfg["proto_ver"] >= 0 else 12
        cfg["phone"] = (cfg["phone"] or digits).zfill(width)[-width:]
        if not cfg["phone"].isdigit():
            raise ValueError(f"{protocol}.phone must be digits, got {cfg['phone']!r}")
    else:
        cfg["isu"] = (cfg["isu"] or digits).zfill(12)[-12:]
        if not cfg["isu"].isdigit():
            raise ValueError(f"{protocol}.isu must be 12 digits, got {cfg['isu']!r}")
    if not 1 <= cfg["port"] <= 65535 or not 5 <= cfg["heartbeat_s"] <= 3600 or cfg["reconnect_min_s"] <= 0 \
            or cfg["reconnect_max_s"] < cfg["reconnect_min_s"] or not 1 <= cfg["window"] <= 65000:
        raise ValueError(f"[{protocol}] port, heartbeat_s (5-3600), reconnect_*_s or window out of range")
    return cfg


class JttLink:
    def __init__(self, name: str, protocol: str, cfg: dict, events, clock: Callable[[], int], *,
                 vehicle: uplink.Vehicle | None = None) -> None:
        if protocol not in jtt.PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}")
        self.name, self.protocol, self.cfg = name, protocol, dict(cfg)
        self._events, self._clock = events, clock
        self.vehicle = vehicle or uplink.Vehicle()
        self._map = uplink.to_905 if protocol == "jt905" else uplink.to_808
        self._auth_path = Path(cfg["auth_file"]) if cfg.get("auth_file") else None
        self.session = self._new_session()
        self._lock = threading.RLock()
        self._sock: socket.socket | None = None
        self._mids: dict[int, list[int]] = {}     # msg_sn -> outbox message ids it carries
        self._batch: list[tuple[int, dict]] = []  # (mid, location body) waiting for a blind-area message
        self._next_mid = 1
        self._stop = threading.Event()
        self._drop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timers: list[tuple[int, dict]] = []  # (due ms, jt_command data) the loop asked for
        self.counters = {"connects": 0, "sent": 0, "acked": 0, "not_carried": 0, "not_supported": 0, "batches": 0}
        self.last_error = ""

    # -- the session ------------------------------------------------------------------------------
    def _new_session(self):
        cfg = self.cfg
        if self.protocol == "jt905":
            return Session905(cfg["isu"], heartbeat_s=cfg["heartbeat_s"], reply_timeout_s=cfg["reply_timeout_s"])
        registration = {"province": cfg["province"], "city": cfg["city"], "manufacture": cfg["manufacture"],
                        "model": cfg["model"], "dev_id": cfg["dev_id"] or cfg["phone"][-7:],
                        "color": cfg["plate_color"], "license_number": self.vehicle.plate or cfg["phone"]}
        return Session(cfg["phone"], registration, auth_code=self._load_auth(),
                       proto_ver=cfg["proto_ver"] if cfg["proto_ver"] >= 0 else None, imei=cfg["imei"],
                       sw_version=cfg["sw_version"], heartbeat_s=cfg["heartbeat_s"],
                       reply_timeout_s=cfg["reply_timeout_s"])

    def _load_auth(self) -> str | None:
        if self._auth_path is None or not self._auth_path.exists():
            return None
        code = self._auth_path.read_text(encoding="utf-8").strip()
        return code or None

    def _store_auth(self, code: str | None) -> None:
        """Durably, before authenticating with it: registration happens once per terminal."""
        if self._auth_path is None:
            return
        if code is None:
            self._auth_path.unlink(missing_ok=True)
            return
        tmp = self._auth_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(code)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._auth_path)

    @property
    def connected(self) -> bool:
        return self._sock is not None and self.session.state == ONLINE

    # -- the loop's side ----------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes) -> int | None:
        message = json.loads(payload)
        with self._lock:
            if not self.connected:
                return None
            mid = self._next_mid
            self._next_mid += 1
            pieces = self._map(message, self.vehicle)
            if not pieces:
                # This protocol has no message for it: done for this link (docs/jtt-mapping.md).
                self.counters["not_carried"] += 1
                self._event("puback", {"mid": mid, "ok": True})
                return mid
            if message.get("type") == "location" and message.get("resent"):
                self._batch.append((mid, pieces[0][1]))
                if len(self._batch) >= uplink.BATCH_MAX[self.protocol]:
                    self._flush_locked()
                return mid
            for msg_id, body in pieces:
                if not self._send_tracked(msg_id, body, [mid]):
                    return None
            return mid

    def flush(self) -> None:
        """Send the blind-area batch gathered so far (the outbox calls this at the end of a pump)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._batch or not self.connected:
            return
        batch, self._batch = self._batch, []
        msg_id, body = uplink.batch(self.protocol, [b for _, b in batch])
        self.counters["batches"] += 1
        self._send_tracked(msg_id, body, [m for m, _ in batch])

    def _send_tracked(self, msg_id: int, body: dict, mids: list[int]) -> bool:
        message = self.session.send(msg_id, body, _now())
        sn = message["header"]["msg_sn"]
        self._mids[sn] = mids
        if self.protocol == "jt808":
            frames = jtt.split(message)
            for _ in frames[1:]:
                self.session.next_sn()     # the packages use the serials after the first
        else:
            frames = [jtt.encode(message)]
        self.counters["sent"] += len(mids)
        return self._write(b"".join(frames))

    def reply(self, request: dict, result: int) -> None:
        """The terminal's general reply (0x0001) to a platform command, on the current connection."""
        with self._lock:
            if self._sock is not None:
                self._write(jtt.encode(self.session.general_reply(request, result)))

    def send_message(self, msg_id: int, body: dict) -> None:
        """An answer that is not stored (0x0201 location, 0x0104 parameters): lost with the connection."""
        with self._lock:
            if self._sock is not None:
                if self.protocol != "jt808":
                    self._write(jtt.encode(self.session.message(msg_id, body)))
                    return
                frames = jtt.split(self.session.message(msg_id, body))
                for _ in frames[1:]:
                    self.session.next_sn()     # a long answer's packages use the serials after the first
                self._write(b"".join(frames))

    def after(self, delay_ms: int, data: dict) -> None:
        """Put a ``jt_command`` event with ``data`` on the loop's queue in ``delay_ms`` (temporary tracking's end)."""
        with self._lock:
            self._timers.append((self._clock() + delay_ms, data))

    def set_server(self, host: str | None = None, port: int | None = None) -> None:
        """A new server from the platform (0x8103 0x0013 / 0x0018): used from the next connection."""
        with self._lock:
            if host:
                self.cfg["host"] = host
            if port:
                self.cfg["port"] = port

    def _write(self, data: bytes) -> bool:
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.sendall(data)
            return True
        except OSError as exc:
            self.last_error = f"send: {exc}"
            self._drop.set()
            return False

    def _event(self, kind: str, data: dict) -> None:
        self._events.put(Event(kind, self._clock(), dict(data, link=self.name)))

    def status(self) -> dict:
        return {"link": self.name, "protocol": self.protocol, "online": self.connected,
                "server": f"{self.cfg['host']}:{self.cfg['port']}", "last_error": self.last_error, **self.counters}

    # -- the reader thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"link-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        self._stop.set()
        self._drop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                sock = self._connect()
            except (OSError, ssl.SSLError) as exc:
                self.last_error = f"connect: {exc}"
                failures += 1
                self._stop.wait(self._backoff(failures))
                continue
            online = self._serve(sock)
            failures = 0 if online else failures + 1
            if not self._stop.is_set():
                self._stop.wait(self._backoff(max(failures, 1)))

    def _backoff(self, failures: int) -> float:
        """Exponential from reconnect_min_s to reconnect_max_s, with full jitter in its upper half."""
        cap = min(self.cfg["reconnect_max_s"], self.cfg["reconnect_min_s"] * 2 ** min(failures - 1, 20))
        return cap / 2 + random.random() * cap / 2

    def _connect(self) -> socket.socket:
        cfg = self.cfg
        sock = socket.create_connection((cfg["host"], cfg["port"]), timeout=cfg["reply_timeout_s"])
        if cfg["tls"]:
            context = ssl.create_default_context(cafile=cfg["ca_file"] or None)
            sock = context.wrap_socket(sock, server_hostname=cfg["server_name"] or cfg["host"])
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # Reads wait in select(); a write the platform does not take within the reply timeout
        # drops the connection instead of holding the loop (and the link's lock) forever.
        sock.settimeout(cfg["reply_timeout_s"])
        return sock

    def _serve(self, sock: socket.socket) -> bool:
        """One connection, until it fails or the session asks for a reconnect; True if it got online."""
        decoder, reassembler = jtt.StreamDecoder(), jtt.Reassembler()
        self._drop.clear()
        with self._lock:
            self._sock = sock
            self.counters["connects"] += 1
            reason = self._carry_out(self.session.connected(_now()))
        was_online = self.connected
        try:
            while reason is None and not self._drop.is_set() and not self._stop.is_set():
                pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0   # TLS bytes already read
                readable = pending or select.select([sock], [], [], 0.05)[0]
                if readable:
                    data = sock.recv(65536)
                    if not data:
                        reason = "closed by the platform"
                        break
                    reason = self._received(decoder, reassembler, data)
                with self._lock:
                    reason = reason or self._carry_out(self.session.tick(_now()))
                    was_online = was_online or self.connected
                self._due_timers()
        except (OSError, ssl.SSLError) as exc:
            reason = f"socket: {exc}"
        finally:
            with self._lock:
                self._sock = None
                self.session.disconnected()
                self._mids.clear()
                self._batch.clear()
            try:
                sock.close()
            except OSError:
                pass
        reason = reason or self.last_error or "stopped"
        self.last_error = reason
        if was_online:
            self._event("link", {"up": False, "reason": reason})
        return was_online

    def _received(self, decoder, reassembler, data: bytes) -> str | None:
        for item in decoder.feed(data):
            if isinstance(item, jtt.JttError):
                log.warning("%s: skipped a bad frame: %s", self.name, item)
                continue
            try:
                message = jtt.decode_payload(item, self.protocol)
            except jtt.JttError as exc:
                log.warning("%s: undecodable message: %s", self.name, exc)
                continue
            if self.protocol == "jt808":
                message = reassembler.add(message)
                if message is None:
                    continue
            with self._lock:
                reason = self._carry_out(self.session.receive(message, _now()))
            if reason:
                return reason
        return None

    def _carry_out(self, actions: list) -> str | None:
        """The session's actions, under the lock; returns a reason to reconnect, if one was asked for."""
        for action in actions:
            kind = action[0]
            if kind == "send":
                self._write(jtt.encode(action[1]))
            elif kind == "auth_code":
                self._store_auth(action[1])
            elif kind == "online":
                self._event("link", {"up": True, "receive_maximum": self.cfg["window"]})
            elif kind == "acked":
                _, sn, _msg_id, result = action
                mids = self._mids.pop(sn, [])
                if result == RESULT_NOT_SUPPORTED:
                    # The platform will never take it: done for this link, and counted.
                    self.counters["not_supported"] += len(mids)
                ok = result in (RESULT_OK, RESULT_ALARM_CONFIRMED, RESULT_NOT_SUPPORTED)
                self.counters["acked"] += len(mids) if ok else 0
                for mid in mids:
                    self._event("puback", {"mid": mid, "ok": ok})
            elif kind == "command":
                self._event("jt_command", {"protocol": self.protocol, "message": action[1]})
            elif kind == "register_failed":
                self.last_error = f"registration refused (result {action[1]})"
                return self.last_error
            elif kind == "reconnect":
                return action[1]
        return None

    def _due_timers(self) -> None:
        now = self._clock()
        with self._lock:
            due = [data for at, data in self._timers if at <= now]
            self._timers = [(at, data) for at, data in self._timers if at > now]
        for data in due:
            self._event("jt_command", dict(data, protocol=self.protocol))


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _now() -> int:
    """The session's timers (heartbeat, reply timeout) run on the monotonic clock: a simulated
    or corrected wall clock must not make the link think the platform went silent."""
    return time.monotonic_ns() // 1_000_000
