"""``taxiterm emulate``: the device emulators as commands (simulator room).

``taxiterm emulate gnss`` serves NMEA from a route or a log on a pseudo-terminal, the
way a receiver on a serial port would; the terminal opens the printed path.
``taxiterm emulate sign`` is a JT/T 905.2 rooftop sign and ``taxiterm emulate printer`` an
ESC/POS receipt printer, each on a pseudo-terminal whose path is printed first, and
``taxiterm emulate evaluator`` a passenger service evaluator on the same bus. ``taxiterm bench
up`` starts the GNSS, sign and printer at once (sim/bench.py).
"""

import argparse
import itertools
import sys
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._output import check_output, write_output


def register(subparsers) -> None:
    parser = subparsers.add_parser("emulate", help="device emulators on pseudo-terminals (GNSS, sign, printer, evaluator)")
    sub = parser.add_subparsers(dest="emulate_command", metavar="DEVICE", required=True)

    emu = sub.add_parser("gnss", help="a GNSS receiver: serve NMEA on a pseudo-terminal and print its path")
    src = emu.add_mutually_exclusive_group(required=True)
    src.add_argument("--route", metavar="FILE|urban", help="a route JSON file, or 'urban' for a generated city drive")
    src.add_argument("--replay", metavar="LOG", help="replay an NMEA log with its own timing")
    emu.add_argument("--length-m", type=float, default=10_000, help="length of the 'urban' route (default 10000)")
    emu.add_argument("--rate", type=float, default=1.0, help="epochs per second, 1..10 (default 1)")
    emu.add_argument("--style", choices=("ublox", "mtk", "beidou"), default="ublox", help="receiver style")
    emu.add_argument("--talker", choices=("GP", "GN", "BD", "GB"), help="talker id (default: the style's)")
    emu.add_argument("--noise-m", type=float, default=3.0, help="position noise, metres 1-sigma (default 3)")
    emu.add_argument("--seed", type=int, default=1, help="random seed for route and noise")
    emu.add_argument("--dropout", action="append", default=[], metavar="START:SECONDS", help="no fix for a while")
    emu.add_argument("--silence", action="append", default=[], metavar="START:SECONDS", help="no data at all")
    emu.add_argument("--jump", action="append", default=[], metavar="START:SECONDS:METRES", help="position jump")
    emu.add_argument("--antenna", action="append", default=[], metavar="START:SECONDS:open|short",
                     help="antenna fault")
    emu.add_argument("--speed", type=float, default=1.0, help="play faster than real time (default 1)")
    emu.add_argument("--loop", action="store_true", help="start again at the end")
    emu.add_argument("--write", metavar="FILE", help="write the NMEA to FILE at once instead of serving a pty")
    emu.set_defaults(func=emulate_command)

    sign = sub.add_parser("sign", help="a rooftop sign (JT/T 905.2) on a pseudo-terminal; print its path")
    sign.add_argument("--silent", action="store_true", help="obey commands but never answer (a dead TX line)")
    sign.add_argument("--garbage", action="store_true", help="answer with broken frames and line noise")
    sign.add_argument("--serial", type=lambda v: int(v, 16), default=0x000001, metavar="HEX",
                      help="serial number it reports (hex, default 000001)")
    sign.set_defaults(func=sign_command)

    printer = sub.add_parser("printer", help="an ESC/POS receipt printer on a pseudo-terminal; print its path")
    printer.add_argument("--out", required=True, help="folder for receipt_NNNN.txt/.png (created)")
    printer.add_argument("--tcp", type=int, metavar="PORT", help="also listen on 127.0.0.1:PORT (network printer)")
    for name in ("paper_out", "paper_near_end", "cover_open", "offline", "silent"):
        printer.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=f"start with {name}")
    printer.set_defaults(func=printer_command)

    evaluator = sub.add_parser("evaluator", help="a passenger service evaluator (JT/T 905.2) on a pseudo-terminal; "
                                                 "print its path")
    evaluator.add_argument("--ratings", type=_ratings, default=(1, 2, 1, 3, 0), metavar="R,R,...",
                           help="the passengers' ratings in turn, cycling (0-3; 0 = no choice before the "
                                "timeout; default 1,2,1,3,0)")
    evaluator.add_argument("--delay-s", type=float, default=2.0,
                           help="seconds the passenger takes to press (default 2)")
    evaluator.set_defaults(func=evaluator_command)


