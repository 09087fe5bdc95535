"""Inspector report: verify an export without trusting the device's word, and render it as text, JSON or HTML.

``inspect(blob, pins)`` runs every check on an export file's bytes and returns a
``Report``: the data plus a list of ``Check`` results, each naming the first bad
record when it fails. Keys given in ``pins`` (device, vendor, authority: public keys
the inspector got from the registry, not from the device) are the roots: the vendor and
authority keys must be pinned (unpinned is a failure), the device key is pinned or certified
by the pinned vendor root. See docs/inspector.md.
"""

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from meter import trip as meter_trip
from terminal.trust import audit as audit_mod
from terminal.trust import identity, keys, ledger, signing
from terminal.trust.export import ExportError, read_export
from terminal.trust.tariff_store import TariffFileError, verify_tariff

# Totalisers that equal sums over the trips (meter/totalisers.py): name -> trip field (None = count).
TRIP_SUMS = {"hirings": None, "hired_m": "distance_m", "fares_fen": "fare_fen", "extras_fen": "extras_fen",
             "waiting_ms": "waiting_ms"}

# K's one legal source is a calibration under the seal; without one the terminal meters with the
# configuration's [meter] k, which is for the sim board (docs/calibration.md, docs/config.md).
K_UNCALIBRATED = "not calibrated under the seal: metered with the configuration's [meter] k (sim board only)"


class Check:
    def __init__(self, name: str, ok: bool, detail: str, warning: bool = False) -> None:
        self.name = name
        self.ok = ok
        self.detail = detail
        self.warning = warning

    def as_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "warning": self.warning, "detail": self.detail}


class Report:
    def __init__(self, data: dict | None, checks: list[Check]) -> None:
        self.data = data
        self.checks = checks

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def as_dict(self) -> dict:
        failure = self.first_failure
        return {"ok": self.ok, "first_failure": failure.as_dict() if failure else None,
                "checks": [c.as_dict() for c in self.checks], "data": self.data}


def _key_from_export(data: dict, role: str) -> Ed25519PublicKey | None:
    pem = _obj(data.get("keys")).get(role)
    if not isinstance(pem, str):
        return None
    return keys.parse_public(pem.encode("ascii"), f"{role} key in the export")


def _pick_key(data: dict, pins: dict, role: str, checks: list[Check]) -> Ed25519PublicKey | None:
    """A root key (vendor, authority) must be pinned by the inspector: the export's own word is no root."""
    try:
        inside = _key_from_export(data, role)
    except keys.KeyFileError as exc:
        checks.append(Check(f"{role} key", False, str(exc)))
        return None
    pinned = pins.get(role)
    if pinned is None:
        shown = f" (the export carries {signing.key_id(inside)})" if inside is not None else ""
        checks.append(Check(f"{role} key", False, f"not pinned: give --{role}-key, the {role}'s public key from "
                                                   f"the registry{shown}"))
        return None
    if inside is not None and signing.key_id(inside) != signing.key_id(pinned):
        checks.append(Check(f"{role} key", False, f"export carries key {signing.key_id(inside)}, "
                                                   f"the pinned {role} key is {signing.key_id(pinned)}"))
        return pinned
    checks.append(Check(f"{role} key", True, f"pinned key {signing.key_id(pinned)}"))
    return pinned


def _device_key(data: dict, pins: dict, vendor_root, checks: list[Check]):
    """The device key: pinned by the inspector, or certified by the pinned vendor root. Else a failure."""
    from terminal.trust import token
    try:
        inside = _key_from_export(data, "device")
    except keys.KeyFileError as exc:
        checks.append(Check("device key", False, str(exc)))
        return None
    pinned = pins.get("device")
    if pinned is not None:
        if inside is not None and signing.key_id(inside) != signing.key_id(pinned):
            checks.append(Check("device key", False, f"export carries key {signing.key_id(inside)}, "
                                                     f"the pinned device key is {signing.key_id(pinned)}"))
        else:
            checks.append(Check("device key", True, f"pinned key {signing.key_id(pinned)}"))
        return pinned
    if inside is None:
        checks.append(Check("device key", False, "no device key in the export and none pinned"))
        return None
    cert = _obj(data.get("keys")).get("device_certificate")
    if cert is None:
        checks.append(Check("device key", False, f"key {signing.key_id(inside)} is not certified (no device "
                                                 "certificate) and not pinned"))
        return inside
    if vendor_root is None:
        checks.append(Check("device key", False, "the device certificate cannot be checked without the pinned "
                                                 "vendor root (--vendor-key)"))
        return inside
    try:
        payload = token.check_certificate(cert, vendor_root, data.get("device_id"), inside)
    except signing.SignatureError as exc:
        checks.append(Check("device key", False, str(exc)))
        return inside
    checks.append(Check("device key", True, f"key {signing.key_id(inside)} ({payload['key_store']}) certified by "
                                            f"the vendor root {signing.key_id(vendor_root)}"))
    return inside


