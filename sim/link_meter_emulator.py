"""A taximeter on the JT/T 905.2 link, in Python (simulator room): the meter of ``taxiterm sim --meter link``.

A sealed, type-approved meter as the terminal meets it: its own keys, its own pulse input, its
own tariff and totalisers, and nothing but 905.2 frames on a serial line (the master end of a
pseudo-terminal; the terminal opens ``path``). Its legal core is the same ``MeterDevice`` our
firmware runs (meter/device/firmware.py), here under CPython with its journal in RAM, so it
speaks the frames of docs/meter-link.md byte for byte — a stand-in for any certified meter that
does. Beside ``sim/meter_device.py`` (the same firmware under real MicroPython) it answers the
same calls (``press``, ``pulses``, ``power``, ``receive``, ``tick``), each at the caller's time.
"""

from __future__ import annotations

from collections.abc import Callable

from meter.device.firmware import MeterDevice
from meter.device.flash import RamFlash
from meter.errors import MeterError, TariffError
from sim.meter_device import DEFAULT_PROFILE
from sim.meter_device_commands import apply
from sim.pty import PtyDevice

FLASH_BYTES = 256 * 1024


class LinkMeterEmulator:
    def __init__(self, clock: Callable[[], int], tariffs: list, profile: dict | None = None,
                 params: dict | None = None) -> None:
        self.clock = clock
        self.pty = PtyDevice()
        self.path = self.pty.path
        self.device = MeterDevice(RamFlash(FLASH_BYTES), tariffs, profile or DEFAULT_PROFILE, clock(), params)
        self.errors: list[str] = []
        self.bytes_out = 0
        self.software_id = None

    @property
    def state(self) -> str:
        return self.device.meter.state

    def start(self, threads: bool = False) -> LinkMeterEmulator:
        return self

    def close(self) -> None:
        self.pty.close()

    def stats(self) -> dict:
        dev = self.device
        return {"state": dev.meter.state, "trips": dev.meter.totals.hirings,
                "pending": [r["trip_no"] for r in dev.pending]}

    def answer(self, **cmd) -> dict:
        """One input at the caller's time, as the device emulator's ``command``: {} or {"error": ...}."""
        cmd.setdefault("t", self.clock())
        dev = self.device
        out: dict = {}
        try:
            apply(dev, cmd)
        except (MeterError, TariffError, ValueError) as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
            self.errors.append(out["error"])
        data = dev.take()
        if data and not self.pty.closed:
            self.pty.write(data)
            self.bytes_out += len(data)
        out["state"] = dev.meter.state
        return out
