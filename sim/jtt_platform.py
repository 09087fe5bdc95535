"""JT/T platform emulator: a supervision centre speaking JT/T 808 or JT/T 905 over TCP.

The far end of a terminal's JT/T link, for tests, benchmarks and ``taxiterm sim
--link jt808|jt905``. A TCP server (one thread per connection) that registers
terminals (0x0100 -> 0x8100 with an auth code), checks their authentication (0x0102),
answers every terminal message with the general reply 0x8001 by serial number (808
packages are reassembled first and answered once, by the first package's serial),
sends commands (``command``), and records everything it received as JSON in the field
names of EMQX's JT/T 808 gateway (``{"rx_ms", "header", "body"}``; also as JSONL when
given a transcript path). Batch (0x0704) and supplement (0x0203) items are also
recorded one by one in ``locations()``.

Knobs for tests: ``acking`` (False: the platform stays silent, nothing is
acknowledged), ``drop()`` (close every connection: an outage), ``refuse`` (accept
and close at once), ``auth_ok`` (refuse authentication).
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

from terminal.link import jtt

REPLY = 0x8001


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class JttPlatform:
    def __init__(self, protocol: str = "jt808", *, host: str = "127.0.0.1", port: int = 0,
                 transcript: str | Path | None = None, clock: Callable[[], int] = wall_ms,
                 tls: ssl.SSLContext | None = None) -> None:
        self.protocol = protocol
        self._tls = tls                  # a server-side context: the platform speaks TLS
        self.clock = clock
        self._server = socket.create_server((host, port))
        self.host, self.port = self._server.getsockname()[:2]
        self._transcript = open(transcript, "a", encoding="utf-8") if transcript else None
        self._lock = threading.Condition()
        self._conns: list[socket.socket] = []
        self._sn = 0
        self._stopping = False
        self.received: list[dict] = []
        self.auth_codes: dict[str, str] = {}     # terminal id -> code handed out
        self.registrations = 0
        self.deregistrations = 0
        self.authentications = 0
        self.connections = 0
        self.acking = True
        self.refuse = False
        self.auth_ok = True
        self._authenticated_conns = 0
        self._terminal_of: dict = {}
        self._versions: dict[str, int] = {}     # terminal id -> 808-2019 protocol version it speaks
        self._thread = threading.Thread(target=self._accept, name=f"{protocol}-platform", daemon=True)

    def start(self) -> JttPlatform:
        self._thread.start()
        return self

    def __enter__(self) -> JttPlatform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping = True
        try:
            self._server.close()
        except OSError:
            pass
        self.drop()
        if self._transcript is not None:
            self._transcript.close()
            self._transcript = None

    def drop(self) -> None:
        """Close every terminal connection (the network goes away for a moment)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    @property
    def online(self) -> int:
        with self._lock:
            return len(self._conns)

    # -- what it received ----------------------------------------------------------------------------
    def messages(self, msg_id: int | None = None) -> list[dict]:
        with self._lock:
            return [m for m in self.received if msg_id is None or m["header"]["msg_id"] == msg_id]

    def locations(self) -> list[dict]:
        """Every location received: live 0x0200 and each item of 0x0704 / 0x0203 (``resent`` marks those)."""
        out = []
        for m in self.messages():
            mid = m["header"]["msg_id"]
            if mid == 0x0200:
                out.append(dict(m["body"], resent=False, rx_ms=m["rx_ms"]))
            elif mid in (0x0704, 0x0203):
                out += [dict(item, resent=True, rx_ms=m["rx_ms"]) for item in m["body"]["location"]]
        return out

    def taxi_data(self) -> list[dict]:
        """Our JSON records carried by 808 0x0900 (type 0xF0)."""
        return [json.loads(base64.b64decode(m["body"]["data"])) for m in self.messages(0x0900)
                if m["body"].get("type") == 0xF0]

    def wait_for(self, predicate: Callable[[dict], bool], timeout_s: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            seen = 0
            while True:
                for m in self.received[seen:]:
                    if predicate(m):
                        return m
                seen = len(self.received)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.protocol} platform: awaited message did not come")
                self._lock.wait(left)

    def wait_online(self, timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._conns or self._authenticated_conns == 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.protocol} platform: no terminal online")
                self._lock.wait(left)

    # -- commands -------------------------------------------------------------------------------------
    def command(self, msg_id: int, body: dict | None = None, *, terminal: str | None = None) -> int:
        """Send a command to the (last) connected terminal; returns its serial (the 0x0001 answers it)."""
        with self._lock:
            if not self._conns:
                raise ConnectionError(f"{self.protocol} platform: no terminal connected")
            conn = self._conns[-1]
            term = terminal or self._terminal_of.get(conn, "0")
        sn = self._next_sn()
        conn.sendall(jtt.encode({"header": self._header(msg_id, term, sn), "body": body or {}}))
        return sn

    def wait_reply(self, sn: int, timeout_s: float = 5.0) -> dict:
        """The terminal's 0x0001 (or 0x0201 / 0x0104) answering serial ``sn``."""
        return self.wait_for(lambda m: m["header"]["msg_id"] in (0x0001, 0x0201, 0x0104)
                             and m["body"].get("seq") == sn, timeout_s)

    def _next_sn(self) -> int:
        with self._lock:
            self._sn = (self._sn + 1) & 0xFFFF
            return self._sn

    def _header(self, msg_id: int, terminal: str, sn: int) -> dict:
        if self.protocol == "jt905":
            return {"msg_id": msg_id, "isu": terminal, "msg_sn": sn}
        header = {"msg_id": msg_id, "phone": terminal, "msg_sn": sn}
        if terminal in self._versions:          # answer a 2019 terminal in 2019 headers
            header["proto_ver"] = self._versions[terminal]
        return header

    # -- the server -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if self.refuse:
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                try:
                    conn.settimeout(5)
                    conn = self._tls.wrap_socket(conn, server_side=True)
                    conn.settimeout(None)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            with self._lock:
                self._conns.append(conn)
                self.connections += 1
                self._lock.notify_all()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        decoder, reassembler = jtt.StreamDecoder(), jtt.Reassembler()
        authenticated = self.protocol == "jt905"
        if authenticated:
            with self._lock:
                self._authenticated_conns += 1
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                for item in decoder.feed(data):
                    if isinstance(item, jtt.JttError):
                        continue
                    message = jtt.decode_payload(item, self.protocol)
                    if self.protocol == "jt808":
                        message = reassembler.add(message)
                        if message is None:
                            continue
                    authenticated = self._handle(conn, message, authenticated)
        except (OSError, jtt.JttError):
            return
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
                if authenticated:
                    self._authenticated_conns -= 1
                self._lock.notify_all()
            conn.close()

    def _handle(self, conn: socket.socket, message: dict, authenticated: bool) -> bool:
        header, body = message["header"], message["body"]
        term = header.get("phone") or header.get("isu")
        with self._lock:
            self._terminal_of[conn] = term
            if "proto_ver" in header:
                self._versions[term] = header["proto_ver"]
        msg_id, sn = header["msg_id"], header["msg_sn"]
        entry = {"rx_ms": self.clock(), "header": header, "body": body}
        with self._lock:
            self.received.append(entry)
            self._lock.notify_all()
        if self._transcript is not None:
            self._transcript.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._transcript.flush()
        if msg_id == 0x0100:
            self.registrations += 1
            code = self.auth_codes.setdefault(term, secrets.token_hex(4))
            self._send(conn, 0x8100, term, {"seq": sn, "result": 0, "auth_code": code})
            return authenticated
        if msg_id == 0x0102:
            self.authentications += 1
            ok = self.auth_ok and body.get("code") == self.auth_codes.get(term)
            self._send(conn, REPLY, term, {"seq": sn, "id": msg_id, "result": 0 if ok else 1})
            if ok and not authenticated:
                with self._lock:
                    self._authenticated_conns += 1
                    self._lock.notify_all()
            return authenticated or ok
        if msg_id in (0x0001, 0x0201, 0x0104):
            return authenticated       # answers to our commands: recorded, not answered
        if msg_id == 0x0003 and authenticated and self.acking:   # deregistration: the code is void
            self.auth_codes.pop(term, None)
            self.deregistrations += 1
        if msg_id == 0x0004:           # 808-2019 server time query: 0x8004, UTC YYMMDDhhmmss
            self._send(conn, 0x8004, term, {"time": jtt.bcd_time(self.clock() - 8 * 3_600_000)})
            return authenticated
        if self.acking and (authenticated or msg_id == 0x0002):
            self._send(conn, REPLY, term, {"seq": sn, "id": msg_id, "result": 0})
        return authenticated

    def _send(self, conn: socket.socket, msg_id: int, term: str, body: dict) -> None:
        try:
            conn.sendall(jtt.encode({"header": self._header(msg_id, term, self._next_sn()), "body": body}))
        except OSError:
            pass