def _check_key_store(data: dict) -> Check:
    store = _obj(data.get("keys")).get("device_store")
    if store == "pkcs11":
        return Check("device key store", True, "PKCS#11 token: the private key cannot be read out")
    return Check("device key store", True, f"DEVELOPMENT file key ({store or 'not stated'}): whoever reads the "
                                           "file can sign as this device", warning=True)


def parse_head(text: str) -> tuple[int, str]:
    """A platform's last known chain head, ``COUNTER:HASH`` (as in trip witnesses and reports)."""
    counter, _, head_hash = text.strip().partition(":")
    if not counter.isdigit() or len(head_hash) != 64 or any(c not in "0123456789abcdef" for c in head_hash):
        raise ValueError(f"chain head must be COUNTER:HASH (64 hex digits), got {text.strip()[:80]!r}")
    return int(counter), head_hash


def _check_platform_head(trail: dict, head: tuple[int, str]) -> Check:
    """The platform (a witness outside the device) saw record ``counter`` with ``hash``: it must be there."""
    name = "platform witness"
    counter, head_hash = head
    records = trail.get("records") or []
    anchor = trail.get("anchor")
    end = records[-1]["counter"] if records else (anchor["counter"] if anchor else 0)
    if counter > end:
        return Check(name, False, f"audit record #{end + 1}: the chain ends at #{end} but the platform saw record "
                                  f"#{counter} (records cut or the database reset)")
    found = next((r for r in records if r["counter"] == counter), None)
    if found is None and anchor and anchor["counter"] == counter:
        found = {"hash": anchor["hash"]}
    if found is None:
        return Check(name, True, f"record #{counter} is archived (acknowledged earlier); not comparable here",
                     warning=True)
    if found["hash"] != head_hash:
        return Check(name, False, f"audit record #{counter}: differs from what the platform saw (the chain diverges)")
    return Check(name, True, f"the chain holds record #{counter} as the platform saw it, and {end - counter} after it")


def inspect(blob: bytes, pins: dict | None = None, code_root: Path | None = None,
            platform_head: tuple[int, str] | None = None) -> Report:
    """Verify every part of an export. ``code_root``: also recompute the running code's digest (on the device)."""
    pins = pins or {}
    checks: list[Check] = []
    try:
        envelope = read_export(blob)
    except ExportError as exc:
        return Report(None, [Check("export file", False, str(exc))])
    data = envelope["export"]
    checks.append(Check("export file", True, f"{len(blob)} bytes, canonical form"))
    try:
        _run_checks(envelope, data, pins, code_root, checks)
        if platform_head is not None:
            checks.append(_check_platform_head(data["audit"], platform_head))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # A signed export with a missing or mistyped part: a defect to report, not a crash.
        checks.append(Check("export structure", False, f"malformed export data ({type(exc).__name__}: {exc})"))
    return Report(data, checks)


