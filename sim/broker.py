"""A real Mosquitto on a free loopback port, for tests, benchmarks and ``make run``.

``Broker`` writes a config into a private directory and runs /usr/sbin/mosquitto on
127.0.0.1. ``stop()`` kills it (SIGKILL: the way a broker dies when its host loses power),
``restart()`` brings it back on the same port. Options: a password file (users), and a
TLS listener with a freshly made CA and server certificate.

``Broker(shipped=True, terminals=[...], platform=[...])`` runs the shipped configuration
(broker/: TLS only, a password per account, the ACL); ``port`` is then its TLS port.

``Gate`` is a TCP relay in front of a real Mosquitto, for what a broker alone cannot do:
with ``refuse_v5`` it stands in for a broker that only speaks MQTT 3.1.1 (it answers an
MQTT 5 CONNECT with CONNACK return code 1, "unacceptable protocol version", as such a
broker does; Mosquitto 2.0 cannot be configured to refuse MQTT 5 itself); ``cut()`` drops
every relayed connection at once (the car driving into a tunnel) while the broker stays
up; ``hold()`` turns every new connection away until ``release()``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

MOSQUITTO = "/usr/sbin/mosquitto"
HOST = "127.0.0.1"


class BrokerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen | None, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BrokerError(f"mosquitto exited with status {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.01)
    raise BrokerError(f"nothing listening on {HOST}:{port} after {timeout_s}s")


def password_line(user: str, password: str) -> str:
    """One Mosquitto password-file line (the salted SHA-512 form Mosquitto 2.0 reads)."""
    salt = os.urandom(12)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return f"{user}:$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


class Broker:
    """A Mosquitto process. ``port`` is fixed for the life of the object (kept across restarts)."""

    def __init__(
        self,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: bool = False,
        max_queued_messages: int = 100_000,
        mosquitto: str = MOSQUITTO,
        shipped: bool = False,
        terminals: tuple[str, ...] = (),
        platform: tuple[str, ...] = ("platform",),
    ) -> None:
        if not Path(mosquitto).is_file():
            raise BrokerError(f"{mosquitto} not found; `make setup` installs mosquitto")
        self.shipped = shipped
        self.credentials: dict[str, str] = {}
        if shipped:
            self._init_shipped(port, terminals, platform, mosquitto)
            return
        self.host = HOST
        self.port = port or free_port()
        self.tls_port = free_port() if tls else None
        self.users = dict(users or {})
        self._dir = Path(tempfile.mkdtemp(prefix="taxiterm-broker-"))
        # Started as root, mosquitto drops to its own user: it must be able to read these
        # throw-away files.
        self._dir.chmod(0o755)
        self.ca_path: Path | None = None
        self._mosquitto = mosquitto
        self._proc: subprocess.Popen | None = None
        self._config = self._dir / "mosquitto.conf"
        self._log = self._dir / "mosquitto.log"
        lines = [
            "per_listener_settings false",
            f"listener {self.port} {HOST}",
            "persistence false",
            # Generous queues: a subscriber that falls behind during a backlog flush must
            # not lose messages inside the test broker.
            f"max_queued_messages {max_queued_messages}",
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
        ]
        if self.users:
            passwords = self._dir / "passwords"
            passwords.write_text("".join(password_line(u, p) + "\n" for u, p in self.users.items()))
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            ca, cert, key = _make_certificates(self._dir)
            self.ca_path = ca
            lines += [f"listener {self.tls_port} {HOST}", f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        self._config.write_text("\n".join(lines) + "\n")
        for path in self._dir.iterdir():
            path.chmod(0o644)

    def _init_shipped(self, port, terminals, platform, mosquitto) -> None:
        from terminal.link.broker_setup import BrokerDir
        self.host = HOST
        self.port = port or free_port()
        self.tls_port = None
        self.users = {}
        self._dir = Path(tempfile.mkdtemp(prefix="taxiterm-broker-"))
        self._dir.chmod(0o755)
        self._mosquitto = mosquitto
        self._proc = None
        self._log = self._dir / "mosquitto.log"
        setup = BrokerDir(self._dir / "conf")
        setup.init(names=["localhost"], addresses=[HOST], port=self.port, bind=HOST, valid_days=2)
        for name in platform:
            self.credentials[name] = setup.add_platform(name)
        for tid in terminals:
            self.credentials[tid] = setup.add_terminal(tid)
        self.setup = setup
        self.ca_path = setup.ca
        self._config = setup.config
        # Started as root, mosquitto drops to its own user: it must read these throw-away files.
        for path in [setup.root, *setup.root.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o644)

    def add_terminal(self, terminal_id: str) -> str:
        """A new terminal account on a running shipped broker (reloaded with SIGHUP)."""
        password = self.setup.add_terminal(terminal_id)
        self.credentials[terminal_id] = password
        for path in self.setup.root.iterdir():
            if path.is_file():
                path.chmod(0o644)
        if self.running:
            self._proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        return password

    def client_options(self, name: str) -> dict:  # paho settings for an account of a shipped broker
        return {"username": name, "password": self.credentials[name], "tls_ca": str(self.ca_path)}

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    def start(self, timeout_s: float = 5.0) -> Broker:
        if self.running:
            raise BrokerError("broker already running")
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(
                [self._mosquitto, "-c", str(self._config)], stdout=log, stderr=log, start_new_session=True
            )
        try:
            _wait_listening(self.port, self._proc, timeout_s)
            if self.tls_port:
                _wait_listening(self.tls_port, self._proc, timeout_s)
        except BrokerError as exc:
            self.stop()
            raise BrokerError(f"{exc}; log:\n{self.log_tail()}") from exc
        return self

    def stop(self) -> None:
        """Kill the broker at once (no clean shutdown, no will suppression)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
            self._proc = None

    def restart(self, timeout_s: float = 5.0) -> Broker:
        self.stop()
        return self.start(timeout_s)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        if not self._log.exists():
            return ""
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])

    def link_config(self, terminal_id: str = "T0001", **overrides) -> dict:
        """An [mqtt] configuration dict pointing at this broker, with fast reconnects."""
        config = {"terminal_id": terminal_id, "host": self.host, "port": self.port,
                  "reconnect_min_s": 0.05, "reconnect_max_s": 0.5}
        if self.shipped and terminal_id in self.credentials:
            config.update(username=terminal_id, password=self.credentials[terminal_id], tls_ca=str(self.ca_path))
        config.update(overrides)
        return config

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 / localhost, made the way
    ``taxiterm broker init`` makes the shipped broker's (terminal/link/broker_setup.py)."""
    from terminal.link.broker_setup import make_tls

    make_tls(directory, ["localhost"], [HOST], valid_days=2)
    return directory / "ca.pem", directory / "server.pem", directory / "server.key"


