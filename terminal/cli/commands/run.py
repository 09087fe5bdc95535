"""``taxiterm run``: the terminal in the car (or on the sim board)."""

import argparse
import logging
import os
import signal
import sys
import threading

from board.profiles import BoardError
from drivers.pulse import PulseError
from terminal.app import config as config_mod
from terminal.app.bench_socket import default_socket_path
from terminal.app.runtime import Runtime, StartError, configure_logging, limit_malloc_arenas
from terminal.app.sdnotify import notify
from terminal.cli import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("run", help="run the terminal (docs/config.md)")
    parser.add_argument("--board", required=True, help="board profile: pi4, pi5, zero2w, cm4, sim")
    parser.add_argument("--config", required=True, help="configuration file (TOML, docs/config.md)")
    parser.add_argument("--bench-socket", metavar="PATH",
                        help="sim board: the bench's control socket (default $TAXITERM_BENCH_SOCKET, else "
                             "$XDG_RUNTIME_DIR/taxiterm/bench.sock or /tmp/taxiterm-UID/bench.sock; docs/bench.md)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # journald-friendly: one line per record, syslog priority prefix, no timestamps (journald adds
    # them); forced over whatever a library configured at import
    configure_logging(args.log_level, sys.stderr)
    limit_malloc_arenas()           # before any thread starts (runtime.py)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        raise CommandError(str(exc)) from exc
    lock = _hold_state_dir(cfg["terminal"]["state_dir"])
    try:
        bench = args.bench_socket or (default_socket_path() if args.board == "sim" else None)
        runtime = Runtime(cfg, args.board, bench_socket=bench)
    except (BoardError, StartError) as exc:
        _release(lock)
        raise CommandError(str(exc)) from exc
    except (ValueError, OSError, PulseError) as exc:
        # what the configuration names but only the start can try: the [mqtt] table, the platform key
        # file, a device port that does not open -- one line for the journal, not a traceback
        _release(lock)
        raise CommandError(f"cannot start: {exc}") from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        runtime.start()
    except (StartError, ValueError, OSError, PulseError) as exc:
        _stop_after_failed_start(runtime)
        _release(lock)
        prefix = "" if isinstance(exc, StartError) else "cannot start: "
        raise CommandError(f"{prefix}{exc}") from exc
    runtime.ready.wait(timeout=10)
    notify("READY=1")
    bench_note = f", bench socket {runtime.bench.path}" if runtime.bench is not None else ""
    logging.getLogger("taxiterm").info("ready: %s, board %s%s", runtime.identity.software_id, args.board,
                                       bench_note)
    while not stop.wait(1):
        runtime.supervise()
        if runtime.healthy():       # fed only while the loop turns and every reader thread lives
            notify("WATCHDOG=1")
        else:
            logging.getLogger("taxiterm").error("unhealthy %s: watchdog not fed",
                                                sorted(k for k, v in runtime.threads().items() if not v))
    notify("STOPPING=1")
    runtime.stop()
    if lock is not None:
        lock.release()
    return 0


def _release(lock) -> None:
    if lock is not None:
        lock.release()


def _stop_after_failed_start(runtime) -> None:
    """Stop what did start (reader threads, the broker connection) so the process can exit on the error."""
    try:
        runtime.stop()
    except Exception as exc:     # the start error is the one to report; this one only goes to the log
        logging.getLogger("taxiterm").warning("stopping after a failed start: %s", exc)


def _hold_state_dir(state_dir: str):
    """One terminal per state directory (terminal/storage/run_lock.py); a directory that does not
    exist yet is reported by the runtime as not provisioned."""
    from terminal.storage.run_lock import Busy, RunLock

    if not os.path.isdir(state_dir):
        return None
    lock = RunLock(state_dir)
    try:
        lock.acquire()
    except Busy as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot lock {state_dir}: {exc}") from None
    return lock