def _run_checks(envelope: dict, data: dict, pins: dict, code_root, checks: list[Check]) -> None:
    vendor_key = _pick_key(data, pins, "vendor", checks)
    authority_key = _pick_key(data, pins, "authority", checks)
    device_key = _device_key(data, pins, vendor_key, checks)
    checks.append(_check_key_store(data))
    if device_key is not None:
        try:
            if envelope["key_id"] != signing.key_id(device_key):
                raise signing.SignatureError(f"export signed by key {envelope['key_id']}, "
                                             f"device key is {signing.key_id(device_key)}")
            signing.verify(device_key, "export", signing.canonical_json(data),
                           signing.decode_signature(envelope["signature"], "export"), "export")
            checks.append(Check("export signature", True, f"signed by device {data.get('device_id')}"))
        except signing.SignatureError as exc:
            checks.append(Check("export signature", False, str(exc)))
    checks.append(_check_identity(data["software"], vendor_key, code_root))
    if device_key is not None:
        checks.append(_check_audit(data["audit"], device_key))
    checks.append(_check_tariff(data.get("tariff"), authority_key))
    checks.append(_check_trips(data["trips"]))
    checks.append(_check_totalisers(data.get("totalisers"), data["trips"]))
    checks.append(_check_trip_tariffs(data["trips"], data.get("tariff")))
    if device_key is not None:
        checks.append(_check_ledger(data, device_key))


def _check_identity(software: dict, vendor_key, code_root) -> Check:
    name = "software identity"
    if vendor_key is None:
        return Check(name, False, "no vendor key to check the sealed manifest")
    manifest = software.get("manifest")
    if manifest is None:
        return Check(name, False, "the export holds no sealed software manifest")
    try:
        sealed = identity.check_manifest_shape(signing.open_envelope(manifest, vendor_key, "manifest",
                                                                     "software manifest"))
    except (signing.SignatureError, identity.IdentityError) as exc:
        return Check(name, False, str(exc))
    expected_id = identity.software_id(sealed["version"], sealed["meter_digest"])
    if software["meter_digest"] != sealed["meter_digest"] or software["version"] != sealed["version"]:
        return Check(name, False, f"device reports {software['software_id']} but the sealed manifest is {expected_id}")
    if software["software_id"] != expected_id:
        return Check(name, False, f"software id {software['software_id']!r} does not match {expected_id!r}")
    if not software["identity_ok"]:
        return Check(name, False, f"device reported its own identity check failing: {software['identity_reason']}")
    if code_root is not None:
        here = identity.meter_digest(code_root)
        if here != sealed["meter_digest"]:
            return Check(name, False, f"code on this device ({here[:8]}) differs from the sealed manifest "
                                      f"({sealed['meter_digest'][:8]})")
        return Check(name, True, f"{expected_id}: sealed by the vendor, recomputed from the code here")
    return Check(name, True, f"{expected_id}: sealed by the vendor")


def _check_audit(trail: dict, device_key) -> Check:
    verdict = audit_mod.verify_records(trail["records"], device_key, trail["anchor"])
    if not verdict.ok:
        return Check("audit trail", False, verdict.reason)
    anchor = trail["anchor"]
    since = f" (continues after acknowledged record #{anchor['counter']})" if anchor else ""
    return Check("audit trail", True, f"{verdict.count} records, chain and signatures verified{since}")


def _check_ledger(data: dict, device_key) -> Check:
    """Everything stored held against the chain of legal record (terminal/trust/ledger.py)."""
    name = "legal chain"
    records = data["audit"]["records"]
    seal = _obj(data.get("seal"))
    if seal.get("audit_count") != len(records):
        return Check(name, False, f"audit record #{(records[-1]['counter'] if records else 0) + 1}: the export "
                                  f"says {seal.get('audit_count')} records are held but carries {len(records)}")
    trips = data["trips"]
    tariff = data.get("tariff")
    stored = {"trips": trips, "complete": not trips or trips[0].get("trip_no") == 1,
              "totalisers": data.get("totalisers"),
              "tariffs": [ledger.tariff_core(e) for e in tariff["history"]] if tariff else [],
              "calibration_k": _obj(data.get("calibration")).get("k"),
              "audit_capacity": seal.get("audit_capacity")}
    if "head" in data["audit"]:
        stored["audit_head"] = data["audit"]["head"]
    if "meter_state" in data:
        stored["snapshot_blob"] = (signing.canonical_json(data["meter_state"])
                                   if data["meter_state"] is not None else None)
    facts = ledger.fold(records)
    problems = ledger.check(facts, stored, device_key, {r["counter"]: r["hash"] for r in records})
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check(name, False, f"{problems[0]}{more}")
    if not facts["commissioned"]:
        return Check(name, True, "no legal data yet (meter not commissioned)", warning=True)
    return Check(name, True, f"trips, totalisers, meter snapshot, K, tariff index and audit capacity agree with "
                             f"the chain (last trip #{facts['trip_no']})")


