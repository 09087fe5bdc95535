"""``taxiterm calibrate``: measure K over a known course and store it under the seal.

The technician drives a measured course (``--distance-m``, 1000 m by default). The pulses come
from the board's pulse input (``--board NAME``: the kernel counter or the GPIO counter the profile
names; Enter at the start line, Enter at the finish line) or from a bench pulse generator's count
(``--pulses N``). K = pulses x 1000 / distance, rounded half up (terminal/calibration.py). A run too
short for 0.1 % resolution or an implausible K is refused before the seal is asked, so a mistyped
distance does not spend a single-use authorisation. Then only with the seal switch closed or a
technician authorisation for ``set_k``: the audit record (old and new K) and Storage kv
``calibration`` commit together. See docs/calibration.md.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable

from terminal.app import config as config_mod
from terminal.cli import CommandError
from terminal.cli.commands._seal_common import (
    add_state_arg,
    device_seal,
    now_ms,
    open_audit,
    read_bytes,
    running_identity,
    state_from,
)
from terminal.trust import calibration, seal
from terminal.trust.audit import AuditError

AUDIT_EVENT = "k_calibrated"


def register(subparsers) -> None:
    parser = subparsers.add_parser("calibrate", help="measure K over a known course and store it under the seal",
                                   description="Measure the speed sensor's K (pulses/km) over a measured course "
                                               "(docs/calibration.md)")
    parser.add_argument("--distance-m", type=int, default=1000, metavar="M",
                        help="length of the measured course in metres (default 1000, at least 1000)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pulses", type=int, metavar="N", help="pulses counted by a bench pulse generator")
    source.add_argument("--board", metavar="NAME", help="count on this board's pulse input: pi4, pi5, zero2w, cm4, sim")
    parser.add_argument("--config", metavar="FILE",
                        help="terminal configuration: board overrides, state_dir and the configured meter.k")
    add_state_arg(parser)
    parser.add_argument("--authorisation", metavar="AUTH", help="technician authorisation signed by the authority")
    parser.add_argument("--dry-run", action="store_true", help="measure and show K; store nothing, ask no seal")
    parser.add_argument("--json", action="store_true", help="machine-readable result on standard output")
    parser.set_defaults(func=handler)


# -- counting ------------------------------------------------------------------------------------

def pulse_counter(profile, config: dict):
    """The counter the board profile names, as the terminal would build it (its sampler not started)."""
    from gpiozero.exc import GPIOZeroError

    from board.pins import make_pin_factory
    from board.profiles import BoardError
    from drivers.pulse import GpioPulseCounter, KernelPulseCounter, PulseError

    events: queue.Queue = queue.Queue()  # nothing reads it: only the count matters here
    period = config["pulse"]["period_ms"]
    if profile.pulse_counter:
        try:
            return KernelPulseCounter(profile.pulse_counter, events, now_ms, period_ms=period)
        except PulseError as exc:
            raise CommandError(str(exc)) from None
    try:
        return GpioPulseCounter(profile.inputs["pulse"], events, now_ms, make_pin_factory(profile), period_ms=period)
    except (BoardError, GPIOZeroError) as exc:   # e.g. pi4's lgpio backend not installed on this machine
        raise CommandError(f"cannot count pulses on GPIO {profile.inputs['pulse']}: {exc}; nothing measured") from None


def count_course(counter, at_start: Callable[[], None], at_finish: Callable[[], None]) -> int:
    """Pulses between the start and the finish line: ``at_start``/``at_finish`` return when the car is there."""
    at_start()
    first = counter.count
    at_finish()
    return counter.count - first


def _wait_enter(prompt: str) -> Callable[[], None]:
    def wait() -> None:
        print(prompt, file=sys.stderr, flush=True)
        if not sys.stdin.readline():
            raise CommandError("standard input closed before the car reached the line; nothing measured")
    return wait


def live_count(counter, wait: Callable[[], None], stream, every_s: float = 0.5) -> Callable[[], None]:
    """``wait`` while showing the pulses counted since it began, on one line of ``stream``, every ``every_s``."""
    def waiting() -> None:
        base = counter.count
        stop = threading.Event()

        def show() -> None:
            while not stop.wait(every_s):
                try:
                    print(f"\r  {counter.count - base} pulses so far", end="", file=stream, flush=True)
                except Exception:     # a lost counter is reported by the count at the finish line
                    return
        shower = threading.Thread(target=show, name="calibrate-live", daemon=True)
        shower.start()
        try:
            wait()
        finally:
            stop.set()
            shower.join()
            print(file=stream, flush=True)
    return waiting


def _measure_on_board(args, config: dict) -> int:
    from board.profiles import BoardError, load_board
    from drivers.pulse import PulseError

    try:
        profile = load_board(args.board, config["board"] or None)
    except BoardError as exc:
        raise CommandError(str(exc)) from None
    counter = pulse_counter(profile, config)
    source = profile.pulse_counter or f"GPIO {profile.inputs['pulse']}"
    try:
        return count_course(
            counter,
            _wait_enter(f"counting pulses on {source}: press Enter as the car crosses the START line"),
            live_count(counter, _wait_enter(f"drive the {args.distance_m} m course; press Enter as the car crosses "
                                            "the FINISH line"), sys.stderr))
    except PulseError as exc:
        raise CommandError(f"pulse count lost: {exc}") from None
    finally:
        counter.close()


# -- the command -------------------------------------------------------------------------------------

def _config(args) -> dict:
    try:
        return config_mod.load(args.config) if args.config else config_mod.from_dict({})
    except config_mod.ConfigError as exc:
        raise CommandError(str(exc)) from None


def _state(args, config: dict):
    if not args.state and args.config:
        args.state = config["terminal"]["state_dir"]
    return state_from(args)


def handler(args) -> int:
    config = _config(args)
    if args.pulses is None:
        _check_course(args.distance_m)
    if not args.dry_run:   # a wrong --state or --authorisation is found before the course, not after it
        state = _state(args, config)
        old_k = _current_k(state, config)
        authorisation = read_bytes(args.authorisation, "authorisation") if args.authorisation else None
    pulses = args.pulses if args.pulses is not None else _measure_on_board(args, config)
    t = now_ms()
    try:
        result = calibration.Calibration.from_run(args.distance_m, pulses, t)
    except calibration.CalibrationError as exc:
        raise CommandError(f"K not changed: {exc}") from None
    if args.dry_run:
        _print(args, result, None, None, stored=False)
        return 0
    audit = open_audit(state, running_identity(state, t).software_id)
    try:
        decision = seal.require(device_seal(state, audit), audit, "set_k", t, "K", authorisation)
        # The audit record and the stored K commit together: a K nobody audited never counts.
        with audit.transaction():
            audit.append(AUDIT_EVENT, "K", old_k, result.k, actor=decision.actor, t_ms=t)
            audit.conn.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (calibration.KV_KEY, result.kv_text()))
    except (seal.SealRefused, AuditError) as exc:
        raise CommandError(f"K not changed: {exc}") from None
    finally:
        audit.close()
    _print(args, result, old_k, decision, stored=True)
    return 0


def _check_course(distance_m: int) -> None:
    """The course length the run will be judged on, refused before anyone drives it."""
    if not calibration.MIN_DISTANCE_M <= distance_m <= calibration.MAX_DISTANCE_M:
        raise CommandError(f"K not changed: --distance-m {distance_m}: the course must be {calibration.MIN_DISTANCE_M}"
                           f"..{calibration.MAX_DISTANCE_M} m (at least {calibration.MIN_DISTANCE_M} m for 0.1 % "
                           "resolution); nothing measured")


def _current_k(state, config: dict) -> int:
    """The K the terminal uses now (the sealed calibration, else the configuration); creates the schema."""
    from terminal.storage.database import Storage, StorageError

    try:
        with Storage(state.database) as storage:
            text = storage.kv_get(calibration.KV_KEY)
    except StorageError as exc:
        raise CommandError(f"K not changed: {exc}") from None
    try:
        return calibration.effective_k(config["meter"]["k"], text)
    except calibration.CalibrationError as exc:
        raise CommandError(f"K not changed: {exc}") from None


def _print(args, result: calibration.Calibration, old_k, decision, stored: bool) -> None:
    if args.json:
        body = result.record() | {"stored": stored, "old_k": old_k, "resolution_ppm": result.resolution_ppm,
                                  "rounding_ppm": result.rounding_ppm,
                                  "actor": decision.actor if decision else None,
                                  "via": decision.via if decision else None}
        print(json.dumps(body, sort_keys=True))
        return
    print(f"K = {result.k} pulses/km from {result.pulses} pulses over {result.distance_m} m "
          f"(resolution {result.resolution_ppm / 10_000:.3f} %, integer rounding {result.rounding_ppm / 10_000:.3f} %)")
    if stored:
        print(f"stored: K {old_k} -> {result.k} by {decision.actor} via {decision.via}; "
              "the terminal uses it from its next start")
    else:
        print("dry run: nothing stored")
