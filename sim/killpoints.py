"""Power-fail drill: a simulated shift through the real terminal, killed with SIGKILL and restarted.

The fire drill of the simulator room: its driver and command line. ``Drill`` kills the target
process (``sim.drill_target``, started as ``python -m sim.killpoints target ...``) at random moments
and at chosen kill points, restarts it, and after every kill checks the invariants
(``sim.drill_checks``); the first broken invariant is named with the kill that broke it.
``python -m sim.killpoints drill --kills 200`` runs it. See docs/powerfail.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sim.drill_checks import (  # noqa: F401 - the drill's checks are used through this module too
    Broken,
    StoredState,
    check_restart,
    check_shift,
    check_snapshot,
    check_stored,
    check_totalisers,
    expected_restart,
    read_state,
    trip_sums,
)
from sim.drill_target import DIP_MS, KILL_POINTS, START_MS, KillSwitch, run_target  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


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
                # start-up takes what it takes on a loaded machine (ready is also set if the kill point
                # ends the process first); only then does the point get its two seconds
                if not target.ready.wait(self.ready_timeout_s):
                    raise Broken("the terminal starts again", f"no ready line within {self.ready_timeout_s} s")
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
