"""The power-fail drill's target: one process of the real terminal driving a shift until it is killed.

In the simulator room; the half of the drill that runs under SIGKILL (``python -m sim.killpoints
target --state DIR --seed S``, see ``sim.killpoints`` for its driver). It builds the real
``Terminal`` on the provisioned state directory (Storage, AuditTrail, seal, installed tariff,
software identity, no devices) the way ``terminal.app.runtime.Runtime`` does, and drives a shift:
a driver who signs in, hires, drives, pauses, settles, adds tolls, clears, and now and then cuts
the ignition. Its clock is virtual and persisted before every step, so a restarted process
continues the shift from where the stored state says it is; ``down_ms`` is how long the power
was off. A kill point ``POINT:N`` makes it SIGKILL itself right after the Nth commit of a chosen
kind (a trip, a meter snapshot, a shift, an audit record).

It speaks line-JSON on stdout: ``{"ready": ...}`` after start-up, ``{"stored": N, ...}`` after each
trip is committed, ``{"fault": ...}`` when the loop had to swallow an exception, ``{"killpoint": ...}``
before killing itself, ``{"done": ...}`` at a clean end. See docs/powerfail.md.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import signal
import sqlite3
import sys
from pathlib import Path

START_MS = 1_795_140_000_000      # a Wednesday in November 2026: the DEMO-2026A tariff is in force
STEP_MS = 1000                    # one step of the shift: a pulse reading, maybe a key, the loop's periodic work
K = 1000                          # pulses per km of the simulated car (config meter.k)
DIP_MS = 10_000                   # config meter.dip_ms: a longer loss closes the open trip
CLOCK_FILE = "killpoints-clock"   # the virtual clock, in the state directory
# Kill points: right after the commit that holds it, or (``_open``) inside the loop's transaction before it commits.
# ``trip_snapshot`` is a committed meter snapshot with a trip open.
KILL_POINTS = ("store_trip", "store_trip_open", "save_meter_state", "save_meter_state_open", "trip_snapshot",
               "trip_snapshot_open", "sign_in", "sign_out", "audit")
DRIVER_CERT = "330100123456"

log = logging.getLogger("killpoints")


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message, sort_keys=True) + "\n")
    sys.stdout.flush()


class VirtualClock:
    """The shift's time (Unix epoch ms). Written before the step that uses it, so stored times never exceed it."""

    def __init__(self, path: Path, down_ms: int) -> None:
        self.path = path
        try:
            base = int(path.read_text(encoding="ascii"))
        except FileNotFoundError:
            base = START_MS
        self.now = base + down_ms
        self._save()

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        self._save()
        return self.now

    def _save(self) -> None:
        # SIGKILL kills the process, not the kernel: a renamed file is there for the next start.
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(str(self.now), encoding="ascii")
        os.replace(tmp, self.path)


class KillSwitch:
    """``POINT:N``: SIGKILL this process right after the Nth commit of that kind."""

    def __init__(self, spec: str | None) -> None:
        self.point, self.n = None, 0
        self.counts = dict.fromkeys(KILL_POINTS, 0)
        if spec:
            point, _, n = spec.partition(":")
            if point not in KILL_POINTS or not n.isdigit() or int(n) < 1:
                raise ValueError(f"--kill-after wants POINT:N with POINT one of {', '.join(KILL_POINTS)}, got {spec!r}")
            self.point, self.n = point, int(n)

    def passed(self, point: str) -> None:
        if point not in self.counts:
            return                              # e.g. a shift written inside a bigger transaction
        self.counts[point] += 1
        if point == self.point and self.counts[point] == self.n:
            emit({"killpoint": f"{point}#{self.n}"})
            os.kill(os.getpid(), signal.SIGKILL)


