"""Power-fail drill: a simulated shift through the real terminal, killed with SIGKILL and restarted.

The fire drill of the house. Two halves in one module:

- ``target``: one process of the terminal (``python -m sim.killpoints target --state DIR --seed S``).
  It builds the real ``Terminal`` on the provisioned state directory (Storage, AuditTrail, seal,
  installed tariff, software identity, no devices) the way ``terminal.app.runtime.Runtime`` does, and
  drives a shift: a driver who signs in, hires, drives, pauses, settles, adds tolls, clears, and now
  and then cuts the ignition. Its clock is virtual and persisted before every step, so a restarted
  process continues the shift from where the stored state says it is; ``--down-ms`` is how long the
  power was off. A ``--kill-after POINT:N`` kill point makes it SIGKILL itself right after the Nth
  commit of a chosen kind (a trip, a meter snapshot, a shift, an audit record).
- ``Drill``: the driver. It kills the target at random moments and kill points, restarts it, and
  after every kill checks the stored state: no trip lost or duplicated, every trip's digest, the
  totalisers equal to the sums of the stored trips, the meter's saved state in step with them, the
  audit chain and every signature; and after every restart that an interrupted trip resumed after a
  short dip or was closed with the flag ``power_loss`` after a long one. The first broken invariant
  is named with the kill that broke it. ``python -m sim.killpoints drill --kills 200`` runs it.

The target speaks line-JSON on stdout: ``{"ready": ...}`` after start-up, ``{"stored": N, ...}`` after
each trip is committed, ``{"fault": ...}`` when the loop had to swallow an exception,
``{"killpoint": ...}`` before killing itself, ``{"done": ...}`` at a clean end. See docs/powerfail.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_MS = 1_795_140_000_000      # a Wednesday in November 2026: the DEMO-2026A tariff is in force
STEP_MS = 1000                    # one step of the shift: a pulse reading, maybe a key, the loop's periodic work
K = 1000                          # pulses per km of the simulated car (config meter.k)
DIP_MS = 10_000                   # config meter.dip_ms: a longer loss closes the open trip
CLOCK_FILE = "killpoints-clock"   # the virtual clock, in the state directory
# Kill points: right after the commit that holds it, or (``_open``) inside the loop's transaction before it commits.
# ``trip_snapshot`` is a committed meter snapshot with a trip open.
KILL_POINTS = ("store_trip", "store_trip_open", "save_meter_state", "save_meter_state_open", "trip_snapshot",
               "trip_snapshot_open", "sign_in", "sign_out", "audit")
DRIVER_CERT = "440100123456"

log = logging.getLogger("killpoints")


# --------------------------------------------------------------------------------------------------
# the target process
# --------------------------------------------------------------------------------------------------

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
        terminal.periodic(now)
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


# --------------------------------------------------------------------------------------------------
# the invariants (pure functions of the stored state)
# --------------------------------------------------------------------------------------------------

class Broken(Exception):
    """An invariant does not hold; ``name`` says which, the message says how."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail


@dataclass
class StoredState:
    trips: list
    totalisers: dict | None
    snapshot: dict | None
    open_shift: dict | None
    clock_ms: int
    audit_ok: bool
    audit_reason: str
    power_ons: int


def read_state(state_dir: Path) -> StoredState:
    """Everything the invariants look at, read from the state directory (no target may be running)."""
    from terminal.storage.database import Storage
    from terminal.trust import keys
    from terminal.trust.audit import AuditTrail

    state = keys.DeviceState(state_dir)
    with Storage(state.database) as storage:
        integrity = storage.query("PRAGMA integrity_check")
        if integrity != [("ok",)]:
            raise Broken("database integrity", str(integrity))
        trips = storage.trips()
        totalisers = storage.totalisers()
        blob = storage.load_meter_state()
        open_shift = storage.open_shift()
    audit = AuditTrail(state.database, state.device_key(), "killpoints-checker", capacity=state.audit_capacity())
    try:
        verdict = audit.verify(state.device_public())
        power_ons = sum(1 for r in audit.records() if r["event"] == "power_on")
    finally:
        audit.close()
    try:
        clock_ms = int((state_dir / CLOCK_FILE).read_text(encoding="ascii"))
    except FileNotFoundError:
        clock_ms = START_MS
    return StoredState(trips, totalisers, json.loads(blob) if blob else None, open_shift, clock_ms, verdict.ok,
                       verdict.reason, power_ons)


