"""``taxiterm gnss``: decode NMEA from a log or a receiver (product room: the command line).

The receiver emulator is ``taxiterm emulate gnss`` (sim/commands/emulate.py)."""

import datetime
import json
import os
import sys
import time

from terminal.cli import CommandError

TPV_FIELDS = (("lat", "lat", 9), ("lon", "lon", 9), ("alt", "alt_m", 3), ("speed", "speed_mps", 3),
              ("track", "course_deg", 2), ("sats", "sats", None), ("hdop", "hdop", 2))


def register(subparsers) -> None:
    parser = subparsers.add_parser("gnss", help="GNSS receiver: decode NMEA")
    sub = parser.add_subparsers(dest="gnss_command", metavar="ACTION", required=True)

    dec = sub.add_parser("decode", help="one gpsd-style TPV JSON line per fix, then the counts")
    dec.add_argument("source", metavar="FILE|URL", help="an NMEA log file, '-' for stdin, or a pyserial URL")
    dec.add_argument("--baud", type=int, default=9600, help="baud rate for a serial device (default 9600)")
    dec.add_argument("--seconds", type=float, help="stop reading a port after this many seconds")
    dec.add_argument("--fixes", type=int, help="stop after this many fixes")
    dec.add_argument("--parser", choices=("fast", "pynmea2"), default="fast",
                     help="sentence parser (the same results; pynmea2 is the slower reference)")
    dec.add_argument("--allow-missing-checksum", action="store_true", help="accept sentences without *HH")
    dec.add_argument("--min-year", type=int, default=None, help="dates before this year are absurd (default 2016)")
    dec.set_defaults(func=decode_command)



def fix_json(fix) -> dict:
    """A fix in gpsd TPV names and units (unknown values left out, as gpsd does)."""
    out = {"class": "TPV", "mode": fix.mode}
    if fix.time_ms is not None:
        moment = datetime.datetime.fromtimestamp(fix.time_ms / 1000, datetime.UTC)
        out["time"] = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{fix.time_ms % 1000:03d}Z"
    for name, attr, digits in TPV_FIELDS:
        value = getattr(fix, attr)
        if value is not None and (fix.positioned or name in ("sats", "hdop")):
            out[name] = round(value, digits) if digits is not None else value
    return out


def _decoder(args):
    from gps.decoder import NmeaDecoder
    options = {"parser": args.parser, "allow_missing_checksum": args.allow_missing_checksum}
    if args.min_year is not None:
        options["min_year"] = args.min_year
    return NmeaDecoder(**options)


def decode_command(args) -> int:
    from gps.fix import Fix
    if args.fixes is not None and args.fixes < 1:
        raise CommandError(f"--fixes {args.fixes}: must be at least 1")
    if args.seconds is not None and not args.seconds > 0:
        raise CommandError(f"--seconds {args.seconds:g}: must be more than 0")
    if args.baud < 1:
        raise CommandError(f"--baud {args.baud}: must be a positive baud rate (e.g. 9600)")
    decoder = _decoder(args)
    out = sys.stdout
    fixes = 0

    def emit(items) -> bool:
        nonlocal fixes
        for item in items:
            if type(item) is Fix:
                out.write(json.dumps(fix_json(item)) + "\n")
                fixes += 1
                if args.fixes is not None and fixes >= args.fixes:
                    return False
        return True

    source = args.source
    if source == "-" or os.path.isfile(source):
        stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
        with stream:
            going = True
            while going:
                chunk = stream.read(1 << 16)
                if not chunk:
                    break
                going = emit(decoder.feed(chunk))
            if going:
                emit(decoder.flush())
    elif "://" in source or source.startswith("/dev/"):
        from gps.reader import open_port
        try:
            port = open_port(source, args.baud)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        try:
            going = True
            while going and (deadline is None or time.monotonic() < deadline):
                data = port.read(1)
                if data and port.in_waiting:
                    data += port.read(port.in_waiting)
                if data:
                    going = emit(decoder.feed(data))
                    out.flush()
            if going:
                emit(decoder.flush())
        except KeyboardInterrupt:
            pass
        finally:
            port.close()
    else:
        raise CommandError(f"{source}: no such file, and not a port URL (/dev/..., socket://, loop://, ...)")
    stats = decoder.stats.as_dict()
    out.write(json.dumps({"class": "STATS", "read": stats.pop("sentences"), **stats}) + "\n")
    if not decoder.stats.parsed:
        print(f"taxiterm: {source}: no valid NMEA sentence in it ({decoder.stats.garbage_bytes} bytes of other data, "
              f"{decoder.stats.sentences} sentences rejected)", file=sys.stderr)
        return 1
    return 0
