"""Software update: install a verified bundle to the inactive A/B slot, switch atomically, trial, commit or roll back.

Layout under a root directory (configurable; /opt/taxiterm on a device)::

    ROOT/slots/a, ROOT/slots/b   two complete software trees
    ROOT/current -> slots/a      symlink the service starts from; replaced with rename()
    ROOT/update-state.json       present only while a new slot is on trial

Steps, each in the audit trail: the bundle is verified completely (signature, target,
no downgrade, every file's hash) before anything is written; files go to the inactive
slot (hashes checked again while writing); the trial marker is written; ``current`` is
switched; the health check command runs with TAXITERM_SLOT set; exit 0 commits, anything
else switches back. A trial interrupted by power loss is rolled back by ``recover`` at
the next start (as RAUC/Mender do when a trial boot is not committed). See docs/updates.md.
"""

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from terminal.update import bundle as update_bundle
from terminal.update.bundle import BundleError, Progress

STATE_FILE = "update-state.json"
BUNDLE_DIR = ".bundle"
SLOTS = ("a", "b")


class UpdateError(Exception):
    """An update refused or rolled back; the message says which step and why."""


def _fsync_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Slots:
    """The A/B layout under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.current_link = self.root / "current"
        self.state_file = self.root / STATE_FILE

    def slot_dir(self, slot: str) -> Path:
        return self.root / "slots" / slot

    def active(self) -> str | None:
        if not self.current_link.is_symlink():
            return None
        target = os.readlink(self.current_link)
        slot = Path(target).name
        if slot not in SLOTS:
            raise UpdateError(f"{self.current_link} points at {target}, not at a slot")
        return slot

    def inactive(self) -> str:
        active = self.active()
        return "b" if active == "a" else "a"

    def version(self, slot: str | None) -> str | None:
        if slot is None:
            return None
        path = self.slot_dir(slot) / BUNDLE_DIR / "manifest.json"
        if not path.exists():
            return None
        return json.loads(path.read_text(encoding="utf-8"))["version"]

    def switch(self, slot: str) -> None:
        """Point ``current`` at ``slot`` atomically (a new symlink renamed over the old one)."""
        tmp = self.root / ".current.tmp"
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(f"slots/{slot}", tmp)
        os.replace(tmp, self.current_link)
        _fsync_dir(self.root)

    def trial(self) -> dict | None:
        if not self.state_file.exists():
            return None
        return json.loads(self.state_file.read_text(encoding="utf-8"))


def _audit(audit, event: str, parameter=None, old=None, new=None) -> None:
    if audit is not None:
        audit.append(event, parameter, old, new, actor="updater")


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def install(
    bundle: Path,
    root: Path,
    vendor_key: Ed25519PublicKey,
    audit,
    health_check: str | None,
    installed_version: str,
    target: str = update_bundle.DEFAULT_TARGET,
    progress: Progress = _no_progress,
    timeout_s: float = 120.0,
) -> dict:
    """Verify, install, switch, check and commit ``bundle``; returns {"version", "slot", "previous"}.

    ``installed_version`` is used when no slot holds a bundle yet (first update of a
    factory image). Raises ``UpdateError`` (after auditing it) when refused or rolled back.
    """
    slots = Slots(root)
    name = Path(bundle).name
    if slots.trial() is not None:
        raise UpdateError("a previous update is still on trial; run recovery first")
    if audit is not None and audit.full:
        _audit(audit, "update_refused", name, None, "audit trail full")
        raise UpdateError("audit trail is full: software changes are locked until an inspector acknowledges it")
    active = slots.active()
    running = slots.version(active) or installed_version
    _audit(audit, "update_started", name, running, None)
    try:
        manifest = update_bundle.verify(bundle, vendor_key, running, target, progress)
    except BundleError as exc:
        _audit(audit, "update_refused", name, running, str(exc)[:200])
        raise UpdateError(f"bundle refused, nothing installed: {exc}") from None
    version = manifest["version"]
    _audit(audit, "update_verified", name, running, version)

    slot = slots.inactive()
    slot_dir = slots.slot_dir(slot)
    try:
        _write_slot(bundle, slot_dir, vendor_key, running, target, progress)
    except (BundleError, OSError) as exc:
        shutil.rmtree(slot_dir, ignore_errors=True)
        _audit(audit, "update_refused", name, running, f"install to slot {slot} failed: {exc}"[:200])
        raise UpdateError(f"writing slot {slot} failed, slot cleared, still running {running}: {exc}") from None
    _audit(audit, "update_installed", f"slot {slot}", running, version)

    _fsync_write(slots.state_file, json.dumps({"state": "trial", "from": active, "to": slot,
                                                "version": version, "previous": running}).encode())
    slots.switch(slot)
    _audit(audit, "update_trial", f"slot {slot}", running, version)
    if health_check:        # "health check" is shown only when one runs
        progress("health check", 0, 1)
        ok, why = _health_check(health_check, slot_dir, timeout_s)
        progress("health check", 1, 1)
    else:
        ok, why = True, "no health check configured"
    if not ok:
        _roll_back(slots, active)
        _audit(audit, "update_rolled_back", f"slot {slot}", version, running)
        raise UpdateError(f"health check failed ({why}); rolled back to {running}")
    slots.state_file.unlink()
    _fsync_dir(slots.root)
    _audit(audit, "update_committed", f"slot {slot}", running, version)
    return {"version": version, "slot": slot, "previous": running}


def _write_slot(bundle: Path, slot_dir: Path, vendor_key, running: str, target: str, progress: Progress) -> None:
    if slot_dir.exists():
        shutil.rmtree(slot_dir)
    (slot_dir / BUNDLE_DIR).mkdir(parents=True)

    def installing(step: str, done: int, total: int) -> None:
        progress("install", done, total)

    stream = update_bundle.iterate(bundle, vendor_key, running, target, installing)
    manifest = next(stream)
    for entry, data in stream:  # hashes are checked again: the bundle file may have changed since
        path = slot_dir / entry["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        _fsync_write(path, data, entry["mode"])
    _fsync_write(slot_dir / BUNDLE_DIR / "manifest.json", json.dumps(manifest, sort_keys=True).encode())


def _health_check(command: str | None, slot_dir: Path, timeout_s: float) -> tuple[bool, str]:
    if not command:
        return True, "no health check configured"
    env = dict(os.environ, TAXITERM_SLOT=str(slot_dir))
    try:
        done = subprocess.run(shlex.split(command), cwd=slot_dir, env=env, timeout=timeout_s,
                              capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout_s:g} s"
    except OSError as exc:
        return False, f"cannot run {command!r}: {exc.strerror}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return False, f"exit status {done.returncode}{': ' + tail[0] if tail[0] else ''}"
    return True, "passed"


def _roll_back(slots: Slots, previous: str | None) -> None:
    if previous is None:
        if slots.current_link.is_symlink():
            slots.current_link.unlink()
    else:
        slots.switch(previous)
    slots.state_file.unlink()
    _fsync_dir(slots.root)


def recover(root: Path, audit) -> str | None:
    """At start: roll back a trial that was never committed (power lost mid-update). Returns what was done."""
    slots = Slots(root)
    trial = slots.trial()
    if trial is None:
        return None
    _roll_back(slots, trial["from"])
    _audit(audit, "update_rolled_back", f"slot {trial['to']}", trial["version"], trial["previous"])
    return f"interrupted trial of {trial['version']} rolled back to {trial['previous']}"
