"""The meter device emulator (simulator room): our meter firmware under real MicroPython on a pty.

``MeterDeviceEmulator`` runs ``sim/meter_device_host.mjs`` (Node + the WebAssembly MicroPython
installed by ``make setup``), which runs the real firmware (``meter/device/firmware.py`` and
``meter/``). Its UART is the master end of a pseudo-terminal: the terminal opens ``path`` as the
meter link's serial port (``[meter] link_port``). Its flash is a file. The simulator presses its
keys, feeds its pulse count and its supply, and may ``kill()`` it at any moment (a power cut: the
process dies between two flash writes or inside one) and ``restart()`` it, as the power comes back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from sim.pty import PtyDevice

HOST = Path(__file__).with_name("meter_device_host.mjs")
FLASH_BYTES = 256 * 1024
TICK_S = 0.2
DEFAULT_PROFILE = {"plate": "AD1234", "licence": "L-440100", "driver": "440100123456", "vendor": 0,
                   "utc_offset_min": 480}


class MeterDeviceEmulator:
    def __init__(self, flash: Path, clock: Callable[[], int], tariffs: list, profile: dict | None = None,
                 size: int = FLASH_BYTES, params: dict | None = None) -> None:
        self.flash = Path(flash)
        self.clock = clock
        self.setup = {"tariffs": tariffs, "profile": profile or DEFAULT_PROFILE, "params": params}
        self.size = size
        self.pty = PtyDevice()
        self.path = self.pty.path
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()           # one command at a time, in order
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.software_id: str | None = None
        self.errors: list[str] = []
        self.boots = 0
        self.state: str | None = None         # the meter's state after the last command
        self.bytes_out = 0                    # bytes its UART sent (the simulator waits for them to arrive)

    def answer(self, **cmd) -> dict:
        """``command`` under the name the simulator's fitted meter uses for both meter kinds."""
        return self.command(**cmd)

    # -- life cycle ---------------------------------------------------------------------------
    def start(self, threads: bool = True) -> MeterDeviceEmulator:
        """``threads=False``: no UART reader and no ticker of its own; the caller hands it the
        terminal's bytes (``receive``) and ticks it (``tick``) on its clock (the simulator)."""
        self._spawn()
        if not threads:
            return self
        for target, name in ((self._uart_in, "meter-dev-uart"), (self._ticker, "meter-dev-tick")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(HOST), "--flash", str(self.flash), "--size", str(self.size), "--now", str(self.clock()),
             "--setup", json.dumps(self.setup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the meter device emulator did not start (is `make setup` done?)")
        self.software_id = json.loads(line)["software_id"]
        self.boots += 1

    def kill(self) -> None:
        """Cut the power: the firmware stops wherever it is — between two commands or inside one
        (the signal does not wait for the command lock: a flash write may be cut half done)."""
        proc = self.proc
        if proc is None:
            return
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with self._lock:
            proc.wait()
            if self.proc is proc:
                self.proc = None

    def restart(self) -> None:
        with self._lock:
            if self.proc is None:
                self._spawn()

    def close(self) -> None:
        self._stop.set()
        self.kill()
        for thread in self._threads:
            thread.join(timeout=2)
        self.pty.close()

    # -- inputs ---------------------------------------------------------------------------------
    def command(self, **cmd) -> dict:
        """Send one command (t defaults to now); returns the firmware's answer ({} while it is off)."""
        cmd.setdefault("t", self.clock())
        with self._lock:
            proc = self.proc
            if proc is None:
                return {}
            try:
                proc.stdin.write(json.dumps(cmd) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError, ValueError):
                return {}
        try:
            answer = json.loads(line) if line else {}
        except ValueError:
            return {}                 # the line was cut by the power cut
        if not answer:
            return {}
        if answer.get("error"):
            self.errors.append(answer["error"])
        self.state = answer.get("state", self.state)
        if answer.get("uart") and not self.pty.closed:
            data = bytes.fromhex(answer["uart"])
            self.pty.write(data)
            self.bytes_out += len(data)
        return answer

    def press(self, key: str) -> dict:
        return self.command(key=key)

    def pulses(self, count: int) -> dict:
        return self.command(pulses=count)

    def power(self, on: bool) -> dict:
        return self.command(power=on)

    def seal(self, closed: bool) -> dict:
        return self.command(seal=closed)

    def stats(self) -> dict:
        return self.command(stats=True)

    def receive(self, data: bytes) -> dict:
        return self.command(uart=data.hex())

    def tick(self) -> dict:
        return self.command(tick=True)

    # -- threads ----------------------------------------------------------------------------------
    def _uart_in(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read(0.05)
            if data:
                self.command(uart=data.hex())

    def _ticker(self) -> None:
        while not self._stop.wait(TICK_S):
            self.command(tick=True)
