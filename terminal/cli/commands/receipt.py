"""``taxiterm receipt``: preview a trip's receipt without a printer, print it, ask a printer's status.

render  trip record -> python-escpos -> the printer emulator's parser -> PNG and text
print   trip record -> python-escpos -> a printer opened by URL
status  DLE EOT real-time status of a printer opened by URL
"""

from __future__ import annotations

import json
from pathlib import Path

import terminal
from terminal.cli import CommandError

PREVIEW = "-"  # vehicle fields not given on the command line print as this


def register(subparsers) -> None:
    parser = subparsers.add_parser("receipt", help="render, print or check receipts",
                                   description="Receipts of trip records (docs/receipt.md, docs/printer.md)")
    sub = parser.add_subparsers(dest="receipt_command", metavar="ACTION", required=True)

    def trip_args(p) -> None:
        p.add_argument("trip_json", metavar="TRIP_JSON", help="the meter's trip record (JSON file)")
        p.add_argument("--lang", choices=("zh", "en"), default="zh", help="receipt language (default zh)")
        p.add_argument("--plate", default=PREVIEW, help="vehicle plate")
        p.add_argument("--company", default=PREVIEW, help="operator / company")
        p.add_argument("--driver-cert", default=PREVIEW, help="driver qualification certificate number")
        p.add_argument("--phone", default="12328", help="supervision phone (default 12328)")
        p.add_argument("--software", default=f"taxiterm {terminal.__version__}",
                       help="software identity printed on the receipt")
        p.add_argument("--columns", type=int, default=32, help="printer columns: 32 for 58 mm, 48 for 80 mm")
        p.add_argument("--reprint", action="store_true", help="mark the receipt as a reprint (copy)")

    render = sub.add_parser("render", help="render a trip record to PNG and text through the emulator")
    trip_args(render)
    render.add_argument("--png", help="write the rendered paper here (PNG)")
    render.add_argument("--text", help="write the rendered text here (UTF-8); '-' for standard output")
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


def _receipt(args):
    from printer.receipt import ReceiptError, Vehicle, as_reprint, build_receipt

    path = Path(args.trip_json)
    try:
        trip = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path} is not a JSON trip record: {exc}") from exc
    if args.columns not in range(16, 97):
        raise CommandError(f"--columns must be between 16 and 96, got {args.columns}")
    try:
        receipt = build_receipt(trip, Vehicle(args.plate, args.company, args.driver_cert, args.phone),
                                args.software, args.lang)
    except ReceiptError as exc:
        raise CommandError(f"{path}: {exc}") from exc
    return as_reprint(receipt) if args.reprint else receipt


def render_command(args) -> int:
    from printer.escpos_out import receipt_bytes
    from printer.preview.parse import EscposParser
    from printer.preview.render import CELL_W, render_png, render_text

    if not args.png and not args.text:
        raise CommandError("nothing to write: give --png FILE and/or --text FILE")
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

    try:
        with open_printer(args.printer, baudrate=args.baud) as printer:
            status = query_status(printer, args.timeout)
    except PrinterOpenError as exc:
        raise CommandError(str(exc)) from exc
    print(json.dumps(status.event_data(), ensure_ascii=False))
    return 0 if status.ready else 1
