"""Software identification (WELMEC 7.2): version, checksum of the legally relevant code, sealed manifest.

The legally relevant code is the declared list ``LEGALLY_RELEVANT`` (meter/ and every module
that feeds, stores, signs or displays legal data). Its digest is SHA-256 over
the files sorted by relative path, each fed as ``path NUL length NUL bytes``. A
*sealed manifest* (a vendor-signed envelope written at provisioning or update) records
the digest the code must have; ``verify_identity`` recomputes it at start. A mismatch
makes ``IdentityStatus.ok`` false: the terminal must refuse to meter (permanent error)
while reporting and the alarm keep working. See docs/identity.md.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
from pathlib import Path
from typing import TYPE_CHECKING

import meter
import terminal
from terminal.trust import signing

if TYPE_CHECKING:   # keys are ed25519.py's or cryptography's; neither module is needed to hold them
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST_KIND = "meter-manifest"
MANIFEST_FILE = "meter-manifest.json"


class IdentityError(ValueError):
    """The legally relevant code cannot be read or a manifest is malformed."""


def default_code_root() -> Path:
    """The directory that holds the running ``meter/`` package."""
    return Path(meter.__file__).resolve().parent.parent


# The legally relevant software (WELMEC 7.2 / OIML D 31): the one declared list, docs/identity.md.
# A directory ends in "/" (every .py under it); a module is a path. What feeds, computes, stores,
# signs or displays legal data is here; what only transports it (MQTT, the sign, GNSS) is not.
LEGALLY_RELEVANT = (
    "meter/",                         # the meter: tariff, fare, odometer, totalisers, trip record
    "terminal/trust/",                # signatures, audit chain and ledger, seal, identity, tariffs, export, inspect
    "terminal/app/metering.py",       # feeds the meter, closes and stores trips, applies K
    "terminal/app/runtime.py",        # opens key, tariff and database; builds the meter
    "terminal/app/cabin.py",          # what the driver's display shows (fare, faults)
    "terminal/storage/database.py",   # stores trips, totalisers and the meter snapshot
    "drivers/pulse.py",               # counts the speed sensor's pulses
    "drivers/screens.py",             # renders the legal display
    "printer/receipt.py",             # the printed receipt
)


def meter_files(code_root: Path) -> list[tuple[str, bytes]]:
    """(relative posix path, bytes) of every legally relevant file present, sorted by path."""
    code_root = Path(code_root)
    if not (code_root / "meter").is_dir():
        raise IdentityError(f"no meter/ directory under {code_root}")
    paths = []
    for entry in LEGALLY_RELEVANT:
        if entry.endswith("/"):
            paths += [p for p in (code_root / entry).rglob("*.py") if "__pycache__" not in p.parts] \
                if (code_root / entry).is_dir() else []
        elif (code_root / entry).is_file():
            paths.append(code_root / entry)
    files = []
    for path in paths:
        rel = path.relative_to(code_root).as_posix()
        try:
            files.append((rel, path.read_bytes()))
        except OSError as exc:
            raise IdentityError(f"cannot read {rel}: {exc.strerror}") from None
    if not any(rel.startswith("meter/") for rel, _ in files):
        raise IdentityError(f"meter/ under {code_root} holds no .py files")
    return sorted(files)


def bytecode_problem(code_root: Path, files: list[tuple[str, bytes]]) -> str | None:
    """The code hashed must be the code executed: a cached .pyc that does not compile-equal its
    source (stale, or altered with the source restored) is named; None when all agree."""
    for rel, data in files:
        path = Path(code_root) / rel
        try:
            cached = Path(importlib.util.cache_from_source(str(path)))
        except (NotImplementedError, ValueError):
            return None
        if not cached.exists():
            continue
        try:
            blob = cached.read_bytes()
            loaded = marshal.loads(blob[16:])
            same = loaded == compile(data, str(path), "exec", dont_inherit=True)
        except (OSError, ValueError, EOFError, TypeError, SyntaxError):
            same = False
        if not same:
            return f"bytecode {cached.relative_to(code_root).as_posix()} differs from its source {rel} " \
                   "(stale or altered): delete it, or reinstall"
    return None


def digest_files(files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for rel, data in files:
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode("ascii") + b"\0" + data)
    return h.hexdigest()


def meter_digest(code_root: Path | None = None) -> str:
    return digest_files(meter_files(code_root or default_code_root()))


def software_id(version: str, digest: str) -> str:
    """The short form for receipts, display and audit records: ``taxiterm 0.1.0 meter:3f2a9c1b``."""
    return f"taxiterm {version} meter:{digest[:8]}"


def identity_checksum(version: str, digest: str, tariff_digest: str | None) -> str:
    """SHA-256 over version, code digest and installed tariff digest: the whole legal identity."""
    return hashlib.sha256(
        signing.canonical_json({"version": version, "meter_digest": digest, "tariff_digest": tariff_digest})
    ).hexdigest()


def make_manifest(code_root: Path, version: str, t_ms: int) -> dict:
    files = meter_files(code_root)
    return {
        "kind": MANIFEST_KIND,
        "version": version,
        "meter_digest": digest_files(files),
        "files": {rel: hashlib.sha256(data).hexdigest() for rel, data in files},
        "sealed_ms": t_ms,
    }


def find_manifest(code_root: Path | None, provisioned: Path) -> bytes | None:
    """The sealed manifest that travels with the code (an update slot's meter-manifest.json),
    else the one installed at provisioning; None when there is neither."""
    root = Path(code_root) if code_root else default_code_root()
    for path in (root / MANIFEST_FILE, Path(provisioned)):
        if path.exists():
            return path.read_bytes()
    return None


def seal_manifest(vendor_key: Ed25519PrivateKey, manifest: dict) -> bytes:
    """The manifest file's bytes: a canonical envelope signed with the vendor key."""
    return signing.envelope_bytes(vendor_key, "manifest", manifest)


def open_manifest(data: bytes, vendor_key: Ed25519PublicKey) -> dict:
    """Verify a sealed manifest file against the vendor key and check its shape."""
    manifest = signing.open_envelope_bytes(data, vendor_key, "manifest", "software manifest")
    return check_manifest_shape(manifest)


def check_manifest_shape(manifest: dict) -> dict:
    if manifest.get("kind") != MANIFEST_KIND:
        raise IdentityError("software manifest: kind is not meter-manifest")
    for key in ("version", "meter_digest"):
        if not isinstance(manifest.get(key), str):
            raise IdentityError(f"software manifest: {key} missing")
    if not isinstance(manifest.get("files"), dict):
        raise IdentityError("software manifest: files missing")
    return manifest


class IdentityStatus:
    """What the start-up check found. ``ok`` false means: metering must refuse, permanently."""

    def __init__(self, ok: bool, software_id: str, meter_digest: str | None, expected: str | None, reason: str,
                 version: str, tariff_digest: str | None = None) -> None:
        self.ok = ok
        self.software_id = software_id
        self.meter_digest = meter_digest
        self.expected = expected
        self.reason = reason
        self.version = version
        self.tariff_digest = tariff_digest

    @property
    def checksum(self) -> str | None:
        if self.meter_digest is None:
            return None
        return identity_checksum(self.version, self.meter_digest, self.tariff_digest)

    def display(self) -> str:
        """One line for the display and receipts, tariff included when one is installed."""
        text = self.software_id
        if self.tariff_digest:
            text += f" tariff:{self.tariff_digest[:8]}"
        return text if self.ok else text + " CODE NOT SEALED"

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "software_id": self.software_id, "version": self.version,
            "meter_digest": self.meter_digest, "expected": self.expected, "tariff_digest": self.tariff_digest,
            "checksum": self.checksum, "reason": self.reason,
        }