def _target_classes():
    """Storage and AuditTrail that report commits and pass the kill points (imported late: fast --help)."""
    from contextlib import contextmanager

    from terminal.storage.database import Storage
    from terminal.trust.audit import AuditTrail

    class DrillStorage(Storage):
        """Says what it committed only once the outermost transaction has committed (the loop nests them)."""

        kills: KillSwitch

        def __init__(self, *args, **kw) -> None:
            self._drill_depth = 0       # before the constructor: it migrates the schema in a transaction
            self._pending: list[tuple[str, dict | None]] = []
            super().__init__(*args, **kw)

        @contextmanager
        def transaction(self):
            self._drill_depth += 1
            try:
                with super().transaction() as db:
                    yield db
            except BaseException:
                if self._drill_depth == 1:
                    self._pending.clear()  # rolled back: nothing of it happened
                raise
            finally:
                self._drill_depth -= 1
            if self._drill_depth == 0:
                self._committed()

        def _done(self, point: str, message: dict | None = None) -> None:
            self._pending.append((point, message))
            if self._drill_depth == 0:
                self._committed()
            else:
                self.kills.passed(point + "_open")   # inside the caller's transaction, before its commit

        def _committed(self) -> None:
            pending, self._pending = self._pending, []
            for _, message in pending:
                if message is not None:
                    emit(message)
            for point, _ in pending:
                self.kills.passed(point)

        def store_trip(self, record: dict, totalisers: dict) -> bool:
            stored = super().store_trip(record, totalisers)
            self._done("store_trip", {"stored": record["trip_no"], "digest": record["digest"]} if stored else None)
            return stored

        def save_meter_state(self, blob: bytes) -> None:
            super().save_meter_state(blob)
            self._done("save_meter_state")
            if json.loads(blob)["trip"] is not None:
                self._done("trip_snapshot")

        def sign_in(self, driver_cert: str, t_ms: int, record: dict | None = None) -> int:
            shift = super().sign_in(driver_cert, t_ms, record)
            self._done("sign_in")
            return shift

        def sign_out(self, t_ms: int, record: dict | None = None) -> dict:
            row = super().sign_out(t_ms, record)
            self._done("sign_out")
            return row

    class DrillAudit(AuditTrail):
        kills: KillSwitch

        def append(self, event, parameter=None, old=None, new=None, actor="terminal", t_ms=None) -> dict:
            rec = super().append(event, parameter, old, new, actor, t_ms)
            self.kills.passed("audit")
            return rec

    return DrillStorage, DrillAudit


def build_terminal(state_dir: Path, clock, kills: KillSwitch):
    """The real Terminal on a provisioned state directory, as Runtime builds it, without devices."""
    from terminal.app import config as config_mod
    from terminal.app.loop import Devices, Terminal
    from terminal.app.runtime import installed_schedule
    from terminal.trust import identity, keys
    from terminal.trust.seal import Seal, switch_closed_from_audit

    DrillStorage, DrillAudit = _target_classes()
    state = keys.DeviceState(state_dir)
    if not state.provisioned:
        raise SystemExit(f"killpoints: {state_dir} is not provisioned")
    config = config_mod.from_dict({
        "terminal": {"id": "KP0001", "state_dir": str(state_dir), "driver_cert": DRIVER_CERT},
        "meter": {"k": K, "dip_ms": DIP_MS},
        "outbox": {"capacity": 1000},
    })
    schedule = installed_schedule(state)
    ident = identity.device_identity(state, clock())
    storage = DrillStorage(state.database, clock)
    storage.kills = kills
    audit_db = sqlite3.connect(str(state.database), isolation_level=None, timeout=10.0)
    audit = DrillAudit(audit_db, state.device_key(), ident.software_id, clock, state.audit_capacity())
    audit.kills = kills
    seal = Seal(state.device_id(), state.role_key("authority"), switch_closed_from_audit(audit))
    terminal = Terminal(config, storage=storage, schedule=schedule, events=queue.Queue(), clock=clock,
                        devices=Devices(), software_id=ident.software_id, identity_ok=ident.ok,
                        identity_reason=ident.reason, audit=audit, seal=seal)
    return terminal, storage, audit