def _check_tariff(tariff: dict | None, authority_key) -> Check:
    name = "tariff"
    if tariff is None:
        return Check(name, True, "no tariff installed", warning=True)
    if authority_key is None:
        return Check(name, False, "no authority key to check the tariff signature")
    try:
        tf = verify_tariff(tariff["file"].encode("utf-8"), tariff["signature"].encode("ascii"), authority_key,
                           "installed tariff")
    except TariffFileError as exc:
        return Check(name, False, str(exc))
    if tf.digest != tariff["schedule_digest"]:
        return Check(name, False, "tariff digest reported by the device does not match the tariff file")
    active = tariff.get("active")
    if active is not None and active["digest"] not in [t.digest for t in tf.tariffs] + _history_digests(tariff):
        return Check(name, False, f"tariff in force {active['tariff_id']} is not among the signed tariffs")
    ids = ", ".join(t.id for t in tf.tariffs)
    return Check(name, True, f"{ids} signed by the authority; digest {tf.digest[:16]}")


def _history_digests(tariff: dict | None) -> list[str]:
    if not tariff:
        return []
    return [d for entry in tariff.get("history", []) for d in entry.get("tariff_digests", [])]


def _check_trips(trips: list) -> Check:
    previous = None
    for position, record in enumerate(trips):
        label = f"trip #{record.get('trip_no', '?') if isinstance(record, dict) else '?'} (position {position})"
        if not isinstance(record, dict) or not meter_trip.verify_record(record):
            return Check("trips", False, f"{label}: digest does not match its contents (altered)")
        if previous is not None and record["trip_no"] != previous + 1:
            return Check("trips", False, f"{label}: follows trip #{previous} (missing, duplicated or reordered)")
        previous = record["trip_no"]
    if not trips:
        return Check("trips", True, "no trips stored")
    return Check("trips", True, f"{len(trips)} trips #{trips[0]['trip_no']}..#{previous}, every digest verified")


def _check_totalisers(totalisers: dict | None, trips: list) -> Check:
    name = "totalisers"
    if totalisers is None:
        return Check(name, not trips, "no totalisers stored" + (" although trips are" if trips else ""))
    complete = bool(trips) and trips[0]["trip_no"] == 1
    if trips and totalisers.get("hirings") != trips[-1]["trip_no"]:
        return Check(name, False, f"hirings totaliser {totalisers.get('hirings')} but the last trip is "
                                  f"#{trips[-1]['trip_no']}")
    for total, field in TRIP_SUMS.items():
        value = totalisers.get(total)
        if value is None:
            return Check(name, False, f"totaliser {total} missing")
        summed = len(trips) if field is None else sum(t[field] for t in trips)
        if complete and value != summed:
            return Check(name, False, f"{total} = {value} but the trips sum to {summed}")
        if not complete and value < summed:
            return Check(name, False, f"{total} = {value} is less than the stored trips' {summed}")
    losses = sum(1 for t in trips if "power_loss" in t["flags"])
    if complete and "power_losses" in totalisers and totalisers["power_losses"] != losses:
        return Check(name, False, f"power_losses = {totalisers['power_losses']} but {losses} trips carry power_loss")
    how = "equal the sums over all trips" if complete else (
        f"cover the stored trips (from #{trips[0]['trip_no']}; earlier trips not stored)" if trips else "no trips")
    return Check(name, True, how)


def _check_trip_tariffs(trips: list, tariff: dict | None) -> Check:
    known = set(_history_digests(tariff))
    for trip in trips:
        if trip["tariff_digest"] not in known:
            return Check("trip tariffs", False, f"trip #{trip['trip_no']}: tariff {trip['tariff_id']} "
                                                f"({trip['tariff_digest'][:12]}) was never installed")
    return Check("trip tariffs", True, f"every trip used an installed signed tariff ({len(known)} known)")


def _obj(v) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v) -> list:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def render_text(report: Report) -> str:
    from terminal.trust import inspect_render
    return inspect_render.render_text(report)


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def render_html(report: Report) -> str:
    from terminal.trust import inspect_render
    return inspect_render.render_html(report)
