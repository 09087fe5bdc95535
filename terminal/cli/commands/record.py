"""``taxiterm record export|show``: the driving records for an inspector's file or a technician's screen (docs/recorder.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._output import check_output, write_output
from terminal.cli.commands._seal_common import add_state_arg, now_ms, state_from
from terminal.recorder import export, ring, store
from terminal.recorder.core import NO_SPEED
from terminal.storage.database import Storage, StorageError

BEIJING = dt.timezone(dt.timedelta(hours=8))
DEFAULT_WINDOW_MS = 48 * 3600_000


def register(subparsers) -> None:
    parser = subparsers.add_parser("record", help="the driving records: export a window, or show a summary")
    sub = parser.add_subparsers(dest="record_command", metavar="ACTION", required=True)
    exp = sub.add_parser("export", help="write the records of a time window as JSON lines (and GB/T 19056 blocks)")
    add_state_arg(exp)
    exp.add_argument("--from", dest="from_", metavar="TIME", default=None,
                     help="start: epoch ms or YYYY-MM-DDTHH:MM[:SS] (GMT+8 unless an offset is given); "
                          "default 48 h before --to")
    exp.add_argument("--to", metavar="TIME", default=None, help="end (same forms); default now")
    exp.add_argument("--out", required=True, metavar="FILE", help="JSON lines file")
    exp.add_argument("--gbt", metavar="FILE", default=None, help="also write GB/T 19056 data blocks 00H-15H")
    exp.set_defaults(func=export_handler)
    show = sub.add_parser("show", help="what the recorder holds: coverage, driver, fatigue, last stops")
    add_state_arg(show)
    show.add_argument("--last", type=int, default=5, metavar="N", help="how many of each event to list")
    show.set_defaults(func=show_handler)


def parse_time(text: str, what: str) -> int:
    """Epoch ms, or an ISO date-time (GMT+8 when it names no offset)."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{what} {text!r} is neither epoch ms nor YYYY-MM-DDTHH:MM[:SS]") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=BEIJING)
    return int(when.timestamp() * 1000)


def _open(args) -> Storage:
    state = state_from(args)
    args.device_id = state.device_id()
    try:
        return Storage(state.database)
    except StorageError as exc:
        raise CommandError(f"cannot open the terminal's database: {exc}") from None


def export_handler(args) -> int:
    to_ms = parse_time(args.to, "--to") if args.to else now_ms()
    from_ms = parse_time(args.from_, "--from") if args.from_ else to_ms - DEFAULT_WINDOW_MS
    if from_ms > to_ms:
        raise CommandError("--from is after --to")
    check_output(args.out, "records")
    if args.gbt:
        check_output(args.gbt, "GB/T 19056 blocks")
    storage = _open(args)
    try:
        store.create_tables(storage)
        count = [0]

        def jsonl(tmp: Path) -> None:
            with tmp.open("w", encoding="utf-8") as out:
                count[0] = export.write_jsonl(out, storage, from_ms, to_ms, now_ms=now_ms(),
                                              terminal_id=args.device_id)
        write_output(args.out, jsonl, "records")
        print(f"exported {count[0]} lines -> {args.out}")
        if args.gbt:
            blob = export.gbt_file(storage, from_ms, to_ms, now_ms=now_ms())
            write_output(args.gbt, blob, "GB/T 19056 blocks")
            print(f"GB/T 19056 data blocks: {len(blob)} bytes -> {args.gbt}")
    finally:
        storage.close()
    return 0