def check_stored(s: StoredState, known: dict[int, str]) -> None:
    """No trip lost, changed or duplicated; totalisers = sums of the trips; the meter's saved state in step.

    ``known`` maps every trip number seen stored or reported so far to its digest; it grows here.
    """
    from meter.trip import verify_record

    numbers = [t["trip_no"] for t in s.trips]
    if numbers != list(range(1, len(numbers) + 1)):
        raise Broken("trip numbers contiguous", f"stored trip numbers are {numbers[:5]}...{numbers[-5:]}")
    by_no = {t["trip_no"]: t for t in s.trips}
    for no, digest in sorted(known.items()):
        if no not in by_no:
            raise Broken("no trip lost", f"trip {no} was committed and is gone")
        if by_no[no]["digest"] != digest:
            raise Broken("no trip changed", f"trip {no} was stored as {digest[:12]} and is now {by_no[no]['digest'][:12]}")
    previous = None
    for trip in s.trips:
        if not verify_record(trip):
            raise Broken("trip digests", f"trip {trip['trip_no']} does not match its digest")
        if previous is not None and trip["board_ms"] < previous["end_ms"]:
            raise Broken("no trip duplicated", f"trip {trip['trip_no']} boards at {trip['board_ms']}, before trip "
                                               f"{previous['trip_no']} ended at {previous['end_ms']}")
        previous = trip
        known[trip["trip_no"]] = trip["digest"]
    check_totalisers(s.trips, s.totalisers)
    check_snapshot(s.trips, s.snapshot)
    check_shift(s.snapshot, s.open_shift)
    if not s.audit_ok:
        raise Broken("audit chain verifies", s.audit_reason)


def trip_sums(trips: list) -> dict:
    return {
        "hirings": len(trips),
        "fares_fen": sum(t["fare_fen"] for t in trips),
        "extras_fen": sum(t["extras_fen"] for t in trips),
        "waiting_ms": sum(t["waiting_ms"] for t in trips),
        "power_losses": sum(1 for t in trips if "power_loss" in t["flags"]),
        "hired_m": sum(t["distance_m"] for t in trips),
        "paused_m": sum(t["paused_m"] for t in trips),
        "empty_m": sum(t["empty_m"] for t in trips),
    }


def check_totalisers(trips: list, totalisers: dict | None) -> None:
    if not trips:
        if totalisers is not None:
            raise Broken("totalisers = sum of trips", f"totalisers stored without any trip: {totalisers}")
        return
    sums = trip_sums(trips)
    wrong = {k: (totalisers.get(k), v) for k, v in sums.items() if totalisers.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k} stored {a} but the trips sum to {b}" for k, (a, b) in sorted(wrong.items()))
        raise Broken("totalisers = sum of trips", detail)
    if totalisers["total_m"] != totalisers["hired_m"] + totalisers["paused_m"] + totalisers["empty_m"]:
        raise Broken("totalisers = sum of trips", f"total_m {totalisers['total_m']} is not hired+paused+empty")


def check_snapshot(trips: list, snapshot: dict | None) -> None:
    """The meter's saved state must know every stored trip: a restart would otherwise close one again."""
    if snapshot is None:
        if trips:
            raise Broken("meter state saved with the trips", f"{len(trips)} trips stored and no meter state")
        return
    n = len(trips)
    totals = snapshot["totals"]
    open_no = snapshot["trip"]["trip_no"] if snapshot["trip"] else None
    if open_no is not None and open_no <= n:
        raise Broken("meter state saved with the trips",
                     f"trip {open_no} is stored, but the saved meter state still has it open "
                     f"({snapshot['state']}); a restart closes it a second time")
    sums = trip_sums(trips)
    for key in ("fares_fen", "extras_fen", "waiting_ms", "power_losses"):
        if totals[key] != sums[key]:
            raise Broken("meter state saved with the trips",
                         f"saved meter totaliser {key}={totals[key]}, stored trips sum to {sums[key]}")
    expected_hirings = n + (1 if open_no is not None else 0)
    if totals["hirings"] != expected_hirings:
        raise Broken("meter state saved with the trips",
                     f"saved meter counts {totals['hirings']} hirings, storage {n} trips"
                     f"{' and one open' if open_no else ''}")


