"""A whole Terminal without threads: a provisioned state, a dummy display, a sign that records.

The loop's ``handle`` and ``periodic`` are called directly at chosen times, so what the
driver sees is checked against the meter at every step without any timing in the test.
"""

from __future__ import annotations

import queue
import shutil
import sqlite3
from pathlib import Path

from luma.core.device import dummy

from drivers.display import DriverDisplay
from drivers.event import Event
from sim.provision import provision_state
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.app.runtime import installed_schedule
from terminal.storage.database import Storage
from terminal.trust import identity, keys
from terminal.trust.audit import AuditTrail

T0 = 1795140000000      # 2026-11-20 16:00 GMT+8
K = 1000


class RecordingSign:
    def __init__(self) -> None:
        self.history: list[str] = []

    def show(self, state: str) -> None:
        self.history.append(state)

    @property
    def state(self) -> str | None:
        return self.history[-1] if self.history else None


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


_TEMPLATE: dict[str, Path] = {}


def provisioned(tmp: Path, cache_dir: Path) -> Path:
    """A provisioned state directory copied from one made once per session."""
    if "state" not in _TEMPLATE:
        _TEMPLATE["state"] = cache_dir / "state"
        provision_state(_TEMPLATE["state"])
    target = tmp / "state"
    shutil.copytree(_TEMPLATE["state"], target)
    return target


class Bench:
    def __init__(self, state_dir: Path, settle_self_test: bool = True) -> None:
        self.clock = Clock(T0)
        self.sign = RecordingSign()
        self.display = DriverDisplay(dummy(width=256, height=64, mode="1"))
        state = keys.DeviceState(state_dir)
        self.config = config_mod.from_dict({
            "terminal": {"id": "T0042", "state_dir": str(state_dir), "driver_cert": "330100123456"},
            "meter": {"k": K},
        })
        ident = identity.device_identity(state, self.clock())
        self.storage = Storage(state.database, self.clock)
        audit_db = sqlite3.connect(str(state.database), isolation_level=None, timeout=10.0)
        self.audit = AuditTrail(audit_db, state.device_key(), ident.software_id, self.clock, state.audit_capacity())
        self.term = Terminal(self.config, storage=self.storage, schedule=installed_schedule(state),
                             events=queue.Queue(), clock=self.clock,
                             devices=Devices(sign=self.sign, display=self.display), software_id=ident.software_id,
                             identity_ok=True, audit=self.audit)
        self.pulses = 0
        self.lat, self.lon = 30.2741, 120.1551          # Hangzhou, heading east
        self.sent: list[tuple[str, dict]] = []
        enqueue = self.term.outbox.enqueue

        def recording(topic, payload, kind, priority=None):
            body = payload(1) if callable(payload) else dict(payload)
            self.sent.append((kind, body))
            return enqueue(topic, payload, kind, priority)

        self.term.outbox.enqueue = recording
        self.term.start()
        if settle_self_test:
            self.advance(7000)             # past the power-on self-test

    def advance(self, ms: int) -> None:
        self.clock.t += ms
        self.term.periodic(self.clock.t)

    def press(self, key: str, long: bool = False) -> None:
        self.clock.t += 300
        self.term.handle(Event("key", self.clock.t, {"key": key, "long": long}))
        self.term.periodic(self.clock.t)

    def drive(self, metres: int, seconds: int = 60) -> None:
        """``metres`` spread over ``seconds``, one pulse reading a second."""
        for i in range(seconds):
            self.clock.t += 1000
            self.pulses += metres * K // 1000 * (i + 1) // seconds - metres * K // 1000 * i // seconds
            self.term.handle(Event("pulses", self.clock.t, {"count": self.pulses}))
            self.term.periodic(self.clock.t)

    def drive_gnss(self, seconds: int, kmh: float, pulse_factor: float = 1.0, fixes: bool = True) -> None:
        """Drive at ``kmh`` with one GNSS fix a second; the speed sensor counts ``pulse_factor`` of the way."""
        from gps.fix import Fix
        mps = kmh / 3.6
        for _ in range(seconds):
            self.clock.t += 1000
            self.lon += mps / (111_320 * 0.8638)
            self.pulses += round(mps * pulse_factor * K / 1000)
            if fixes:
                fix = Fix(time_ms=self.clock.t, lat=self.lat, lon=self.lon, alt_m=10.0, speed_mps=mps, course_deg=90.0,
                          quality=1, mode=3, sats=9, hdop=0.9, valid=True, talker="GN")
                self.term.handle(Event("fix", self.clock.t, {"fix": fix}))
            self.term.handle(Event("pulses", self.clock.t, {"count": self.pulses}))
            self.term.periodic(self.clock.t)

    def reports(self, kind: str) -> list[dict]:
        return [body for k, body in self.sent if k == kind]

    def audit_edges(self, name: str) -> list[tuple]:
        return [(r["old"], r["new"]) for r in self.audit.records()
                if r["event"] == "device_alarm" and r["parameter"] == name]

    def event(self, kind: str, **data) -> None:
        self.term.handle(Event(kind, self.clock.t, data))
        self.term.periodic(self.clock.t)

    @property
    def screen(self):
        return self.display.screen

    def close(self) -> None:
        self.storage.close()
