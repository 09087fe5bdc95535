"""A real Mosquitto on a free loopback port, for tests, benchmarks and ``make run``.

``Broker()`` runs the shipped configuration (broker/: TLS only, a password per account,
the ACL that keeps each terminal to its own topics) on 127.0.0.1, made in a private
directory by the product's own credential step (``terminal.link.broker_setup.BrokerDir``,
what ``taxiterm broker init`` / ``add-terminal`` / ``add-platform`` call); ``port`` is its
TLS port. Accounts are made when first asked for: ``link_config(tid)`` (a terminal's
``[mqtt]`` section), ``client_options(name)`` (username, password, tls_ca for a platform
client such as ``PlatformEmulator``), ``secure(paho_client, name, role)``; a running broker
reloads (SIGHUP) and is asked until it lets the new account in. The CA and server
certificate are made once per process and copied into each broker's directory.
``terminals=[...]`` / ``platform=[...]`` make accounts before the start.

``stop()`` kills it (SIGKILL: the way a broker dies when its host loses power),
``restart()`` brings it back on the same port. ``Broker(users={...})`` or
``Broker(tls=True)`` (or ``shipped=False``) run an open test configuration instead: plain
TCP, anonymous or a bare password file, and a TLS listener on ``tls_port``.

``Gate`` (sim/gate.py, importable from here) is a TCP relay in front of a real Mosquitto:
a 3.1.1-only broker stand-in, connection cuts and holds.
"""

from __future__ import annotations

import atexit
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

from sim.gate import CONNACK_UNACCEPTABLE_PROTOCOL, Gate, connect_protocol_level, read_packet  # noqa: F401

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
        shipped: bool | None = None,
        terminals: tuple[str, ...] = (),
        platform: tuple[str, ...] = ("platform",),
        prefix: str = "taxi",
    ) -> None:
        if not Path(mosquitto).is_file():
            raise BrokerError(f"{mosquitto} not found; `make setup` installs mosquitto")
        if shipped is None:
            shipped = not users and not tls
        self.shipped = shipped
        self.credentials: dict[str, str] = {}
        self.roles: dict[str, str] = {}
        self._accounts_lock = threading.Lock()
        if shipped:
            self._init_shipped(port, terminals, platform, mosquitto, prefix)
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

    def _init_shipped(self, port, terminals, platform, mosquitto, prefix) -> None:
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
        setup.init(names=["localhost"], addresses=[HOST], port=self.port, bind=HOST, valid_days=2,
                   prefix=prefix, tls_from=_session_tls())
        self.setup = setup
        self.ca_path = setup.ca
        self._config = setup.config
        for name in platform:
            self._add(name, "platform")
        for tid in terminals:
            self._add(tid, "terminal")
        self._readable()

    def _add(self, name: str, role: str) -> str:
        password = self.setup.add_terminal(name) if role == "terminal" else self.setup.add_platform(name)
        self.credentials[name], self.roles[name] = password, role
        return password

    def _readable(self) -> None:
        # Started as root, mosquitto drops to its own user: it must read these throw-away files.
        for path in [self.setup.root, *self.setup.root.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o644)

    def account(self, name: str, role: str = "terminal") -> str:
        """The password of account ``name`` (a terminal id, or a platform client's name), made
        with the product's credential step if new; a running broker reloads and lets it in."""
        if not self.shipped:
            raise BrokerError("accounts belong to the shipped configuration")
        with self._accounts_lock:
            if name in self.credentials:
                if self.roles[name] != role:
                    raise BrokerError(f"{name} is a {self.roles[name]} account, not a {role} one")
                return self.credentials[name]
            password = self._add(name, role)
            self._readable()
            if self.running:
                self._reload_until_accepted(name, password)
            return password

    def add_terminal(self, terminal_id: str) -> str:
        """A new terminal account on a running shipped broker (reloaded with SIGHUP)."""
        return self.account(terminal_id, "terminal")

    def _wait_answering(self, timeout_s: float) -> None:
        # Listening is not enough: Mosquitto sets up its signal handlers after it opens its
        # listeners, and a SIGHUP (a new account) before that would end it. An answered
        # CONNECT means its main loop runs.
        deadline = time.monotonic() + timeout_s
        while connack_code(self.host, self.port, str(self.ca_path), "-", "-") is None:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise BrokerError("mosquitto never answered a CONNECT")
            time.sleep(0.01)

    def _reload_until_accepted(self, name: str, password: str, timeout_s: float = 10.0) -> None:
        self._proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if connack_code(self.host, self.port, str(self.ca_path), name, password) == 0:
                return
            if self._proc.poll() is not None:
                raise BrokerError(f"mosquitto ended on reload; log:\n{self.log_tail()}")
            time.sleep(0.01)
        raise BrokerError(f"the broker never let the new account {name} in; log:\n{self.log_tail()}")

    def client_options(self, name: str, role: str = "platform") -> dict:
        """username, password and tls_ca of an account (``PlatformEmulator(**options)``)."""
        return {"username": name, "password": self.account(name, role), "tls_ca": str(self.ca_path)}

    def secure(self, client, name: str, role: str = "platform"):
        """A paho client set up to connect as account ``name`` (TLS with the broker's CA)."""
        if self.shipped:
            client.username_pw_set(name, self.account(name, role))
            client.tls_set(ca_certs=str(self.ca_path))
        return client

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
            if self.shipped:
                self._wait_answering(timeout_s)
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
        if self.shipped:
            config.update(username=terminal_id, password=self.account(terminal_id), tls_ca=str(self.ca_path))
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


_TLS: dict = {}


def _session_tls() -> Path:
    """One CA and server certificate for 127.0.0.1 / localhost per process (the shipped
    brokers of a test run copy them), made by the product's ``make_tls``."""
    if "dir" not in _TLS:
        from terminal.link.broker_setup import make_tls
        directory = Path(tempfile.mkdtemp(prefix="taxiterm-broker-tls-"))
        atexit.register(shutil.rmtree, directory, True)
        make_tls(directory, ["localhost"], [HOST], valid_days=2)
        _TLS["dir"] = directory
    return _TLS["dir"]


def connack_code(host: str, port: int, ca: str, user: str, password: str, timeout_s: float = 2.0) -> int | None:
    """The CONNACK return code an MQTT 3.1.1 CONNECT over TLS with these credentials gets
    (0 accepted, 4 bad user name or password, 5 not authorised); None if no answer."""
    import ssl
    def field(data: bytes) -> bytes:
        return len(data).to_bytes(2, "big") + data
    body = field(b"MQTT") + bytes([4, 0xC2]) + (5).to_bytes(2, "big") + field(b"") + field(user.encode()) \
        + field(password.encode())
    context = ssl.create_default_context(cafile=ca)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw, \
                context.wrap_socket(raw, server_hostname=host) as sock:
            sock.sendall(bytes([0x10, len(body)]) + body)
            answer = read_packet(sock)
    except (OSError, ConnectionError):
        return None
    return answer[3] if len(answer) >= 4 and answer[0] == 0x20 else None
