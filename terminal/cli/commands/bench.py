"""``taxiterm bench``: drive a terminal running on the sim board from outside (cli room).

Each command is one request on the control socket that ``taxiterm run --board sim`` opens
(terminal/app/bench_socket.py): press a key, hold the hidden alarm, open the seal, cut the
ignition, or drive the car. A drive also tells the bench's GNSS receiver (started by
``taxiterm bench up``, when it runs) to move at the same speed, so pulses and positions agree.
The protocol and the socket paths are in docs/bench.md.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from terminal.app.bench_socket import default_socket_path, runtime_dir
from terminal.cli import CommandError

KEYS = ("hire", "pause", "settle", "print", "extra", "sign", "accept", "reject", "menu")
DEVICES_SOCKET = "bench-devices.sock"
ANSWER_MARGIN_S = 30.0      # the terminal answers a key, alarm or drive request when the hold or drive has ended


def devices_socket_path() -> Path:
    """The socket of ``taxiterm bench up`` (emulators): $TAXITERM_BENCH_DEVICES, else in the runtime dir."""
    explicit = os.environ.get("TAXITERM_BENCH_DEVICES")
    return Path(explicit) if explicit else runtime_dir() / DEVICES_SOCKET


def register(sub) -> None:
    parser = sub.add_parser("bench", help="drive a sim-board terminal: keys, alarm, seal, ignition, driving "
                                          "(docs/bench.md)")
    parser.add_argument("--socket", metavar="PATH", help="the terminal's control socket (default: "
                        "$TAXITERM_BENCH_SOCKET, else $XDG_RUNTIME_DIR/taxiterm/bench.sock or "
                        "/tmp/taxiterm-UID/bench.sock)")
    commands = parser.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    parser.set_defaults(bench_commands=commands)

    key = commands.add_parser("key", help="press a key")
    key.add_argument("name", choices=KEYS)
    hold = key.add_mutually_exclusive_group()
    hold.add_argument("--hold", type=float, default=0.1, metavar="S", help="hold for S seconds (default 0.1)")
    hold.add_argument("--long", action="store_true", help="a long press (2.5 s; hire: out of service)")
    key.set_defaults(func=key_command)

    alarm = commands.add_parser("alarm", help="hold a hidden alarm button")
    alarm.add_argument("--hold", type=float, default=3.5, metavar="S", help="seconds (default 3.5)")
    alarm.add_argument("--button", choices=("a", "b"), default="a", help="button A or B (default A)")
    alarm.set_defaults(func=alarm_command)

    drive = commands.add_parser("drive", help="move the car: speed-sensor pulses (and bench GNSS) at a speed")
    drive.add_argument("--kmh", type=float, required=True, help="speed in km/h")
    drive.add_argument("--seconds", type=float, required=True, help="for how long (real time)")
    drive.set_defaults(func=drive_command)

    seal = commands.add_parser("seal", help="open or close the seal switch")
    seal.add_argument("state", choices=("open", "close"))
    seal.set_defaults(func=switch_command, action="seal")

    power = commands.add_parser("power", help="ignition / supply off or on")
    power.add_argument("state", choices=("off", "on"))
    power.set_defaults(func=switch_command, action="power")

    ping = commands.add_parser("ping", help="is the terminal's bench socket there (and the meter's K)")
    ping.set_defaults(func=ping_command)


def bench_commands(sub):
    """The ``bench`` subcommand's own subparsers, for other command packages (``bench up``)."""
    return sub.choices["bench"].get_default("bench_commands")


def request(path: Path, message: dict, timeout_s: float | None) -> dict:
    """Send one request line to a bench socket; the answer, or CommandError naming what went wrong."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5.0)
            conn.connect(str(path))
            conn.settimeout(timeout_s)
            conn.sendall(json.dumps(message).encode() + b"\n")
            with conn.makefile("rb") as answers:
                line = answers.readline()
    except FileNotFoundError:
        raise CommandError(f"no bench socket at {path}: is `taxiterm run --board sim` running? "
                           "(--socket PATH or TAXITERM_BENCH_SOCKET if it uses another one)") from None
    except (ConnectionRefusedError, PermissionError, TimeoutError, OSError) as exc:
        raise CommandError(f"bench socket {path}: {exc.strerror or exc}") from None
    if not line:
        raise CommandError(f"bench socket {path} closed without an answer")
    answer = json.loads(line)
    if not answer.get("ok"):
        raise CommandError(answer.get("error", "refused"))
    return answer


def _terminal(args, message: dict, timeout_s: float | None = None) -> dict:
    path = Path(args.socket) if args.socket else default_socket_path()
    answer = request(path, message, ANSWER_MARGIN_S if timeout_s is None else timeout_s)
    print(answer.get("detail", "ok"))
    return answer


def key_command(args) -> int:
    if not 0 <= args.hold <= 60:
        raise CommandError("--hold must be 0..60 seconds")
    hold = 2.5 if args.long else args.hold
    _terminal(args, {"action": "key", "key": args.name, "hold_s": hold}, timeout_s=hold + ANSWER_MARGIN_S)
    return 0


def alarm_command(args) -> int:
    if not 0 <= args.hold <= 60:
        raise CommandError("--hold must be 0..60 seconds")
    _terminal(args, {"action": "alarm", "button": f"alarm_{args.button}", "hold_s": args.hold},
              timeout_s=args.hold + ANSWER_MARGIN_S)
    return 0


def switch_command(args) -> int:
    _terminal(args, {"action": args.action, "state": args.state})
    return 0


def ping_command(args) -> int:
    path = Path(args.socket) if args.socket else default_socket_path()
    answer = request(path, {"action": "ping"}, 30.0)
    print(f"{answer.get('detail', 'ok')}: K {answer.get('k')} pulses/km, {answer.get('pulses_sent')} pulses sent")
    return 0


def drive_command(args) -> int:
    if not 0 <= args.kmh <= 250 or not 0 <= args.seconds <= 3600:
        raise CommandError("--kmh must be 0..250 and --seconds 0..3600")
    terminal = Path(args.socket) if args.socket else default_socket_path()
    request(terminal, {"action": "ping"}, 5.0)      # no terminal: refused before the bench GNSS starts moving
    gnss = devices_socket_path()
    if gnss.is_socket():
        answer = request(gnss, {"action": "gnss_drive", "kmh": args.kmh, "seconds": args.seconds}, 10.0)
        print(answer.get("detail", "gnss moving"))
    else:
        print(f"no bench GNSS at {gnss} (taxiterm bench up): pulses only")
    try:
        _terminal(args, {"action": "drive", "kmh": args.kmh, "seconds": args.seconds},
                  timeout_s=args.seconds + ANSWER_MARGIN_S)
    except KeyboardInterrupt:       # Ctrl-C stops the car, not only this command
        request(terminal, {"action": "halt"}, 5.0)
        if gnss.is_socket():
            request(gnss, {"action": "gnss_drive", "kmh": 0, "seconds": 0}, 5.0)
        raise
    return 0
