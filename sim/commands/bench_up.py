"""``taxiterm bench up``: start the bench's devices and print the configuration to run against (simulator room).

Adds ``up`` to the product's ``taxiterm bench`` command (terminal/cli/commands/bench.py):
the sign, printer and GNSS emulators, a Mosquitto with the platform emulator, a provisioned
development state directory, and a configuration file that ``taxiterm run --board sim`` and
``taxiterm selftest --board sim`` accept (sim/bench.py, docs/bench.md). Runs until Ctrl-C.
"""

import re
import signal
import sys
import tempfile
import threading
from pathlib import Path

from terminal.cli import CommandError


def register(subparsers) -> None:
    from terminal.cli.commands.bench import bench_commands

    up = bench_commands(subparsers).add_parser(
        "up", help="start the sign, printer and GNSS emulators and a broker; print a config for run/selftest")
    up.add_argument("--dir", help="folder for config, state, receipts and MQTT transcript "
                                  "(default: a new one under the temp dir)")
    up.add_argument("--state", help="use this provisioned state directory (or an empty one, provisioned for "
                                    "development) instead of a new one in --dir")
    up.add_argument("--id", default="T0001", help="terminal id (default T0001)")
    up.set_defaults(func=up_command)


def up_command(args) -> int:
    from sim.bench import Bench
    from terminal.app.bench_socket import BenchError
    from terminal.cli.commands.bench import devices_socket_path

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.id):     # the broker account and the MQTT topic level
        raise CommandError(f"bench up: --id must be 1-64 of A-Z a-z 0-9 _ . -, got {args.id!r}")
    if args.dir and Path(args.dir).exists() and not Path(args.dir).is_dir():
        raise CommandError(f"bench up: --dir {args.dir} is a file, not a folder")
    if args.state and not _usable_state(args.state):     # never provision a development terminal into it
        raise CommandError(f"bench up: --state {args.state} is not a provisioned state directory (leave --state "
                           "out for a new development one in --dir)")
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="taxiterm-bench-"))
    bench = Bench(directory, state_dir=Path(args.state) if args.state else None, terminal_id=args.id,
                  control=devices_socket_path())
    try:
        bench.start()
    except (BenchError, OSError, RuntimeError) as exc:
        raise CommandError(f"bench up: {exc}") from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        print(bench.describe())
        print(f"\nrun:       taxiterm run --board sim --config {bench.config_path}")
        print(f"selftest:  taxiterm selftest --board sim --config {bench.config_path}  (terminal stopped)")
        print("bench up: ready (Ctrl-C stops)", flush=True)
        stop.wait()
    finally:
        bench.close()
        print("bench down", file=sys.stderr)
    return 0


def _usable_state(state_dir: str) -> bool:
    """A provisioned state directory, or an empty folder (a new one, as the package makes
    /var/lib/taxiterm), into which the bench provisions a development terminal."""
    from terminal.trust.keys import DeviceState

    path = Path(state_dir)
    if path.is_dir() and not any(path.iterdir()):
        return True
    return DeviceState(state_dir).provisioned