def verify_identity(
    manifest_bytes: bytes | None,
    vendor_key: Ed25519PublicKey | None,
    code_root: Path | None = None,
    version: str = terminal.__version__,
    tariff_digest: str | None = None,
) -> IdentityStatus:
    """Recompute the code digest and compare with the sealed manifest. Never raises for a bad manifest."""
    code_root = Path(code_root) if code_root else default_code_root()
    try:
        files = meter_files(code_root)
    except IdentityError as exc:
        return IdentityStatus(False, software_id(version, "?" * 8), None, None, str(exc), version, tariff_digest)
    digest = digest_files(files)
    sid = software_id(version, digest)

    def refuse(reason: str, expected: str | None = None) -> IdentityStatus:
        return IdentityStatus(False, sid, digest, expected, reason, version, tariff_digest)

    if manifest_bytes is None:
        return refuse("no sealed software manifest is installed")
    if vendor_key is None:
        return refuse("no vendor key is installed to check the software manifest")
    try:
        manifest = open_manifest(manifest_bytes, vendor_key)
    except (signing.SignatureError, IdentityError) as exc:
        return refuse(f"sealed manifest rejected: {exc}")
    expected = manifest["meter_digest"]
    if manifest["version"] != version:
        return refuse(f"manifest seals version {manifest['version']}, running {version}", expected)
    if digest != expected:
        sealed = manifest["files"]
        present = {rel: hashlib.sha256(data).hexdigest() for rel, data in files}
        changed = sorted(rel for rel in present.keys() | sealed.keys() if present.get(rel) != sealed.get(rel))
        named = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
        return refuse(f"legally relevant code differs from the sealed manifest: {named or 'digest'}", expected)
    stale = bytecode_problem(code_root, files)
    if stale:
        return refuse(stale, expected)
    return IdentityStatus(True, sid, digest, expected, "code matches the sealed manifest", version, tariff_digest)


def device_identity(state, t_ms: int, code_root: Path | None = None) -> IdentityStatus:
    """The identity of a provisioned terminal (``keys.DeviceState``) at ``t_ms``: code, manifest, tariff in force.

    What the main loop calls at start (and the CLI for ``taxiterm identity``). An installed
    tariff that no longer verifies makes the status not ok as well: metering must refuse.
    """
    from terminal.trust import keys
    from terminal.trust.tariff_store import TariffFileError, TariffStore

    vendor = state.role_key("vendor") if state.role_path("vendor").exists() else None
    manifest = find_manifest(code_root, state.manifest_path)
    tariff_digest, tariff_problem = None, None
    store = TariffStore(state.tariffs)
    try:
        if store.entries():
            found = store.active(t_ms, state.role_key("authority"))
            tariff_digest = found[0].digest if found else None
    except (TariffFileError, keys.KeyFileError) as exc:
        tariff_problem = f"installed tariff rejected: {exc}"
    status = verify_identity(manifest, vendor, code_root, tariff_digest=tariff_digest)
    if tariff_problem and status.ok:
        status.ok = False
        status.reason = tariff_problem
    return status
