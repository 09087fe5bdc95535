"""The inspector's report as text and HTML (trust room): units, local time beside UTC, bad rows marked.

Rendering only: ``inspect_report`` decides; this module shows. Amounts in yuan, distances in
km, durations as h:mm:ss, each time in UTC and in the vehicle's local time (the tariff's UTC
offset), the software id the vendor sealed beside the one the device reports, and the record
the first failure names highlighted (class ``bad``) in the trips or audit table.
See docs/inspector.md.
"""

import datetime
import html
import re

from terminal.trust import identity
from terminal.trust.inspect_report import K_UNCALIBRATED

# totaliser name -> (label, unit kind)
TOTALISERS = (
    ("total_m", "total distance", "km"), ("hired_m", "hired distance", "km"), ("empty_m", "empty distance", "km"),
    ("paused_m", "distance while stopped/settling", "km"), ("hirings", "hirings", "count"),
    ("fares_fen", "fares", "yuan"), ("extras_fen", "extras", "yuan"), ("waiting_ms", "waiting time", "h:mm:ss"),
    ("power_losses", "trips with a power loss", "count"),
)


def _obj(v) -> dict:
    return v if isinstance(v, dict) else {}


def _list(v) -> list:
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _time(t_ms, offset_min: int | None = None) -> str:
    if not _is_int(t_ms):
        return "-"
    try:
        utc = datetime.datetime.fromtimestamp(t_ms / 1000, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return f"{t_ms} ms"
    if offset_min is None:
        return utc.strftime("%Y-%m-%d %H:%M:%S") + "Z"
    local = utc + datetime.timedelta(minutes=offset_min)
    sign = "+" if offset_min >= 0 else "-"
    return local.strftime("%Y-%m-%d %H:%M:%S") + f" (UTC{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d})"


def yuan(fen) -> str:
    return f"{fen / 100:.2f} yuan" if _is_int(fen) else "-"


def km(metres) -> str:
    return f"{metres / 1000:.3f} km" if _is_int(metres) else "-"


def hms(ms) -> str:
    if not _is_int(ms):
        return "-"
    s = ms // 1000
    return f"{'-' if s < 0 else ''}{abs(s) // 3600}:{abs(s) // 60 % 60:02d}:{abs(s) % 60:02d}"


def unit(kind: str, value) -> str:
    return {"km": km, "yuan": yuan, "h:mm:ss": hms}.get(kind, lambda v: "-" if v is None else str(v))(value)


def _offset(d: dict) -> int:
    trips = _list(d.get("trips"))
    off = trips[-1].get("utc_offset_min") if trips else None
    return off if _is_int(off) else 480


def expected_software_id(d: dict) -> str | None:
    """The software id the vendor's sealed manifest in the export names (signature checked by inspect)."""
    payload = _obj(_obj(_obj(d.get("software")).get("manifest")).get("payload"))
    if isinstance(payload.get("version"), str) and isinstance(payload.get("meter_digest"), str):
        return identity.software_id(payload["version"], payload["meter_digest"])
    return None


def bad_record(report) -> tuple[str, int] | None:
    """("trip"|"audit", number) of the record the first failure names, if it names one."""
    failure = report.first_failure
    if failure is None:
        return None
    found = re.search(r"(audit record|record|trip) #(\d+)", failure.detail)
    if not found:
        return None
    return ("trip" if found.group(1) == "trip" else "audit"), int(found.group(2))


def _summary(d: dict) -> list[tuple[str, str]]:
    sw, seal, cal = _obj(d.get("software")), _obj(d.get("seal")), _obj(d.get("calibration"))
    active = _obj(_obj(d.get("tariff")).get("active"))
    off = _offset(d)
    store = _obj(d.get("keys")).get("device_store")
    return [
        ("device id", str(d.get("device_id"))),
        ("software id (device)", str(sw.get("software_id"))),
        ("software id (sealed)", str(expected_software_id(d) or "-")),
        ("device key store", {"pkcs11": "PKCS#11 token"}.get(store, f"DEVELOPMENT file key ({store})")),
        ("seal switch", "CLOSED (changes allowed)" if seal.get("switch_closed") else "open"),
        ("audit trail", f"{seal.get('audit_count')} of {seal.get('audit_capacity')} records"
                        f"{' FULL' if seal.get('audit_full') else ''}"),
        ("K", f"{cal.get('k')} pulses/km, calibrated {_time(cal.get('calibrated_ms'))} / "
              f"{_time(cal.get('calibrated_ms'), off)}" if cal.get("k") else K_UNCALIBRATED),
        ("tariff in force", f"{active.get('tariff_id', '-')} {str(active.get('digest', ''))[:16]}"),
        ("exported", f"{_time(d.get('created_ms'))} / {_time(d.get('created_ms'), off)}"),
    ]


def _mark(c) -> str:
    return "OK  " if c.ok and not c.warning else ("WARN" if c.ok else "FAIL")


def render_text(report) -> str:
    lines = []
    d = report.data
    if d is not None:
        for label, value in _summary(d):
            lines.append(f"{label:<34}{value}")
        tot = _obj(d.get("totalisers"))
        for name, label, kind in TOTALISERS:
            if name in tot:
                lines.append(f"{'  ' + label:<34}{unit(kind, tot[name])}")
        lines.append(f"{'trips':<34}{len(_list(d.get('trips')))} stored; shifts {len(_list(d.get('shifts')))}")
        lines.append(f"{'audit':<34}{len(_list(_obj(d.get('audit')).get('records')))} records")
        lines.append("")
    for c in report.checks:
        lines.append(f"[{_mark(c)}] {c.name}: {c.detail}")
    failure = report.first_failure
    lines.append("")
    lines.append(_passed(report) if failure is None else f"RESULT: FAILED - {failure.name}: {failure.detail}")
    return "\n".join(lines) + "\n"


def _passed(report) -> str:
    warned = [c.name for c in report.checks if c.warning]
    return "RESULT: all checks passed" + (f" (warnings: {', '.join(warned)})" if warned else "")


CSS = """body{font-family:sans-serif;margin:1.5em;color:#111}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#eee}.ok{color:#060}.fail{color:#b00;font-weight:bold}.warn{color:#a60}
tr.bad td{background:#fcc;font-weight:bold}
#result.ok{background:#dfd}#result.fail{background:#fdd}#result{padding:.5em}code{font-size:.85em}"""


def _table(table_id: str, headers: list[str], rows: list[list], bad_row: int | None = None) -> str:
    out = [f'<table id="{table_id}"><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for row in rows:
        attr = ' class="bad"' if bad_row is not None and row and row[0] == bad_row else ""
        out.append(f"<tr{attr}>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
                   + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(report) -> str:
    """A self-contained page: inline CSS, no scripts, no external resources."""
    failure = report.first_failure
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>Taximeter inspection report</title>", f"<style>{CSS}</style></head><body>",
             "<h1>Taximeter inspection report</h1>"]
    if failure is None:
        parts.append(f'<p id="result" class="ok">{html.escape(_passed(report))}</p>')
    else:
        parts.append(f'<p id="result" class="fail">RESULT: FAILED &mdash; {html.escape(failure.name)}: '
                     f"{html.escape(failure.detail)}</p>")
    parts.append("<h2>Checks</h2>")
    parts.append(_table("checks", ["check", "result", "detail"],
                        [[c.name, _mark(c).strip(), c.detail] for c in report.checks]))
    d = report.data
    if d is not None:
        bad = bad_record(report)
        off = _offset(d)
        parts.append("<h2>Device</h2>")
        parts.append(_table("device", ["item", "value"], [list(row) for row in _summary(d)]))
        parts.append("<h2>Totalisers</h2>")
        tot = _obj(d.get("totalisers"))
        parts.append(_table("totalisers", ["totaliser", "value", "field"],
                            [[label, unit(kind, tot[name]), name] for name, label, kind in TOTALISERS
                             if name in tot]))
        parts.append("<h2>Trips</h2>")
        parts.append(_table("trips", ["trip", "boarded (UTC)", "boarded (local)", "distance", "waiting", "fare",
                                      "extras", "total", "tariff", "flags", "digest"],
                            [[t.get("trip_no"), _time(t.get("board_ms")),
                              _time(t.get("board_ms"), t.get("utc_offset_min") if _is_int(t.get("utc_offset_min"))
                                    else off),
                              km(t.get("distance_m")), hms(t.get("waiting_ms")), yuan(t.get("fare_fen")),
                              yuan(t.get("extras_fen")), yuan(t.get("total_fen")), t.get("tariff_id"),
                              " ".join(t.get("flags") or []), str(t.get("digest"))[:16]]
                             for t in _list(d.get("trips"))],
                            bad[1] if bad and bad[0] == "trip" else None))
        parts.append("<h2>Shifts</h2>")
        parts.append(_table("shifts", ["shift", "driver", "sign in (UTC)", "sign in (local)", "sign out (UTC)",
                                       "sign out (local)"],
                            [[s.get("shift_id"), s.get("driver_cert"), _time(s.get("sign_in_ms")),
                              _time(s.get("sign_in_ms"), off), _time(s.get("sign_out_ms")),
                              _time(s.get("sign_out_ms"), off)] for s in _list(d.get("shifts"))]))
        parts.append("<h2>Audit trail</h2>")
        parts.append(_table("audit", ["#", "time (UTC)", "time (local)", "event", "parameter", "old", "new", "actor"],
                            [[r.get("counter"), _time(r.get("t_ms")), _time(r.get("t_ms"), off), r.get("event"),
                              r.get("parameter"), r.get("old"), r.get("new"), r.get("actor")]
                             for r in _list(_obj(d.get("audit")).get("records"))],
                            bad[1] if bad and bad[0] == "audit" else None))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
