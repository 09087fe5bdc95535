"""Shared plumbing of the seal, identity, tariff, update and inspector commands: state dir, clock, audit trail."""

import os
import time
from pathlib import Path

from terminal.cli import CommandError
from terminal.trust import identity, keys
from terminal.trust.audit import AuditTrail
from terminal.trust.seal import Seal, switch_closed_from_audit

STATE_ENV = "TAXITERM_STATE"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def add_state_arg(parser) -> None:
    parser.add_argument("--state", metavar="DIR", default=None,
                        help=f"provisioned state directory (default ${STATE_ENV} or {keys.DEFAULT_STATE_DIR})")


def state_from(args, provisioned: bool = True) -> keys.DeviceState:
    state = keys.DeviceState(args.state or os.environ.get(STATE_ENV) or keys.DEFAULT_STATE_DIR)
    if provisioned and not state.provisioned:
        raise CommandError(f"{state.root} is not a provisioned state directory (run 'taxiterm provision device')")
    return state


def read_bytes(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror}") from None


def load_public(path: str):
    try:
        return keys.load_public(Path(path))
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None


def load_private(path: str):
    try:
        return keys.load_private(Path(path))
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None


def running_identity(state: keys.DeviceState, t_ms: int, code_root: Path | None = None) -> identity.IdentityStatus:
    return identity.device_identity(state, t_ms, code_root)


def open_audit(state: keys.DeviceState, software_id: str) -> AuditTrail:
    try:
        return AuditTrail(state.database, state.device_key(), software_id, now_ms, state.audit_capacity())
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None


def device_seal(state: keys.DeviceState, audit: AuditTrail) -> Seal:
    """The seal as the running terminal last recorded its switch in the audit trail."""
    return Seal(state.device_id(), state.role_key("authority"), switch_closed_from_audit(audit))


class Progress:
    """A progress bar on stderr: ``[#####.....]  50% verify``."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.last = None

    def __call__(self, step: str, done: int, total: int) -> None:
        pct = 100 if total <= 0 else min(100, done * 100 // total)
        if (step, pct) == self.last:
            return
        self.last = (step, pct)
        filled = pct * self.width // 100
        end = "\n" if pct == 100 else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {pct:3d}% {step:<12}{end}")
        self.stream.flush()


def running_terminal(state: keys.DeviceState) -> str | None:
    """'a terminal is running on STATE (pid N)' while ``taxiterm run`` holds the state directory, else None:
    what it read at its start (tariffs, K, its own code) it keeps until it is restarted."""
    from terminal.storage.run_lock import RunLock

    pid = RunLock(state.root).holder()
    if pid is None:
        return None
    return f"a terminal is running on {state.root}" + (f" (pid {pid})" if pid else "")
