"""Inspector report: verify an export without trusting the device's word, and render it as text, JSON or HTML.

``inspect(blob, pins)`` runs every check on an export file's bytes and returns a
``Report``: the data plus a list of ``Check`` results, each naming the first bad
record when it fails. Keys given in ``pins`` (device, vendor, authority: public keys
the inspector got from the registry, not from the device) are used instead of the keys
inside the export; unpinned keys give a warning. See docs/inspector.md.
"""

import datetime
import html
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from meter import trip as meter_trip
from terminal.trust import audit as audit_mod
from terminal.trust import identity, keys, signing
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
    try:
        inside = _key_from_export(data, role)
    except keys.KeyFileError as exc:
        checks.append(Check(f"{role} key", False, str(exc)))
        return None
    pinned = pins.get(role)
    if pinned is None:
        if inside is None:
            checks.append(Check(f"{role} key", False, f"no {role} key in the export and none given"))
            return None
        checks.append(Check(f"{role} key", True, f"key {signing.key_id(inside)} taken from the export itself "
                                                 f"(not pinned: give --{role}-key to check it)", warning=True))
        return inside
    if inside is not None and signing.key_id(inside) != signing.key_id(pinned):
        checks.append(Check(f"{role} key", False, f"export carries key {signing.key_id(inside)}, "
                                                   f"the pinned {role} key is {signing.key_id(pinned)}"))
        return pinned
    checks.append(Check(f"{role} key", True, f"pinned key {signing.key_id(pinned)}"))
    return pinned


def inspect(blob: bytes, pins: dict | None = None, code_root: Path | None = None) -> Report:
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
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # A signed export with a missing or mistyped part: a defect to report, not a crash.
        checks.append(Check("export structure", False, f"malformed export data ({type(exc).__name__}: {exc})"))
    return Report(data, checks)


def _run_checks(envelope: dict, data: dict, pins: dict, code_root, checks: list[Check]) -> None:
    device_key = _pick_key(data, pins, "device", checks)
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
    vendor_key = _pick_key(data, pins, "vendor", checks)
    authority_key = _pick_key(data, pins, "authority", checks)
    checks.append(_check_identity(data["software"], vendor_key, code_root))
    if device_key is not None:
        checks.append(_check_audit(data["audit"], device_key))
    checks.append(_check_tariff(data.get("tariff"), authority_key))
    checks.append(_check_trips(data["trips"]))
    checks.append(_check_totalisers(data.get("totalisers"), data["trips"]))
    checks.append(_check_trip_tariffs(data["trips"], data.get("tariff")))


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


# --- rendering -------------------------------------------------------------------------------------------