# -- a 3.1.1-only broker stand-in and connection cutter --------------------------------------------

CONNACK_UNACCEPTABLE_PROTOCOL = bytes([0x20, 0x02, 0x00, 0x01])


def read_packet(sock: socket.socket) -> bytes:
    """One whole MQTT control packet (fixed header included) from a blocking socket."""
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    header = exactly(1)
    length, multiplier, length_bytes = 0, 1, b""
    for _ in range(4):
        byte = exactly(1)
        length_bytes += byte
        length += (byte[0] & 0x7F) * multiplier
        if not byte[0] & 0x80:
            break
        multiplier *= 128
    return header + length_bytes + exactly(length)


def connect_protocol_level(packet: bytes) -> int:
    """The protocol level of a CONNECT packet (4 = 3.1.1, 5 = MQTT 5)."""
    if not packet or packet[0] >> 4 != 1:
        raise ValueError("not a CONNECT packet")
    i = 1
    while packet[i] & 0x80:
        i += 1
    i += 1
    name_len = int.from_bytes(packet[i : i + 2], "big")
    return packet[i + 2 + name_len]


class Gate:
    """Listens on its own port and relays to ``upstream_port``; refuses MQTT 5 when ``refuse_v5``."""

    def __init__(self, upstream_port: int, refuse_v5: bool = False) -> None:
        self.upstream_port = upstream_port
        self.refuse_v5 = refuse_v5
        self.refused = 0
        self.relayed_levels: list[int] = []
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._held = False
        threading.Thread(target=self._accept, name="broker-gate", daemon=True).start()

    def hold(self) -> None:
        """Turn every new connection away (closed at once) until ``release()``."""
        self._held = True

    def release(self) -> None:
        self._held = False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self._held:
            client.close()
            return
        try:
            connect = read_packet(client)
            level = connect_protocol_level(connect)
        except (ConnectionError, OSError, ValueError, IndexError):
            client.close()
            return
        if self.refuse_v5 and level == 5:
            self.refused += 1
            client.sendall(CONNACK_UNACCEPTABLE_PROTOCOL)
            client.close()
            return
        try:
            upstream = socket.create_connection((HOST, self.upstream_port))
        except OSError:
            client.close()
            return
        with self._lock:
            self.relayed_levels.append(level)
            self._open += [client, upstream]
        upstream.sendall(connect)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # either side gone: the other direction notices and both sockets close below
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already shut
            sock.close()

    def cut(self) -> None:
        """Drop every relayed connection at once, the broker staying up."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone
            sock.close()

    def close(self) -> None:
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass  # not connected: Linux still wakes accept() on close below
        self._server.close()
        self.cut()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
