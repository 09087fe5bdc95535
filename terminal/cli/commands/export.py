"""``taxiterm export --out FILE``: the signed inspector export of this terminal (docs/inspector.md)."""

from terminal.cli import CommandError
from terminal.cli.commands._output import check_output, write_output
from terminal.cli.commands._seal_common import add_state_arg, now_ms, open_audit, running_identity, state_from
from terminal.storage.database import Storage, StorageError
from terminal.trust import export as export_mod
from terminal.trust.keys import KeyFileError
from terminal.trust.seal import switch_closed_from_audit
from terminal.trust.signing import SignatureError
from terminal.trust.tariff_store import TariffFileError


def register(subparsers) -> None:
    parser = subparsers.add_parser("export", help="write the signed inspector export (one file)")
    add_state_arg(parser)
    parser.add_argument("--out", required=True, metavar="FILE")
    parser.add_argument("--trips", type=int, default=None, metavar="N",
                        help=f"only the newest N trips (at least {export_mod.MIN_TRIPS}; default all stored)")
    parser.set_defaults(func=handler)


def build_export(state, t_ms: int, trips_last: int | None = None) -> bytes:
    status = running_identity(state, t_ms)
    audit = open_audit(state, status.software_id)
    try:
        storage = Storage(state.database)
    except StorageError as exc:
        audit.close()
        raise CommandError(f"cannot open the terminal's database: {exc}") from None
    try:
        data = export_mod.collect(state, storage, audit, t_ms, switch_closed=switch_closed_from_audit(audit),
                                  trips_last=trips_last)
        return export_mod.export(data, state.device_key())
    except (TariffFileError, KeyFileError, SignatureError, StorageError) as exc:
        raise CommandError(f"cannot export: {exc}") from None
    finally:
        storage.close()
        audit.close()


def handler(args) -> int:
    if args.trips is not None and args.trips < export_mod.MIN_TRIPS:
        raise CommandError(f"--trips must be at least {export_mod.MIN_TRIPS}")
    state = state_from(args)
    out = check_output(args.out, "export")
    blob = build_export(state, now_ms(), args.trips)
    write_output(out, blob, "export")
    audit = open_audit(state, running_identity(state, now_ms()).software_id)
    try:
        records = export_mod.read_export(blob)["export"]["audit"]["records"]
        last = f"{records[-1]['counter']}:{records[-1]['hash']}" if records else None
        audit.append("audit_exported", out.name, None, last, actor="inspector")
    finally:
        audit.close()
    print(f"exported {len(blob)} bytes -> {out}")
    return 0
