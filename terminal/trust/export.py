"""Inspector export: one signed file with everything an inspector checks, built from plain data.

``export(data, device_key)`` turns plain data into the file's bytes: the canonical JSON
of ``{"export": data, "format": ..., "key_id": ..., "signature": ...}`` plus a newline,
signed by the device key (purpose "export"). ``read_export`` accepts only those exact
bytes, so one changed byte anywhere is detected. ``collect`` is the thin shell that
gathers the data from a provisioned state directory and the terminal's database.
See docs/inspector.md for every field.
"""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.trust import identity, keys, signing
from terminal.trust.audit import AuditTrail
from terminal.trust.tariff_store import TariffStore

FORMAT = "taxiterm-export/1"
MIN_TRIPS = 100
CALIBRATION_KV = "calibration"  # Storage kv: {"k": pulses per km, "calibrated_ms": ...} (written by calibrate)


class ExportError(ValueError):
    """An export file that cannot be read as a taxiterm export (before any signature check)."""


def export(data: dict, device_key: Ed25519PrivateKey) -> bytes:
    body = signing.canonical_json(data)
    envelope = {
        "export": data,
        "format": FORMAT,
        "key_id": signing.key_id(device_key.public_key()),
        "signature": signing.encode_signature(signing.sign(device_key, "export", body)),
    }
    return signing.canonical_json(envelope) + b"\n"


def read_export(blob: bytes) -> dict:
    """Parse an export file and insist on its exact canonical bytes. The signature is checked by inspect."""
    try:
        envelope = signing.parse_json(blob, "export file")
    except signing.SignatureError as exc:
        raise ExportError(str(exc)) from None
    if not isinstance(envelope, dict) or set(envelope) != {"export", "format", "key_id", "signature"}:
        raise ExportError("export file: not a taxiterm export (needs export, format, key_id, signature)")
    if envelope["format"] != FORMAT:
        raise ExportError(f"export file: format {envelope['format']!r}, expected {FORMAT}")
    if not isinstance(envelope["export"], dict):
        raise ExportError("export file: export is not an object")
    try:
        exact = signing.canonical_json(envelope) + b"\n"
    except TypeError as exc:
        raise ExportError(f"export file: holds a value with no canonical form ({exc})") from None
    if blob != exact:
        raise ExportError("export file: bytes are not in canonical form (altered after signing)")
    return envelope


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def collect(state: keys.DeviceState, storage, audit: AuditTrail, now_ms: int, code_root: Path | None = None,
            switch_closed: bool = False, trips_last: int | None = None) -> dict:
    """Gather the export's plain data. ``storage`` is a ``terminal.storage.Storage`` (or None: no trips yet)."""
    vendor = state.role_key("vendor")
    manifest_bytes = identity.find_manifest(code_root, state.manifest_path)
    status = identity.verify_identity(manifest_bytes, vendor, code_root)
    manifest = signing.parse_json(manifest_bytes, "software manifest") if manifest_bytes else None
    tariff = None
    store = TariffStore(state.tariffs)
    history = store.entries()
    if history:
        entry = history[-1]
        authority = state.role_key("authority")
        current = store.load(entry, authority)
        active = store.active(now_ms, authority)
        sig = (store.directory / (entry["file"] + ".sig")).read_text(encoding="ascii")
        tariff = {
            "file": current.data.decode("utf-8"),
            "signature": sig,
            "schedule_digest": current.digest,
            "active": {"tariff_id": active[0].id, "digest": active[0].digest} if active else None,
            "history": history,
        }
    calibration = None
    trips, shifts, totalisers, meter_state = [], [], None, None
    if storage is not None:
        trips = storage.trips(trips_last)
        shifts = storage.shifts()
        totalisers = storage.totalisers()
        blob = storage.load_meter_state()
        meter_state = signing.parse_json(bytes(blob), "meter snapshot") if blob else None
        raw = storage.kv_get(CALIBRATION_KV)
        calibration = signing.parse_json(raw.encode(), "calibration record") if raw else None
    return {
        "created_ms": now_ms,
        "device_id": state.device_id(),
        "software": {
            "software_id": status.software_id, "version": status.version, "meter_digest": status.meter_digest,
            "identity_ok": status.ok, "identity_reason": status.reason, "manifest": manifest,
        },
        "seal": {"switch_closed": switch_closed, "audit_full": audit.full, "audit_count": audit.count(),
                 "audit_capacity": audit.capacity},
        "calibration": calibration,
        "tariff": tariff,
        "totalisers": totalisers,
        "trips": trips,
        "shifts": shifts,
        "meter_state": meter_state,
        "audit": audit.snapshot(),
        "keys": {
            "device": keys.public_pem(state.device_public()).decode("ascii"),
            "vendor": _read_text(state.role_path("vendor")),
            "authority": _read_text(state.role_path("authority")),
            "device_store": state.key_store(),
            "device_certificate": (signing.parse_json(state.certificate_path.read_bytes(), "device certificate")
                                   if state.certificate_path.exists() else None),
        },
    }