def _when(t_ms) -> str:
    if t_ms is None:
        return "-"
    return dt.datetime.fromtimestamp(t_ms / 1000, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _minutes(ms: int) -> str:
    return f"{ms // 3600_000}h{ms % 3600_000 // 60_000:02d}m"


def show_handler(args) -> int:
    if args.last < 0:
        raise CommandError("--last must not be negative")
    storage = _open(args)
    try:
        store.create_tables(storage)
        print("\n".join(summary(storage, args.last)))
    finally:
        storage.close()
    return 0


def summary(storage, last: int) -> list[str]:
    lines = []
    span = storage.query("SELECT MIN(minute_ms), MAX(minute_ms), COUNT(*) FROM rec_speed")[0]
    recorded = 0
    newest = None
    if span[2]:
        for minute_ms, data in storage.query("SELECT minute_ms, data FROM rec_speed ORDER BY minute_ms DESC LIMIT 1"):
            secs = store.seconds(data)
            known = [i for i, s in enumerate(secs) if s[0] != NO_SPEED]
            newest = (minute_ms + known[-1] * 1000, secs[known[-1]]) if known else None
        recorded = sum(sum(1 for s in store.seconds(d) if s[0] != NO_SPEED)
                       for (d,) in storage.query("SELECT data FROM rec_speed"))
    lines.append(f"speed (1 s):     {recorded} seconds recorded, {_when(span[0])} .. {_when(span[1])} "
                 f"(ring of {ring.SPEED_MINUTES} minutes)")
    if newest:
        t, (speed, status, source) = newest
        lines.append(f"  newest second: {_when(t)} {speed / 10:.1f} km/h status 0x{status:02X} "
                     f"source {'-PG'[source] if source < 3 else '?'}")
    pos = storage.query("SELECT MIN(minute_ms), MAX(minute_ms), COUNT(*) FROM rec_position")[0]
    lines.append(f"position (1 min): {pos[2]} minutes, {_when(pos[0])} .. {_when(pos[1])} "
                 f"(ring of {ring.POSITION_MINUTES} minutes)")
    state = store.saved_state(storage) or {}
    fatigue = state.get("fatigue") or {}
    run = fatigue.get("run")
    driver = fatigue.get("driver") or "(nobody signed in)"
    lines.append(f"driver:          {driver}; continuous driving {_minutes(run['driven'] if run else 0)}, "
                 f"today {_minutes((fatigue.get('daily') or {}).get(fatigue.get('driver', ''), 0))}; "
                 f"alarms: {', '.join(k for k, v in (fatigue.get('alarms') or {}).items() if v) or 'none'}")
    if (state.get("overspeed") or {}).get("active"):
        lines.append("overspeed:       ACTIVE")
    for kind in export.EVENT_KINDS:
        total = storage.query("SELECT COUNT(*) FROM rec_event WHERE kind = ?", (kind,))[0][0]
        lines.append(f"{kind + ':':16} {total} kept (ring of {ring.EVENT_CAPACITY[kind]})")
        for body in store.last_events(storage, kind, last) if last else []:
            lines.append("  " + _event_text(kind, body))
    return lines


def _event_text(kind: str, body: dict) -> str:
    if kind == "stop":
        speeds = [s for s, _ in body["samples"] if s != NO_SPEED]
        top = max(speeds) / 10 if speeds else 0
        return (f"{_when(body['t_ms'])} {body['reason']}, top {top:.1f} km/h in the last "
                f"{len(body['samples']) * body['interval_ms'] / 1000:.0f} s, at {json.dumps(body.get('position'))}")
    if kind == "overtime":
        return f"{body['driver_cert'] or '-'} {_when(body['start_ms'])} .. {_when(body['end_ms'])} " \
               f"({_minutes(body['driven_ms'])} driving)"
    if kind == "overspeed":
        return f"{_when(body['start_ms'])} .. {_when(body['end_ms'])} top {body['top_01kmh'] / 10:.1f} km/h, " \
               f"limit {body['limit_kmh']} km/h"
    if kind == "driver":
        return f"{_when(body['t_ms'])} {body['event']} {body['driver_cert']}"
    if kind == "speed_status":
        rec, ref = sum(body["recorded"]), sum(body["reference"])
        off = (rec - ref) * 100 / ref if ref else 0.0
        return f"{_when(body['start_ms'])} .. {_when(body['end_ms'])} " \
               f"{'normal' if body['status'] == 1 else 'ABNORMAL'}: the sensor {off:+.1f} % against GNSS"
    cause = {"terminal_off": " (the terminal went down)", "terminal_on": " (the terminal started)"}
    return f"{_when(body['t_ms'])} supply {'on' if body['on'] else 'off'}{cause.get(body.get('cause'), '')}"