def check_shift(snapshot: dict | None, open_shift: dict | None) -> None:
    """The meter's saved shift and the stored open shift are the same one (or both absent)."""
    saved = snapshot["shift_info"] if snapshot else None
    if saved is None and open_shift is None:
        return
    if saved is None:
        raise Broken("meter state saved with the shifts",
                     f"shift {open_shift['shift_id']} is open in storage, the saved meter state has no shift; "
                     "the next sign-in is refused by storage")
    if open_shift is None:
        raise Broken("meter state saved with the shifts",
                     f"the saved meter state has a shift since {saved['start_ms']}, storage has none open; "
                     "the next sign-out is refused by storage")
    if open_shift["sign_in_ms"] != saved["start_ms"]:
        raise Broken("meter state saved with the shifts",
                     f"stored open shift signed in at {open_shift['sign_in_ms']}, saved meter shift at "
                     f"{saved['start_ms']}")


def expected_restart(snapshot: dict | None, now: int) -> tuple[str, int | None]:
    """What a start at ``now`` must do with the saved meter: ("none"|"resume"|"close", trip_no)."""
    if snapshot is None or snapshot["trip"] is None:
        return "none", None
    off_ms = snapshot["t"] if snapshot["powered"] else snapshot["off_ms"]
    gap = now - off_ms
    return ("close" if gap > DIP_MS else "resume"), snapshot["trip"]["trip_no"]


def check_restart(before: StoredState, ready: dict, closed_at_start: list[int], after: StoredState) -> None:
    """An interrupted trip resumes after a short dip, or is closed with the flag power_loss after a long loss.

    ``closed_at_start`` are the trips the target committed before it said ready.
    """
    what, trip_no = expected_restart(before.snapshot, ready["ready"])
    if what == "resume":
        if closed_at_start:
            raise Broken("interrupted trip resumes after a short dip", f"trip {trip_no} was closed by a short dip")
        if ready["trip_no"] != trip_no or ready["state"] != before.snapshot["state"]:
            raise Broken("interrupted trip resumes after a short dip",
                         f"trip {trip_no} was {before.snapshot['state']}; after the dip the meter is "
                         f"{ready['state']} with trip {ready['trip_no']}")
    elif what == "close":
        if closed_at_start != [trip_no]:
            raise Broken("interrupted trip closed after a long loss",
                         f"trip {trip_no} was open; the start closed {closed_at_start or 'nothing'}")
        flags = after.trips[trip_no - 1]["flags"]
        if "power_loss" not in flags:
            raise Broken("interrupted trip closed after a long loss", f"trip {trip_no} stored with flags {flags}, "
                                                                      "without power_loss")
        if ready["state"] != "for_hire":
            raise Broken("interrupted trip closed after a long loss", f"meter is {ready['state']} after closing it")
    elif closed_at_start:
        raise Broken("no trip duplicated", f"no trip was open, yet the start closed {closed_at_start}")


# --------------------------------------------------------------------------------------------------
# the driver of the drill
# --------------------------------------------------------------------------------------------------

@dataclass
class Kill:
    """How one round ends: at a kill point, or ``delay_s`` after ready (or after the spawn if ``early``)."""

    down_ms: int
    point: str | None = None
    delay_s: float = 0.0
    early: bool = False

    def __str__(self) -> str:
        how = f"right after {self.point}" if self.point else (
            f"{self.delay_s * 1000:.0f} ms after {'spawn' if self.early else 'ready'}")
        return f"killed {how}, power off {self.down_ms / 1000:g} s"


def plan_kill(rng: random.Random) -> Kill:
    down_ms = rng.randrange(0, 6000) if rng.random() < 0.5 else rng.randrange(20_000, 4 * 3600_000)
    roll = rng.random()
    if roll < 0.4:
        point = rng.choice(KILL_POINTS)
        # how many of them pass before the kill: trips and shifts are rarer than snapshots
        n = rng.randrange(1, 12) if point in ("save_meter_state", "trip_snapshot") else rng.choice((1, 1, 2, 3))
        return Kill(down_ms, point=f"{point}:{n}")
    if roll < 0.5:
        return Kill(down_ms, delay_s=rng.uniform(0.0, 0.6), early=True)
    return Kill(down_ms, delay_s=rng.uniform(0.0, 0.25))


