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
  jt_command  {"link", "protocol", "message", "counted"}  a platform command (JSON as the codec
              gives it); the loop calls ``command_done`` after it: beyond ``COMMANDS_WAITING``
              not done, further commands are answered "failed" by the link itself

Nothing here touches the terminal's state; ``reply`` and ``send_message`` let the
loop answer a command on the connection it came on. Only the link's own thread writes to
the socket: what the loop sends is queued and the thread woken, so a platform that stops
reading delays its own link only (``OUT_HIGH`` queued bytes make ``publish`` say "not now").
"""

from __future__ import annotations

import json
import logging
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
from terminal.link.jtt_link import dial
from terminal.link.jtt_link.dial import monotonic_ms as _now
from terminal.link.jtt_link.dial import wall_ms  # noqa: F401 - re-exported
from terminal.link.jtt_link.inbound import Inbound
from terminal.link.jtt_link.settings import link_config, load_auth, store_auth  # noqa: F401 - link_config: re-exported
from terminal.link.jtt_link.timers import LinkTimers, Wakeup

log = logging.getLogger(__name__)

RESULT_OK, RESULT_FAILED, RESULT_MESSAGE_ERROR, RESULT_NOT_SUPPORTED, RESULT_ALARM_CONFIRMED = 0, 1, 2, 3, 4
OUT_HIGH = 256 * 1024     # bytes queued for the platform above which the outbox is asked to wait
OUT_LIMIT = 4 * OUT_HIGH  # above which answers to a platform that does not read are dropped (counted)
MAX_IDLE_S = 1.0          # the longest the link sleeps with nothing due
COMMANDS_WAITING = 64     # platform commands handed to the loop and not yet carried out
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
        self._timers = LinkTimers(clock)  # jt_command data the loop asked to have back later
        self._deregistered = threading.Event()
        # Only the link's own thread writes to the socket: the loop appends to ``_out`` and wakes it, so a
        # platform that stops reading holds up its own link, never the loop (nor the other links).
        self._out = bytearray()
        self._wakeup = Wakeup()
        self.counters = dict.fromkeys(("connects", "sent", "acked", "not_carried", "not_supported", "batches",
                                       "bad_frames", "bad_messages", "junk_bytes", "faults", "commands_refused",
                                       "answers_dropped"), 0)
        self._commands_waiting = 0
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
        return load_auth(self._auth_path)

    def _store_auth(self, code: str | None) -> None:
        """Durably, before authenticating with it: registration happens once per terminal."""
        store_auth(self._auth_path, code)

    @property
    def connected(self) -> bool:
        return self._sock is not None and self.session.state == ONLINE

    # -- the loop's side ----------------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes) -> int | None:
        message = json.loads(payload)
        with self._lock:
            if not self.connected or len(self._out) >= OUT_HIGH:
                return None          # not now: the outbox offers it again at a later pump
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
                self._write(jtt.encode(self.session.general_reply(request, result)), essential=False)

    def send_message(self, msg_id: int, body: dict) -> None:
        """An answer that is not stored (0x0201 location, 0x0104 parameters): lost with the connection."""
        with self._lock:
            if self._sock is not None:
                if self.protocol != "jt808":
                    self._write(jtt.encode(self.session.message(msg_id, body)), essential=False)
                    return
                frames = jtt.split(self.session.message(msg_id, body))
                for _ in frames[1:]:
                    self.session.next_sn()     # a long answer's packages use the serials after the first
                self._write(b"".join(frames), essential=False)

    def deregister(self, timeout_s: float = 10.0) -> bool:
        """JT/T 808 deregistration (0x0003) once online: True when the platform accepted it; the auth
        code is then deleted and the link stops (it would register again). ``taxiterm jt deregister``."""
        deadline = time.monotonic() + timeout_s
        while not self.connected:
            if time.monotonic() > deadline or self._stop.is_set():
                return False
            time.sleep(0.02)
        with self._lock:
            self._carry_out([self.session.deregister(_now())])
        return self._deregistered.wait(max(0.0, deadline - time.monotonic()))

    def after(self, delay_ms: int, data: dict, key: str | None = None) -> None:
        """A ``jt_command`` event with ``data`` in ``delay_ms`` (tracking's end); one timer per ``key``."""
        self._timers.add(delay_ms, data, key)
        self._wake()

    def set_server(self, host: str | None = None, port: int | None = None) -> None:
        """A new server from the platform (0x8103 0x0013 / 0x0018): used from the next connection."""
        with self._lock:
            if host:
                self.cfg["host"] = host
            if port:
                self.cfg["port"] = port

    def command_done(self) -> None:
        """The loop carried out a command this link handed it (``data["counted"]``)."""
        with self._lock:
            self._commands_waiting = max(0, self._commands_waiting - 1)

    def _write(self, data: bytes, essential: bool = True) -> bool:
        """Queue bytes for the connection (under the lock); the link's thread sends them. An answer
        (not ``essential``) to a platform that is not reading is dropped rather than queued without end."""
        if self._sock is None:
            return False
        if not essential and len(self._out) >= OUT_LIMIT:
            self.counters["answers_dropped"] += 1
            return False
        self._out += data
        self._wake()
        return True

    def _wake(self) -> None:
        self._wakeup.set()

    def _send_out(self, sock) -> None:
        """On the link's thread: what was queued, outside the lock. A platform that takes nothing
        for ``reply_timeout_s`` fails the send (the socket's timeout) and the connection is dropped."""
        with self._lock:
            data = bytes(self._out)
            self._out.clear()
        if data:
            sock.sendall(data)

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
        self._wake()
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
            try:
                online = self._serve(sock)
            except Exception as exc:      # as in _serve, for what fails before its loop
                self.counters["faults"] += 1
                self.last_error = f"fault: {type(exc).__name__}: {exc}"[:200]
                log.exception("%s: fault while serving the connection", self.name)
                online = False
            failures = 0 if online else failures + 1
            if not self._stop.is_set():
                self._stop.wait(self._backoff(max(failures, 1)))

    def _backoff(self, failures: int) -> float:
        return dial.backoff(self.cfg, failures)

    def _connect(self) -> socket.socket:    # a method, so that tests can stand in for the network
        return dial.connect(self.cfg)

    def _serve(self, sock: socket.socket) -> bool:
        """One connection, until it fails or the session asks for a reconnect; True if it got online."""
        inbound = Inbound(self.name, self.protocol, self.counters)
        self._drop.clear()
        with self._lock:
            self._sock = sock
            self.counters["connects"] += 1
            reason = self._carry_out(self.session.connected(_now()))
        was_online = self.connected
        try:
            while reason is None and not self._drop.is_set() and not self._stop.is_set():
                self._send_out(sock)
                pending = sock.pending() if isinstance(sock, ssl.SSLSocket) else 0   # TLS bytes already read
                ready = [sock] if pending else select.select([sock, self._wakeup], [], [], self._idle_s())[0]
                if self._wakeup in ready:
                    self._wakeup.clear()
                if sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        reason = "closed by the platform"
                        break
                    reason = self._received(inbound, data)
                with self._lock:
                    reason = reason or self._carry_out(self.session.tick(_now()))
                    was_online = was_online or self.connected
                self._due_timers()
        except (OSError, ssl.SSLError) as exc:
            reason = f"socket: {exc}"
        except Exception as exc:      # a defect some input reached: counted, and the connection made again
            self.counters["faults"] += 1
            log.exception("%s: fault while serving the connection", self.name)
            reason = f"fault: {type(exc).__name__}: {exc}"[:200]
        finally:
            with self._lock:
                self._sock = None
                self.session.disconnected()
                self._mids.clear()
                self._batch.clear()
                self._out.clear()
            try:
                sock.close()
            except OSError:
                pass
        reason = reason or self.last_error or "stopped"
        self.last_error = reason
        if was_online:
            self._event("link", {"up": False, "reason": reason})
        return was_online

    def _received(self, inbound: Inbound, data: bytes) -> str | None:
        for kind, item in inbound.feed(data, _now()):
            if kind == "message_error":
                self.reply({"header": item}, RESULT_MESSAGE_ERROR)
                continue
            with self._lock:
                reason = self._carry_out(self.session.receive(item, _now()))
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
                if self._commands_waiting >= COMMANDS_WAITING:
                    # The loop has not caught up: the platform hears "failed" now, not much later.
                    self.counters["commands_refused"] += 1
                    self._write(jtt.encode(self.session.general_reply(action[1], RESULT_FAILED)), essential=False)
                    continue
                self._commands_waiting += 1
                self._event("jt_command", {"protocol": self.protocol, "message": action[1], "counted": True})
            elif kind == "deregistered":
                self._deregistered.set()
                self._stop.set()          # not connected again: that would register anew
                return "deregistered"
            elif kind == "register_failed":
                self.last_error = f"registration refused (result {action[1]})"
                return self.last_error
            elif kind == "reconnect":
                return action[1]
        return None

    def _idle_s(self) -> float:
        """How long the link may sleep: until the session's or a timer's next moment. A write or
        a new timer wakes it sooner; MAX_IDLE_S bounds what a change made under it may wait."""
        with self._lock:
            due = self.session.next_due_ms()
        timer = self._timers.next_in_s()
        return max(0.0, min(MAX_IDLE_S, MAX_IDLE_S if due is None else (due - _now()) / 1000,
                            MAX_IDLE_S if timer is None else timer))

    def _due_timers(self) -> None:
        for data in self._timers.due():
            self._event("jt_command", dict(data, protocol=self.protocol))

