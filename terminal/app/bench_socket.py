"""The bench's control socket: drive the sim board's GPIO from outside ``taxiterm run`` (app room).

On the ``sim`` board the keys, hidden alarm, seal switch, ignition sense and speed-sensor
pulse input are gpiozero mock pins inside the process. This module opens a local Unix
socket through which ``taxiterm bench …`` drives those very pins (``drive_low`` /
``drive_high``), so every press, pulse and switch change reaches the loop through the same
driver callbacks, debouncing and timing as a real wire would. Nothing here touches the
loop's state: pins in, events out through the drivers.

The socket is owner-only (directory 0700, socket 0600) and exists only on the sim board
(pin factory ``mock``); docs/bench.md describes the path and the protocol: one JSON object
per line in, one JSON answer per line out.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

SOCKET_NAME = "bench.sock"
MAX_HOLD_S = 60.0
MAX_DRIVE_S = 3600.0
MAX_KMH = 250.0


class BenchError(ValueError):
    """A request the bench will not carry out; the message says why."""


def runtime_dir() -> Path:
    """Where the bench's sockets live: $XDG_RUNTIME_DIR/taxiterm, else /tmp/taxiterm-UID."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / "taxiterm"
    return Path("/tmp") / f"taxiterm-{os.getuid()}"


def default_socket_path() -> Path:
    """$TAXITERM_BENCH_SOCKET, else bench.sock in ``runtime_dir()``."""
    explicit = os.environ.get("TAXITERM_BENCH_SOCKET")
    return Path(explicit) if explicit else runtime_dir() / SOCKET_NAME