def _stop_on_sigterm():
    """SIGTERM sets the returned event. Called before the port's path is printed: whoever read
    the path may stop the emulator at once, and that must be a clean stop (exit 0)."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _serve_until_interrupted(close, stop) -> int:
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        close()
    return 0


def sign_command(args) -> int:
    from sim.sign_emulator import SignEmulator

    stop = _stop_on_sigterm()
    emulator = SignEmulator(serial_number=args.serial)
    emulator.silent, emulator.garbage = args.silent, args.garbage
    last = [None]

    def on_frame(_frame) -> None:
        if emulator.state != last[0]:
            last[0] = emulator.state
            print(f"sign shows {emulator.state}", file=sys.stderr, flush=True)

    emulator.on_frame = on_frame
    emulator.start()
    print(emulator.path, flush=True)
    print(f"sign emulator: open {emulator.path} (Ctrl-C stops)", file=sys.stderr, flush=True)
    return _serve_until_interrupted(emulator.close, stop)


def _ratings(text: str) -> tuple:
    try:
        ratings = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"ratings are numbers 0-3 separated by commas, not {text!r}") from None
    if not ratings or any(not 0 <= r <= 3 for r in ratings):
        raise argparse.ArgumentTypeError(f"ratings are numbers 0-3 separated by commas, not {text!r}")
    return ratings


def evaluator_command(args) -> int:
    from sim.evaluator_emulator import EvaluatorEmulator

    if args.delay_s < 0:
        raise CommandError("--delay-s must not be negative")
    stop = _stop_on_sigterm()
    emulator = EvaluatorEmulator(ratings=args.ratings, delay_s=args.delay_s).start()
    print(emulator.path, flush=True)
    print(f"evaluator emulator: open {emulator.path}, ratings {','.join(map(str, args.ratings))} in turn "
          "(Ctrl-C stops)", file=sys.stderr, flush=True)
    return _serve_until_interrupted(emulator.close, stop)


def printer_command(args) -> int:
    from sim.printer_emulator import STATES, PrinterEmulator
    from sim.pty import PtyDevice

    if args.tcp is not None and not 0 <= args.tcp <= 65535:
        raise CommandError(f"--tcp {args.tcp}: must be 0..65535 (0: any free port)")
    try:      # made now: a receipt's files are written on the emulator's own thread, where a failure is unseen
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot make the receipts folder {args.out}: {exc.strerror or exc}") from None
    stop = _stop_on_sigterm()
    emulator = PrinterEmulator(out_dir=args.out)
    emulator.set_state(**{name: getattr(args, name) for name in STATES})
    pty = PtyDevice()
    emulator.serve_pty(pty)
    print(pty.path, flush=True)
    if args.tcp is not None:
        try:
            port = emulator.serve_tcp("127.0.0.1", args.tcp)
        except OSError as exc:
            emulator.close()
            pty.close()
            raise CommandError(f"--tcp {args.tcp}: {exc.strerror}") from None
        print(f"printer emulator also on tcp://127.0.0.1:{port}", file=sys.stderr, flush=True)
    print(f"printer emulator: open {pty.path}; receipts in {args.out} (Ctrl-C stops)", file=sys.stderr, flush=True)

    def close() -> None:
        emulator.close()
        pty.close()

    return _serve_until_interrupted(close, stop)


def _periods(values: list[str], kind: str) -> list[tuple]:
    periods = []
    for value in values:
        parts = value.split(":")
        try:
            if kind == "antenna":
                if len(parts) != 3 or parts[2] not in ("open", "short"):
                    raise ValueError
                periods.append((float(parts[0]), float(parts[1]), parts[2]))
            elif kind == "jump":
                if len(parts) != 3:
                    raise ValueError
                periods.append((float(parts[0]), float(parts[1]), float(parts[2])))
            else:
                if len(parts) != 2:
                    raise ValueError
                periods.append((float(parts[0]), float(parts[1])))
        except ValueError:
            forms = {"antenna": "START:SECONDS:open|short", "jump": "START:SECONDS:METRES"}
            raise CommandError(f"--{kind} {value!r}: expected {forms.get(kind, 'START:SECONDS')}") from None
    return periods


def _route_epochs(route, rate: float, seed: int, loop: bool, options: dict):
    """Epochs of the route, driven again and again if ``loop``, receiver time always moving on."""
    from sim.gnss_emulator import DEFAULT_START_MS, nmea_epochs
    from sim.gnss_route import drive

    offset_ms, lap = 0, 0
    while True:
        last_ms = 0
        for t_ms, data in nmea_epochs(drive(route, rate), seed=seed + lap, start_ms=DEFAULT_START_MS + offset_ms,
                                      **options):
            last_ms = t_ms
            yield offset_ms + t_ms, data
        if not loop:
            return
        offset_ms += last_ms + round(1000 / rate)
        lap += 1


def _require_nmea(name: str, data: bytes) -> None:
    """A log to replay must hold NMEA: a photo or a capture of something else would be sent as it is."""
    from gps.decoder import NmeaDecoder

    decoder = NmeaDecoder(allow_missing_checksum=True)
    decoder.feed(data)
    decoder.flush()
    if not decoder.stats.parsed:
        raise CommandError(f"{name}: no valid NMEA sentence in it: nothing to replay")


MIN_LENGTH_M, MAX_LENGTH_M = 1, 1_000_000     # the 'urban' route: one metre to a thousand kilometres


def emulate_command(args) -> int:
    from sim.gnss_emulator import GnssPtyServer, replay_epochs
    from sim.gnss_route import Route, urban_route

    if not 1.0 <= args.rate <= 10.0:
        raise CommandError(f"--rate {args.rate}: must be 1..10 Hz")
    if args.speed <= 0:
        raise CommandError("--speed must be positive")
    if args.write and args.loop:
        raise CommandError("--loop would never finish writing; use one of --loop, --write")
    if not MIN_LENGTH_M <= args.length_m <= MAX_LENGTH_M:      # also NaN; 0 m is no route, 1e9 m never ends
        raise CommandError(f"--length-m {args.length_m:g}: must be {MIN_LENGTH_M}..{MAX_LENGTH_M} m")
    if args.write:
        check_output(args.write, "NMEA")
    if args.replay:
        try:
            with open(args.replay, "rb") as log:
                data = log.read()
        except OSError as exc:
            raise CommandError(f"{args.replay}: {exc.strerror}") from None
        _require_nmea(args.replay, data)
        epochs = list(replay_epochs(data))
        description = f"replay of {args.replay}, {len(epochs)} epochs"
    else:
        if args.route == "urban":
            route = urban_route(args.length_m, seed=args.seed)
        else:
            try:
                with open(args.route, encoding="utf-8") as handle:
                    route = Route.from_json(handle.read())
            except OSError as exc:
                raise CommandError(f"{args.route}: {exc.strerror}") from None
            except ValueError as exc:
                raise CommandError(f"{args.route}: {exc}") from None
        options = {"style": args.style, "talker": args.talker, "noise_m": args.noise_m,
                   "dropouts": _periods(args.dropout, "dropout"), "silences": _periods(args.silence, "silence"),
                   "jumps": _periods(args.jump, "jump"), "antenna_faults": _periods(args.antenna, "antenna")}
        try:
            epochs = _route_epochs(route, args.rate, args.seed, args.loop, options)
            first = next(epochs)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        epochs = itertools.chain([first], epochs)
        description = f"route {route.name}, {route.length_m:.0f} m, {args.rate:g} Hz, {args.style}"
    if args.write:
        def write(tmp) -> None:
            with open(tmp, "wb") as out:
                for _t_ms, data in epochs:
                    out.write(data)
        write_output(args.write, write, "NMEA")
        print(f"wrote {args.write} ({description})")
        return 0
    # a looped route drives again with the clock running on; a looped log repeats its own times
    stop = _stop_on_sigterm()
    server = GnssPtyServer(epochs, speed=args.speed, loop=args.loop and bool(args.replay))
    print(server.path, flush=True)
    print(f"gnss emulator: {description}; open {server.path} (Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.start()
        while not server.wait(0.5) and not stop.is_set():
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0