@dataclass
class DrillReport:
    kills: int
    survived: int = 0
    rounds: list = field(default_factory=list)
    failure: str | None = None
    trips: int = 0
    restarts_resumed: int = 0
    restarts_closed: int = 0
    killpoints_hit: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None and self.survived == self.kills

    def summary(self) -> str:
        head = (f"{self.survived} of {self.kills} kills survived; {self.trips} trips stored; "
                f"{self.restarts_resumed} trips resumed after a short dip, {self.restarts_closed} closed after a "
                f"long loss; {self.killpoints_hit} kills at kill points; {self.seconds:.1f} s")
        return head if self.failure is None else head + "\nFIRST BROKEN: " + self.failure


class Target:
    """One spawned target process and the lines it printed."""

    def __init__(self, state_dir: Path, seed: int, down_ms: int, kill_after: str | None = None,
                 trips: int | None = None) -> None:
        args = [sys.executable, "-m", "sim.killpoints", "target", "--state", str(state_dir), "--seed", str(seed),
                "--down-ms", str(down_ms)]
        if kill_after:
            args += ["--kill-after", kill_after]
        if trips is not None:
            args += ["--trips", str(trips)]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[dict] = []
        self.ready = threading.Event()
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._errs = threading.Thread(target=self._read_err, daemon=True)
        self._errs.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            message = json.loads(line)
            self.lines.append(message)
            if "ready" in message:
                self.ready.set()
        self.ready.set()  # the process ended: nobody waits for a ready that will not come

    def _read_err(self) -> None:
        self.stderr = self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        self._errs.join(5)
        return code

    def first(self, key: str) -> dict | None:
        return next((m for m in self.lines if key in m), None)

    def all(self, key: str) -> list[dict]:
        return [m for m in self.lines if key in m]

    def closed_at_start(self) -> list[int]:
        closed = []
        for message in self.lines:
            if "ready" in message:
                return closed
            if "stored" in message:
                closed.append(message["stored"])
        return closed

    def error_tail(self) -> str:
        lines = [line for line in self.stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {self.proc.returncode}"


class Drill:
    """Provision a state directory, then kill and restart the target ``kills`` times, checking after each."""

    def __init__(self, directory: Path, seed: int = 1, ready_timeout_s: float = 30.0) -> None:
        self.dir = Path(directory)
        self.state_dir = self.dir / "state"
        self.seed = seed
        self.rng = random.Random(seed)
        self.ready_timeout_s = ready_timeout_s
        self.known: dict[int, str] = {}

    def provision(self) -> None:
        from sim.provision import provision_state

        provision_state(self.state_dir, device_id="KP-0001")

    def run(self, kills: int, progress=None) -> DrillReport:
        started = time.monotonic()
        report = DrillReport(kills)
        if not self.state_dir.exists():
            self.provision()
        spawns = 0
        readies = 0
        before = read_state(self.state_dir)
        for number in range(1, kills + 1):
            kill = plan_kill(self.rng)
            try:
                after, target = self._round(kill, before)
                spawns += 1
                readies += 1 if target.first("ready") else 0
                if not readies <= after.power_ons <= spawns:
                    raise Broken("every start in the audit trail",
                                 f"{after.power_ons} power_on records for {readies} starts of {spawns} spawns")
            except Broken as exc:
                report.failure = f"kill #{number} ({kill}): {exc}"
                break
            report.survived += 1
            report.rounds.append(str(kill))
            report.killpoints_hit += 1 if target.first("killpoint") else 0
            what, _ = expected_restart(before.snapshot, target.first("ready")["ready"]) \
                if target.first("ready") else ("none", None)
            report.restarts_resumed += what == "resume"
            report.restarts_closed += what == "close"
            before = after
            if progress:
                progress(number, report)
        if report.failure is None:
            try:
                self._final(before)
            except Broken as exc:
                report.failure = f"final clean run after {kills} kills: {exc}"
                report.survived -= 1    # the last kill left a terminal that cannot run a shift
        report.trips = len(self.known)
        report.seconds = time.monotonic() - started
        return report

    def _round(self, kill: Kill, before: StoredState) -> tuple[StoredState, Target]:
        point = kill.point
        target = Target(self.state_dir, self.seed, kill.down_ms, kill_after=point)
        try:
            if kill.early:
                time.sleep(kill.delay_s)
                target.kill()
            elif point is None:
                if not target.ready.wait(self.ready_timeout_s):
                    raise Broken("the terminal starts again", f"no ready line within {self.ready_timeout_s} s")
                time.sleep(kill.delay_s)
                target.kill()
            else:
                try:
                    target.wait(2.0)
                except subprocess.TimeoutExpired:
                    target.kill()        # the kill point was not reached soon enough: kill it anyway
            code = target.wait(10)
        finally:
            target.kill()
        if code != -signal.SIGKILL:
            raise Broken("the terminal starts again", f"target ended with status {code}: {target.error_tail()}")
        if not kill.early and target.first("ready") is None and target.first("killpoint") is None:
            raise Broken("the terminal starts again", f"it died before ready: {target.error_tail()}")
        self._faults(target)
        for message in target.all("stored"):
            if self.known.get(message["stored"], message["digest"]) != message["digest"]:
                raise Broken("no trip changed", f"trip {message['stored']} committed twice with different records")
            self.known[message["stored"]] = message["digest"]
        after = read_state(self.state_dir)
        check_stored(after, self.known)
        ready = target.first("ready")
        if ready is not None:
            check_restart(before, ready, target.closed_at_start(), after)
        return after, target

    def _faults(self, target: Target) -> None:
        fault = target.first("fault")
        if fault is not None:
            raise Broken("no software fault", f"the loop swallowed {fault['fault']} on a {fault['event']} event")

    def _final(self, before: StoredState) -> None:
        """A clean run after the last kill: the terminal starts, closes trips and shuts down normally."""
        target = Target(self.state_dir, self.seed, 1000, trips=2)
        try:
            code = target.wait(60)
        except subprocess.TimeoutExpired:
            target.kill()
            raise Broken("the terminal runs a shift after the kills", "no clean end within 60 s") from None
        if code != 0 or target.first("done") is None:
            raise Broken("the terminal runs a shift after the kills", f"exit status {code}: {target.error_tail()}")
        self._faults(target)
        for message in target.all("stored"):
            self.known[message["stored"]] = message["digest"]
        after = read_state(self.state_dir)
        check_stored(after, self.known)
        check_restart(before, target.first("ready"), target.closed_at_start(), after)
        if after.snapshot["trip"] is not None:
            raise Broken("the terminal runs a shift after the kills", "a trip is still open after a clean end")


def drill(kills: int, seed: int = 1, directory: Path | None = None, progress=None) -> DrillReport:
    """Run a whole drill in ``directory`` (a fresh temporary one by default)."""
    if directory is not None:
        return Drill(directory, seed).run(kills, progress)
    with tempfile.TemporaryDirectory(prefix="killpoints-") as tmp:
        return Drill(Path(tmp), seed).run(kills, progress)


# --------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.killpoints", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("target", help="one terminal process running the simulated shift")
    t.add_argument("--state", required=True, type=Path, help="provisioned state directory")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--down-ms", type=int, default=0, help="how long the power was off before this start")
    t.add_argument("--kill-after", metavar="POINT:N", help=f"SIGKILL after the Nth commit of POINT ({', '.join(KILL_POINTS)})")
    t.add_argument("--trips", type=int, help="end cleanly after closing this many trips")
    t.add_argument("--max-steps", type=int, default=10_000_000)
    d = sub.add_parser("drill", help="kill and restart the target, checking every invariant after each kill")
    d.add_argument("--kills", type=int, default=200)
    d.add_argument("--seed", type=int, default=1)
    d.add_argument("--dir", type=Path, help="keep the state here (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.command == "target":
        if args.down_ms < 0:
            parser.error("--down-ms must not be negative")
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        try:
            KillSwitch(args.kill_after)
        except ValueError as exc:
            parser.error(str(exc))
        return run_target(args.state, args.seed, args.down_ms, args.kill_after, args.trips, args.max_steps)
    if args.dir is not None and args.dir.exists() and any(args.dir.iterdir()):
        parser.error(f"--dir {args.dir} is not empty; the drill starts from a freshly provisioned terminal")

    def progress(number: int, report: DrillReport) -> None:
        if number % 20 == 0:
            print(f"{number} kills survived", file=sys.stderr)

    report = drill(args.kills, args.seed, args.dir, progress)
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