def _obj(v) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v) -> list:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _utc(t_ms) -> str:
    if not isinstance(t_ms, int) or isinstance(t_ms, bool):
        return "-"
    try:
        return datetime.datetime.fromtimestamp(t_ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
    except (OverflowError, OSError, ValueError):
        return f"{t_ms} ms"


def _fen(v) -> str:
    return f"{v / 100:.2f}" if isinstance(v, int) else "-"


def render_text(report: Report) -> str:
    lines = []
    d = report.data
    if d is not None:
        sw = _obj(d.get("software"))
        lines.append(f"device      {d.get('device_id')}")
        lines.append(f"software    {sw.get('software_id')}")
        seal = _obj(d.get("seal"))
        lines.append(f"seal        switch {'CLOSED (changes allowed)' if seal.get('switch_closed') else 'open'}; "
                     f"audit {seal.get('audit_count')}/{seal.get('audit_capacity')}"
                     f"{' FULL' if seal.get('audit_full') else ''}")
        cal = _obj(d.get("calibration"))
        lines.append(f"K           {cal.get('k')} pulses/km, calibrated {_utc(cal.get('calibrated_ms'))}" if cal.get("k")
                     else f"K           {K_UNCALIBRATED}")
        tariff = _obj(d.get("tariff"))
        active = _obj(tariff.get("active"))
        lines.append(f"tariff      {active.get('tariff_id', '-')} {str(active.get('digest', ''))[:16]}")
        tot = _obj(d.get("totalisers"))
        lines.append("totalisers  " + ", ".join(f"{k}={v}" for k, v in sorted(tot.items())))
        lines.append(f"trips       {len(_list(d.get('trips')))} stored; shifts {len(_list(d.get('shifts')))}")
        lines.append(f"audit       {len(_list(_obj(d.get('audit')).get('records')))} records")
        lines.append("")
    for c in report.checks:
        mark = "OK  " if c.ok and not c.warning else ("WARN" if c.ok else "FAIL")
        lines.append(f"[{mark}] {c.name}: {c.detail}")
    failure = report.first_failure
    lines.append("")
    lines.append("RESULT: all checks passed" if failure is None else f"RESULT: FAILED - {failure.name}: {failure.detail}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


CSS = """body{font-family:sans-serif;margin:1.5em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#eee}.ok{color:#060}.fail{color:#b00;font-weight:bold}.warn{color:#a60}
#result.ok{background:#dfd}#result.fail{background:#fdd}#result{padding:.5em}code{font-size:.85em}"""


def _table(table_id: str, headers: list[str], rows: list[list]) -> str:
    out = [f'<table id="{table_id}"><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(report: Report) -> str:
    """A self-contained page: inline CSS, no scripts, no external resources."""
    failure = report.first_failure
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Taximeter inspection report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>Taximeter inspection report</h1>"]
    if failure is None:
        parts.append('<p id="result" class="ok">RESULT: all checks passed</p>')
    else:
        parts.append(f'<p id="result" class="fail">RESULT: FAILED &mdash; {html.escape(failure.name)}: '
                     f"{html.escape(failure.detail)}</p>")
    parts.append("<h2>Checks</h2>")
    rows = []
    for c in report.checks:
        rows.append([c.name, "OK" if c.ok and not c.warning else ("WARN" if c.ok else "FAIL"), c.detail])
    parts.append(_table("checks", ["check", "result", "detail"], rows))
    d = report.data
    if d is not None:
        sw, seal, cal = _obj(d.get("software")), _obj(d.get("seal")), _obj(d.get("calibration"))
        tariff = _obj(d.get("tariff"))
        active = _obj(tariff.get("active"))
        parts.append("<h2>Device</h2>")
        parts.append(_table("device", ["item", "value"], [
            ["device id", d.get("device_id")], ["software id", sw.get("software_id")],
            ["meter digest", sw.get("meter_digest")], ["seal switch", "closed" if seal.get("switch_closed") else "open"],
            ["audit trail", f"{seal.get('audit_count')} of {seal.get('audit_capacity')}"],
            ["K (pulses/km)", cal.get("k") or K_UNCALIBRATED], ["calibrated", _utc(cal.get("calibrated_ms"))],
            ["tariff in force", active.get("tariff_id")], ["tariff digest", active.get("digest")],
        ]))
        parts.append("<h2>Totalisers</h2>")
        parts.append(_table("totalisers", ["totaliser", "value"], sorted((_obj(d.get("totalisers"))).items())))
        parts.append("<h2>Trips</h2>")
        parts.append(_table("trips", ["trip", "boarded (UTC)", "distance m", "fare", "extras", "total", "tariff",
                                      "digest"],
                            [[t.get("trip_no"), _utc(t.get("board_ms")), t.get("distance_m"), _fen(t.get("fare_fen")),
                              _fen(t.get("extras_fen")), _fen(t.get("total_fen")), t.get("tariff_id"),
                              str(t.get("digest"))[:16]] for t in _list(d.get("trips"))]))
        parts.append("<h2>Shifts</h2>")
        parts.append(_table("shifts", ["shift", "driver", "sign in (UTC)", "sign out (UTC)"],
                            [[s.get("shift_id"), s.get("driver_cert"), _utc(s.get("sign_in_ms")),
                              _utc(s.get("sign_out_ms"))]
                             for s in _list(d.get("shifts"))]))
        parts.append("<h2>Audit trail</h2>")
        parts.append(_table("audit", ["#", "time (UTC)", "event", "parameter", "old", "new", "actor"],
                            [[r.get("counter"), _utc(r.get("t_ms")), r.get("event"), r.get("parameter"), r.get("old"),
                              r.get("new"), r.get("actor")] for r in _list(_obj(d.get("audit")).get("records"))]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