def private_dir(path: Path) -> Path:
    """Create ``path`` 0700 or check that it is ours and closed to others; returns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise BenchError(f"{path} belongs to another user; refusing to put a control socket there")
    if stat.S_IMODE(info.st_mode) & 0o077:
        path.chmod(0o700)
    return path


def bind_private(path: Path) -> socket.socket:
    """A listening Unix socket at ``path``, mode 0600, in a 0700 directory (a stale socket is replaced)."""
    private_dir(path.parent)
    if path.is_socket():
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
            raise BenchError(f"{path} is in use by another running bench or terminal")
        except ConnectionRefusedError:
            path.unlink()
    elif path.exists():
        raise BenchError(f"{path} exists and is not a socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    path.chmod(0o600)
    server.listen(4)
    return server


def _number(request: dict, key: str, default: float, low: float, high: float) -> float:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BenchError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


class JsonLineServer:
    """Accepts connections on a private Unix socket; each line is a JSON request, answered by ``handle``."""

    def __init__(self, path: Path, handle: Callable[[dict], dict], name: str) -> None:
        self.path = Path(path)
        self._handle = handle
        self._name = name
        self._stop = threading.Event()
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> JsonLineServer:
        self._server = bind_private(self.path)
        self._thread = threading.Thread(target=self._accept, name=self._name, daemon=True)
        self._thread.start()
        return self

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()   # blocks; close() wakes it
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name=f"{self._name}-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._answer(conn)
        except OSError:       # the client went away (Ctrl-C) before its answer: nothing to tell it
            pass

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise BenchError("a request is one JSON object per line")
                    answer = {"ok": True, **self._handle(request)}
                except (BenchError, ValueError) as exc:
                    answer = {"ok": False, "error": str(exc)}
                except Exception as exc:   # a bad request must not take the bench down
                    log.exception("bench request %r failed", line[:200])
                    answer = {"ok": False, "error": f"internal error: {exc}"}
                try:
                    stream.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
                    stream.flush()
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        if self._server is not None:
            try:
                self._server.shutdown(socket.SHUT_RDWR)   # ends the accept the thread is blocked in
            except OSError:
                pass
            self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:
            if self.path.is_socket():
                self.path.unlink()
        except OSError:
            pass


class BenchPins:
    """What the bench does to the sim board's pins. ``k()`` is the meter's current pulses per km."""

    def __init__(self, factory, keys: dict, inputs: dict, k: Callable[[], int],
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._factory = factory
        self._keys = dict(keys)
        self._inputs = dict(inputs)
        self._k = k
        self._sleep = sleep
        self._driving = threading.Lock()
        self._stop = threading.Event()
        self._halt = threading.Event()      # ends the drive under way (the client was interrupted)
        self.pulses_sent = 0

    def pin(self, number: int):
        return self._factory.pin(number)

    def wire_up(self) -> None:
        """The bench's starting wiring: ignition on, seal switch closed (both active low)."""
        self.pin(self._inputs["ignition"]).drive_low()
        self.pin(self._inputs["seal"]).drive_low()

    def handle(self, request: dict) -> dict:
        action = request.get("action")
        if action == "key":
            return self.key(request)
        if action == "alarm":
            return self.alarm(request)
        if action == "drive":
            return self.drive(request)
        if action in ("seal", "power"):
            return self.switch(action, request)
        if action == "ping":
            return {"detail": "bench ready", "pulses_sent": self.pulses_sent, "k": self._k()}
        if action == "halt":
            if not self._driving.locked():
                return {"detail": "not driving"}
            self._halt.set()
            return {"detail": "drive halted"}
        raise BenchError(f"unknown action {action!r}; known: key, alarm, drive, seal, power, ping, halt")

    def _hold(self, number: int, seconds: float) -> None:
        pin = self.pin(number)
        pin.drive_low()
        try:
            self._sleep(seconds)
        finally:
            pin.drive_high()

    def key(self, request: dict) -> dict:
        name = request.get("key")
        if name not in self._keys:
            raise BenchError(f"unknown key {name!r}; known: {', '.join(self._keys)}")
        hold = _number(request, "hold_s", 0.1, 0.0, MAX_HOLD_S)
        self._hold(self._keys[name], hold)
        return {"detail": f"key {name} pressed for {hold:g} s"}

    def alarm(self, request: dict) -> dict:
        button = request.get("button", "alarm_a")
        if button not in ("alarm_a", "alarm_b"):
            raise BenchError(f"unknown alarm button {button!r}; known: alarm_a, alarm_b")
        hold = _number(request, "hold_s", 3.5, 0.0, MAX_HOLD_S)
        self._hold(self._inputs[button], hold)
        return {"detail": f"hidden alarm {button} held for {hold:g} s"}

    def switch(self, action: str, request: dict) -> dict:
        state = request.get("state")
        active = {"seal": {"close": True, "open": False}, "power": {"on": True, "off": False}}[action]
        if state not in active:
            raise BenchError(f"{action} takes {' or '.join(active)}, got {state!r}")
        pin = self.pin(self._inputs["seal" if action == "seal" else "ignition"])
        pin.drive_low() if active[state] else pin.drive_high()      # active low, as wired in the car
        return {"detail": f"{'seal switch' if action == 'seal' else 'ignition'} {state}"}

    def drive(self, request: dict) -> dict:
        """Pulses on the pulse pin at ``kmh`` for ``seconds`` with the meter's K, paced on the wall clock."""
        kmh = _number(request, "kmh", 40.0, 0.0, MAX_KMH)
        seconds = _number(request, "seconds", 10.0, 0.0, MAX_DRIVE_S)
        if not self._driving.acquire(blocking=False):
            raise BenchError("the car is already driving; wait for that drive to end")
        try:
            k = self._k()
            pin = self.pin(self._inputs["pulse"])
            per_s = kmh / 3.6 * k / 1000.0
            start = time.monotonic()
            sent, step = 0, 0.05
            while not self._stop.is_set() and not self._halt.is_set():
                elapsed = min(time.monotonic() - start, seconds)
                due = int(per_s * elapsed)
                for _ in range(due - sent):
                    pin.drive_low()
                    pin.drive_high()
                self.pulses_sent += due - sent
                sent = due
                if elapsed >= seconds:
                    break
                self._sleep(min(step, seconds - elapsed))
        finally:
            self._halt.clear()
            self._driving.release()
        metres = sent * 1000 // k if k else 0
        return {"detail": f"drove {seconds:g} s at {kmh:g} km/h: {sent} pulses at K={k} ({metres} m)",
                "pulses": sent, "k": k}

    def stop(self) -> None:
        self._stop.set()


class BenchSocket:
    """The control socket of ``taxiterm run --board sim``: ``start()`` wires up and listens, ``close()`` ends it."""

    def __init__(self, path: Path, pins: BenchPins) -> None:
        self.pins = pins
        self.server = JsonLineServer(path, pins.handle, "bench-socket")
        self.path = self.server.path

    def start(self) -> BenchSocket:
        self.server.start()
        self.pins.wire_up()
        log.info("bench control socket on %s", self.path)
        return self

    def close(self) -> None:
        self.pins.stop()
        self.server.close()