class Car:
    """The vehicle and its driver: pulses from the speed sensor and the keys, decided from what the meter shows."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.count = 0          # this process's pulse counter: starts at 0 like the board's after a boot
        self.residue = 0        # metres x K not yet a whole pulse

    def plan(self, trip_no: int) -> tuple[int, int]:
        """The trip's length (m) and cruising speed (km/h): a pure function of the seed and trip number."""
        rng = random.Random(f"{self.seed}/trip/{trip_no}")
        return rng.randrange(600, 6000), rng.randrange(15, 70)

    def step(self, meter, rng: random.Random) -> tuple[int, list[tuple]]:
        """The speed (km/h) over the next step and the driver's actions at its end."""
        state = meter.state
        if not meter.powered:
            return 0, ([("power", True)] if rng.random() < 0.5 else [])
        if state == "for_hire":
            if meter.shift_info is None:
                return 0, [("key", "sign")]
            roll = rng.random()
            if roll < 0.01:
                return 0, [("power", False)]        # ignition off at a rank
            if roll < 0.06:
                return 0, [("key", "sign")]         # sign out; the next step signs in again
            return rng.choice((0, 20, 35, 50)), ([("key", "hire")] if roll < 0.2 else [])
        if state == "hired":
            target_m, kmh = self.plan(meter.trip.trip_no)
            if meter.trip.distance_m >= target_m:
                return 0, [("key", "settle")]
            roll = rng.random()
            if roll < 0.02:
                return 0, [("key", "pause")]
            if roll < 0.025:
                return 0, [("power", False)]        # a dip in the middle of a trip
            return (5 if roll < 0.15 else kmh), []  # slow traffic: waiting time is charged
        if state == "stopped":
            return 0, ([("key", "pause")] if rng.random() < 0.3 else [])
        if state == "settling":
            return 0, [("key", "extra" if rng.random() < 0.3 else "hire")]
        return 0, [("key", "hire")]                  # out of service: never chosen, but leave it

    def drive(self, kmh: int, ms: int) -> int:
        self.residue += kmh * ms * K // 3600        # km/h x ms = metres x 3600; x K/1000 pulses per metre
        pulses, self.residue = divmod(self.residue, 1000)
        self.count += pulses
        return self.count


def run_target(state_dir: Path, seed: int, down_ms: int, kill_after: str | None, trips: int | None,
               max_steps: int) -> int:
    from drivers.event import Event
    from meter import canonical

    kills = KillSwitch(kill_after)
    clock = VirtualClock(state_dir / CLOCK_FILE, down_ms)
    terminal, storage, audit = build_terminal(state_dir, clock, kills)
    terminal.start()
    meter = terminal.meter
    emit({"ready": clock(), "state": meter.state, "trip_no": meter.trip.trip_no if meter.trip else None,
          "powered": meter.powered, "hirings": meter.totals.hirings})
    car = Car(seed)
    closed_here = 0
    last_trip = storage.totalisers()["hirings"] if storage.totalisers() else 0
    for _ in range(max_steps):
        rng = random.Random(f"{seed}/{clock()}")
        kmh, actions = car.step(terminal.meter, rng)
        now = clock.advance(STEP_MS)
        events = [Event("pulses", now, {"count": car.drive(kmh, STEP_MS)})]
        for kind, value in actions:
            events.append(Event("key", now, {"key": value}) if kind == "key" else Event("power", now, {"on": value}))
        for event in events:
            try:
                terminal.handle(event)
            except Exception as exc:  # noqa: BLE001 - as Terminal.run does, but said out loud to the drill
                log.exception("event %r failed", event)
                audit.append("software_fault", event.kind, None, "exception while handling (see log)")
                emit({"fault": f"{type(exc).__name__}: {exc}", "event": event.kind, "t": now})
        faults = terminal.faults.total
        terminal.periodic(now)
        if terminal.faults.total != faults:    # carried on past, as Terminal.run does; said to the drill
            emit({"fault": f"turn failed in {', '.join(sorted(terminal.faults.failing))}", "event": "periodic", "t": now})
        stored = storage.totalisers()["hirings"] if storage.totalisers() else 0
        if stored != last_trip:
            closed_here += stored - last_trip
            last_trip = stored
        if trips is not None and closed_here >= trips and terminal.meter.state == "for_hire":
            break
    storage.save_meter_state(canonical.encode(terminal.meter.snapshot()))
    audit.append("power_off", "software_id", terminal.software_id, None)
    storage.close()
    audit.close()
    emit({"done": clock(), "trips": closed_here})
    return 0
