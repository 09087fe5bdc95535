"""``taxiterm meter``: the taximeter core on the bench (``replay``)."""

import argparse
import json
import sys
from pathlib import Path

from meter.errors import MeterError
from meter.taximeter import Taximeter
from terminal.cli import CommandError
from terminal.cli.commands._seal_common import read_bytes
from terminal.trust.replay import ReplayError, replay
from terminal.trust.tariff_store import TariffFileError, parse_tariff_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("meter", help="the taximeter core on the bench")
    msub = parser.add_subparsers(dest="meter_command", metavar="ACTION", required=True)
    rp = msub.add_parser("replay", help="replay an event file through the meter (docs/meter-replay.md)")
    rp.add_argument("--tariff", required=True, type=Path, help="tariff file (TOML, docs/tariff.md)")
    rp.add_argument("--events", required=True, help="event file (JSON lines), or - for standard input")
    rp.add_argument("--k", type=int, default=1000, help="K constant, pulses per km (default 1000)")
    rp.add_argument("--source", choices=("pulses", "gnss"), default="pulses", help="distance source")
    rp.add_argument("--dip-ms", type=int, default=10000, help="longest power dip that resumes a trip")
    rp.set_defaults(func=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    try:   # the file as the authority issues it: its top-level sequence number is not a tariff's business here
        schedule = parse_tariff_file(read_bytes(str(args.tariff), "tariff"), str(args.tariff)).schedule
    except TariffFileError as exc:
        raise CommandError(f"tariff {exc}") from None
    try:
        meter = Taximeter(schedule, {"k": args.k, "source": args.source, "dip_ms": args.dip_ms})
    except MeterError as exc:
        raise CommandError(str(exc)) from exc
    if args.events == "-":
        stream = sys.stdin.buffer
    else:
        try:
            stream = open(args.events, "rb")
        except OSError as exc:
            raise CommandError(f"cannot read events {args.events}: {exc.strerror}") from exc
    trips: list = []
    error = None
    with stream:
        try:
            for out in replay(meter, _text_lines(stream), trips):
                print(json.dumps(out, ensure_ascii=False))
        except ReplayError as exc:
            error = str(exc)
    final = {"trips": trips, "totalisers": meter.totals.as_dict()}
    if error:
        final["error"] = error
    print(json.dumps(final, ensure_ascii=False))
    if error:
        print(f"taxiterm meter replay: {error}; nothing after it was applied", file=sys.stderr)
        return 1
    return 0


def _text_lines(stream):
    """The event file's lines as text; a line that is not UTF-8 (a binary file given by mistake) is a
    bad line like any other: it stops the replay, naming its number."""
    for line_no, raw in enumerate(stream, start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ReplayError(line_no, "not UTF-8 text (an event file is JSON lines)") from None
