"""``taxiterm receipt``: preview a trip's receipt without a printer, print it, ask a printer's status, verify an e-receipt.

render  trip record -> python-escpos -> the printer emulator's parser -> text (standard output) and PNG
print   trip record -> python-escpos -> a printer opened by URL
status  DLE EOT real-time status of a printer opened by URL
verify  an e-receipt link (the receipt's QR code) against the device's public key

The trip record is a JSON object, or a list of them (a day's ``trips.json``) with ``--trip N``.
The vehicle fields come from ``--config FILE`` (the terminal's configuration) or from
``--plate``, ``--company`` and ``--driver-cert``; a receipt is never printed with placeholders.
With a provisioned state directory (``--state``, or the configuration's) the receipt's QR code
carries the device-signed e-receipt link; without one there is no QR code.
"""

from __future__ import annotations

import json
from pathlib import Path

import terminal
from terminal.cli import CommandError


def register(subparsers) -> None:
    parser = subparsers.add_parser("receipt", help="render, print or check receipts",
                                   description="Receipts of trip records (docs/receipt.md, docs/printer.md)")
    sub = parser.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)

    def trip_args(p) -> None:
        p.add_argument("trip_json", metavar="TRIP_JSON",
                       help="the meter's trip record (JSON file), or a list of them with --trip N")
        p.add_argument("--trip", type=int, metavar="N", help="the trip number to take from a list of records")
        p.add_argument("--config", metavar="FILE", help="the terminal's configuration: vehicle, language, state")
        p.add_argument("--state", metavar="DIR", help="provisioned state directory: sign the e-receipt QR link")
        p.add_argument("--lang", choices=("zh", "en"), help="receipt language (default zh, or the configuration's)")
        p.add_argument("--plate", help="vehicle plate")
        p.add_argument("--company", help="operator / company")
        p.add_argument("--driver-cert", help="driver qualification certificate number")
        p.add_argument("--phone", help="supervision phone (default 12328)")
        p.add_argument("--verify-url", help="e-receipt verification base URL (default: the configuration's)")
        p.add_argument("--software", default=f"taxiterm {terminal.__version__}",
                       help="software identity printed on the receipt")
        p.add_argument("--columns", type=int, default=32, help="printer columns: 32 for 58 mm, 48 for 80 mm")
        p.add_argument("--reprint", action="store_true", help="mark the receipt as a reprint (copy)")

    render = sub.add_parser("render", help="render a trip record to text (standard output) and PNG")
    trip_args(render)
    render.add_argument("--png", help="also write the rendered paper here (PNG)")
    render.add_argument("--text", default="-", help="write the rendered text here (UTF-8); default '-': standard output")
    render.set_defaults(func=render_command)

    print_ = sub.add_parser("print", help="print a trip record on a printer")
    trip_args(print_)
    print_.add_argument("--printer", required=True, metavar="URL",
                        help="serial path/URL, tcp://HOST:PORT, usb://VID:PID or dummy://")
    print_.add_argument("--baud", type=int, default=9600, help="serial baud rate (default 9600)")
    print_.add_argument("--force", action="store_true", help="print even if the status query fails")
    print_.set_defaults(func=print_command)

    status = sub.add_parser("status", help="ask a printer's real-time status")
    status.add_argument("--printer", required=True, metavar="URL")
    status.add_argument("--baud", type=int, default=9600)
    status.add_argument("--timeout", type=float, default=0.5, help="seconds to wait for each reply")
    status.set_defaults(func=status_command)

    verify = sub.add_parser("verify", help="check an e-receipt link (the text of a receipt's QR code)")
    verify.add_argument("link", metavar="URL", help="the e-receipt link")
    key = verify.add_mutually_exclusive_group(required=True)
    key.add_argument("--state", metavar="DIR", help="the device's provisioned state directory (its public key)")
    key.add_argument("--public-key", metavar="PEM", help="the device's public key (PEM file)")
    verify.add_argument("--device", help="the device id the link must name")
    verify.add_argument("--trips", metavar="TRIPS_JSON", help="also check the trip against these stored records")
    verify.set_defaults(func=verify_command)


def _load_trip(args) -> dict:
    path = Path(args.trip_json)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path} is not a JSON trip record: {exc}") from exc
    if isinstance(data, list):
        numbers = [t.get("trip_no") for t in data if isinstance(t, dict)]
        if not numbers:       # [] or a list of something else: not the simulator's trips.json
            raise CommandError(f"{path} holds no trip record (a JSON list of {len(data)} item(s), none a trip)")
        if args.trip is None:
            if len(data) != 1:
                raise CommandError(f"{path} holds {len(data)} trip records: choose one with --trip N "
                                   f"(trips {', '.join(map(str, numbers)) or 'none'})")
            return data[0]
        chosen = [t for t in data if isinstance(t, dict) and t.get("trip_no") == args.trip]
        if len(chosen) != 1:
            raise CommandError(f"{path} has no trip {args.trip} (trips {', '.join(map(str, numbers)) or 'none'})")
        return chosen[0]
    if args.trip is not None and isinstance(data, dict) and data.get("trip_no") != args.trip:
        raise CommandError(f"{path} is trip {data.get('trip_no')}, not {args.trip}")
    return data


def _settings(args) -> dict:
    """Vehicle, language, state and verification URL: the command line over the configuration."""
    from terminal.app import config as config_mod

    t = dict(config_mod.DEFAULTS["terminal"])
    if args.config:
        try:
            t = config_mod.load(args.config)["terminal"]
        except config_mod.ConfigError as exc:
            raise CommandError(str(exc)) from exc
    for name in ("plate", "company", "driver_cert"):
        value = getattr(args, name)
        if value is not None:
            t[name] = value
    if args.phone is not None:
        t["supervision_phone"] = args.phone
    if args.lang is not None:
        t["receipt_lang"] = args.lang
    if args.verify_url is not None:
        t["receipt_verify_url"] = args.verify_url
    missing = [f"--{n.replace('_', '-')}" for n in ("plate", "company", "driver_cert") if not t[n].strip()]
    if missing:
        raise CommandError(f"a receipt needs the vehicle: give {', '.join(missing)} (or --config FILE)")
    t["state"] = args.state or (t["state_dir"] if args.config else None)
    return t


def _receipt(args):
    from printer.receipt import ReceiptError, Vehicle, as_reprint, build_receipt

    trip = _load_trip(args)
    t = _settings(args)
    if args.columns not in range(16, 97):
        raise CommandError(f"--columns must be between 16 and 96, got {args.columns}")
    vehicle = Vehicle(t["plate"], t["company"], t["driver_cert"], t["supervision_phone"])
    try:
        link = _link(t, trip, vehicle) if t["state"] else ""
        receipt = build_receipt(trip, vehicle, args.software, t["receipt_lang"], e_receipt_link=link)
    except ReceiptError as exc:
        raise CommandError(f"{args.trip_json}: {exc}") from exc
    return as_reprint(receipt) if args.reprint else receipt


def _link(t: dict, trip: dict, vehicle) -> str:
    from printer.e_receipt import EReceiptError
    from printer.receipt import ReceiptError
    from terminal.trust import keys
    from terminal.trust.receipt_signing import receipt_link

    state = keys.DeviceState(t["state"])
    try:
        return receipt_link(state.device_key(), state.device_id(), t["receipt_verify_url"], trip, vehicle.plate)
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from exc
    except (EReceiptError, KeyError, TypeError) as exc:
        raise ReceiptError(f"cannot make the e-receipt link: {exc}") from exc


def render_command(args) -> int:
    from printer.escpos_out import receipt_bytes
    from printer.preview.parse import EscposParser
    from printer.preview.render import CELL_W, render_png, render_text

    receipt = _receipt(args)
    parser = EscposParser()
    parser.feed(receipt_bytes(receipt, args.columns))
    if len(parser.receipts) != 1:
        raise CommandError(f"the emulator cut {len(parser.receipts)} receipts, expected 1")
    printed = parser.receipts[0]
    dots = args.columns * CELL_W
    try:
        if args.png:
            render_png(printed, args.png, dots)
        if args.text == "-":
            print(render_text(printed, dots), end="")
        elif args.text:
            Path(args.text).write_text(render_text(printed, dots), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {exc.filename}: {exc.strerror}") from exc
    return 0


def print_command(args) -> int:
    from printer.device import PrinterLinkError, PrinterOpenError, open_printer
    from printer.escpos_out import receipt_bytes
    from printer.status import query_status

    receipt = _receipt(args)
    try:
        with open_printer(args.printer, baudrate=args.baud) as printer:
            status = query_status(printer)
            if not status.ready and not args.force:
                raise CommandError(f"printer {args.printer} not ready: {status.reason}"
                                   + (f" ({status.detail})" if status.detail else ""))
            printer.write(receipt_bytes(receipt, args.columns))
    except (PrinterOpenError, PrinterLinkError) as exc:
        raise CommandError(str(exc)) from exc
    print(f"printed receipt of trip {receipt.trip_no} on {args.printer}")
    return 0


def status_command(args) -> int:
    from printer.device import PrinterOpenError, open_printer
    from printer.status import query_status

    if not args.timeout > 0:
        raise CommandError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    try:
        with open_printer(args.printer, baudrate=args.baud) as printer:
            status = query_status(printer, args.timeout)
    except PrinterOpenError as exc:
        raise CommandError(str(exc)) from exc
    print(json.dumps(status.event_data(), ensure_ascii=False))
    return 0 if status.ready else 1


def verify_command(args) -> int:
    from printer.e_receipt import EReceiptError
    from terminal.trust import keys
    from terminal.trust.receipt_signing import check_link
    from terminal.trust.signing import SignatureError

    try:
        if args.state:
            state = keys.DeviceState(args.state)
            public, device = state.device_public(), args.device or state.device_id()
        else:
            public, device = keys.load_public(Path(args.public_key)), args.device
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from exc
    try:
        link = check_link(args.link, public, device)
    except (EReceiptError, SignatureError) as exc:
        print(f"NOT VALID: {exc}")
        return 1
    problems = []
    if args.trips:
        try:
            records = json.loads(Path(args.trips).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read {args.trips}: {exc}") from exc
        records = records if isinstance(records, list) else [records]
        stored = [r for r in records if isinstance(r, dict) and r.get("trip_no") == link["trip_no"]]
        if not stored:
            problems.append(f"trip {link['trip_no']} is not in {args.trips}")
        elif (stored[0].get("total_fen"), stored[0].get("digest")) != (link["total_fen"], link["digest"]):
            problems.append(f"trip {link['trip_no']} in {args.trips} has another total or digest")
    out = {k: link[k] for k in ("device_id", "plate", "trip_no", "total_fen", "alight_ms", "digest")}
    print(json.dumps(dict(out, valid=not problems, problems=problems), ensure_ascii=False))
    return 0 if not problems else 1
