"""``taxiterm selftest``: every device answers, the display lights every pixel, the printer prints a test page.

The technician's round of the house with a torch. On the board and configuration the terminal runs
with (``--board NAME --config FILE``), each device is opened the way the terminal opens it and asked
to show it is alive:

  display  the board's display draws the all-on frame (every pixel lit) and holds it ``--display-s``
  sign     the rooftop sign answers a status query (JT/T 905.2) within ``--sign-timeout``
  printer  the printer answers the real-time status (DLE EOT 1..4), is ready, and takes a test page
  gnss     the receiver sends valid NMEA within ``--gnss-timeout`` (a fix is reported, not required)
  pulse    the speed-sensor counter the profile names can be read
  mqtt     the broker accepts a connection with the terminal's credentials (its own client id)

The checks run side by side. A report (text, or ``--json``) names each failure; exit status 0 when
all pass, 1 when any fails, 2 for a bad board or configuration. See docs/selftest.md.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import terminal
from terminal.app import config as config_mod
from terminal.cli import CommandError

CHECKS = ("display", "sign", "printer", "gnss", "pulse", "mqtt")


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    ms: int = 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("selftest", help="check that every device answers; display all-on, printer test page",
                                   description="Technician's self-test of the devices (docs/selftest.md)")
    parser.add_argument("--board", required=True, help="board profile: pi4, pi5, zero2w, cm4, sim")
    parser.add_argument("--config", required=True, help="terminal configuration file (docs/config.md)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument("--skip", action="append", choices=CHECKS, default=[], metavar="CHECK",
                        help="leave out a check (repeatable): " + ", ".join(CHECKS))
    parser.add_argument("--no-test-page", action="store_true", help="ask the printer's status only")
    parser.add_argument("--display-s", type=float, default=3.0, help="hold the all-on frame (default 3 s)")
    parser.add_argument("--sign-timeout", type=float, default=2.0, help="seconds for the sign's answer (default 2)")
    parser.add_argument("--gnss-timeout", type=float, default=5.0, help="seconds for NMEA data (default 5)")
    parser.add_argument("--mqtt-timeout", type=float, default=5.0, help="seconds for the broker (default 5)")
    parser.set_defaults(func=handler)


# -- the checks: each opens one device, asks it, closes it, and says what it saw ------------------------------

def check_display(profile, hold_s: float) -> CheckResult:
    from drivers.display import DisplayError, DriverDisplay, open_display
    from drivers.screens import AllOnScreen

    try:
        device = open_display(profile.display)
    except DisplayError as exc:
        return CheckResult("display", False, str(exc))
    try:
        display = DriverDisplay(device)
        frame = display.show(AllOnScreen()).convert("1")
        width, height = frame.size
        dark = frame.histogram()[0]          # a "1" image: bin 0 counts the unlit pixels
        time.sleep(max(0.0, hold_s))
    finally:
        device.cleanup()
    spec = profile.display
    if dark:
        return CheckResult("display", False, f"all-on frame left {dark} of {width * height} pixels dark")
    return CheckResult("display", True, f"all {width * height} pixels lit on the {spec.kind} {width}x{height}")


def check_sign(url: str, timeout_s: float) -> CheckResult:
    import serial

    from drivers.sign import SignDriver

    events: queue.Queue = queue.Queue()
    answer_ms = max(100, int(timeout_s * 1000))
    # one query, now: the pacer asks at start and not again within the timeout
    driver = SignDriver(url, events, _wall_ms, query_interval_ms=answer_ms + 60_000, answer_timeout_ms=answer_ms)
    try:
        driver.start()
    except serial.SerialException as exc:
        return CheckResult("sign", False, str(exc))
    try:
        deadline = time.monotonic() + timeout_s
        while driver.status is None and time.monotonic() < deadline:
            time.sleep(0.01)
        status, rejected = driver.status, driver.rejected
    finally:
        driver.close()
    if status is None:
        garbage = f" ({rejected} malformed answers)" if rejected else ""
        return CheckResult("sign", False, f"no answer to a status query on {url} within {timeout_s:g} s{garbage}")
    problem = f"; reports device state {status.device_state}" if status.device_state else ""
    return CheckResult("sign", not problem,
                       f"answered: serial {status.serial:06X}, hardware {status.hw_version}, software "
                       f"{status.sw_major}.{status.sw_minor}, shows {status.state or status.running_state}{problem}")


def test_page(software: str, terminal_id: str, board: str, t_ms: int) -> bytes:
    """The ESC/POS bytes of the self-test page: what prints, in both scripts, and a character line."""
    from printer.escpos_out import receipt_bytes
    from printer.receipt import Note, Receipt, Row, Rule, Title

    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t_ms / 1000))
    blocks = (Title("自检 SELF-TEST"), Rule(), Row("terminal", "终端 Terminal", terminal_id),
              Row("board", "主板 Board", board), Row("software", "软件", software), Row("time", "时间", when),
              Rule(), Note("charset", "0123456789 ABCDEFGHIJ abcdefghij"), Note("charset_zh", "出租汽车计价器 打印正常"),
              Rule())
    return receipt_bytes(Receipt(lang="zh", trip_no=0, qr_payload="", blocks=blocks))


def check_printer(url: str, page: bytes | None) -> CheckResult:
    from printer.device import PrinterLinkError, PrinterOpenError, open_printer
    from printer.status import query_status

    try:
        with open_printer(url) as printer:
            status = query_status(printer)
            if not status.ready:
                detail = f"not ready on {url}: {status.reason}" + (f" ({status.detail})" if status.detail else "")
                return CheckResult("printer", False, detail)
            if page is None:
                return CheckResult("printer", True, "ready (no test page asked)")
            printer.write(page)
    except (PrinterOpenError, PrinterLinkError) as exc:
        return CheckResult("printer", False, str(exc))
    near_end = "; paper near end" if status.paper_near_end else ""
    return CheckResult("printer", True, f"ready; test page printed ({len(page)} bytes){near_end}")


def check_gnss(url: str, timeout_s: float) -> CheckResult:
    import serial

    from gps.decoder import NmeaDecoder
    from gps.fix import Fix
    from gps.reader import open_port

    try:
        port = open_port(url, timeout=0.1)
    except ValueError as exc:
        return CheckResult("gnss", False, str(exc))
    decoder = NmeaDecoder()
    fix = None
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            data = port.read(256)
            fixes = [item for item in decoder.feed(data) if type(item) is Fix] if data else []
            if fixes:
                fix = fixes[-1]     # one whole epoch: enough to say what the receiver sees
                break
    except (serial.SerialException, OSError) as exc:
        return CheckResult("gnss", False, f"receiver on {url}: {exc}")
    finally:
        port.close()
    stats = decoder.stats
    if not stats.parsed:
        junk = f" ({stats.sentences} bad sentences, {stats.garbage_bytes} stray bytes)" if stats.sentences or \
            stats.garbage_bytes else ""
        return CheckResult("gnss", False, f"no valid NMEA on {url} within {timeout_s:g} s{junk}")
    if fix is not None and fix.positioned:
        where = f"{fix.mode}D fix, {fix.sats if fix.sats is not None else '?'} satellites"
    elif fix is not None:
        where = "no position fix yet"
    else:
        where = f"no complete epoch within {timeout_s:g} s"
    return CheckResult("gnss", True, f"{stats.parsed} valid NMEA sentences; {where}")


def check_pulse(profile, config: dict) -> CheckResult:
    from board.profiles import BoardError
    from drivers.pulse import PulseError
    from terminal.cli.commands.calibrate import pulse_counter

    try:
        counter = pulse_counter(profile, config)
    except (CommandError, BoardError, PulseError, OSError) as exc:
        return CheckResult("pulse", False, str(exc))
    try:
        count = counter.count
    except PulseError as exc:
        return CheckResult("pulse", False, str(exc))
    finally:
        counter.close()
    source = f"kernel counter {profile.pulse_counter}" if profile.pulse_counter else \
        f"GPIO {profile.inputs['pulse']} edge counter"
    return CheckResult("pulse", True, f"{source} readable (count {count})")


def check_mqtt(mqtt_config: dict, timeout_s: float) -> CheckResult:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from terminal.link.mqtt import LinkConfig, LinkConfigError, falls_back

    try:
        cfg = LinkConfig.from_dict(mqtt_config)
    except LinkConfigError as exc:
        return CheckResult("mqtt", False, str(exc))
    where = f"{cfg.host}:{cfg.port}"
    protocols = ["5", "3.1.1"] if cfg.protocol == "5" else ["3.1.1"]
    for protocol in protocols:
        # Its own client id: the same one would push the running terminal's session off the broker.
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{cfg.terminal_id}-selftest",
                             protocol=mqtt.MQTTv5 if protocol == "5" else mqtt.MQTTv311)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            client.tls_set(ca_certs=cfg.tls_ca, certfile=cfg.tls_cert, keyfile=cfg.tls_key)
        client.connect_timeout = timeout_s
        answered = threading.Event()
        outcome: dict = {}

        def on_connect(client, userdata, flags, reason_code, properties, outcome=outcome, answered=answered):
            outcome["reason"] = reason_code
            answered.set()

        client.on_connect = on_connect
        try:
            client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        except (OSError, ValueError) as exc:
            return CheckResult("mqtt", False, f"cannot reach the broker at {where}: {exc}")
        client.loop_start()
        try:
            if not answered.wait(timeout_s):
                return CheckResult("mqtt", False, f"the broker at {where} did not answer within {timeout_s:g} s")
        finally:
            client.disconnect()
            client.loop_stop()
        reason = outcome["reason"]
        if not reason.is_failure:
            return CheckResult("mqtt", True, f"broker at {where} accepted MQTT {protocol}"
                               + (" over TLS" if cfg.tls_ca else ""))
        if not falls_back(protocol, cfg.protocol, reason.value):
            return CheckResult("mqtt", False, f"the broker at {where} refused the connection: {reason}")
    return CheckResult("mqtt", False, f"the broker at {where} refused MQTT 5 and 3.1.1")


# -- the command -----------------------------------------------------------------------------------------

def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


LOOPBACK_HINT = ("loop:// is a loopback, not a {device}: name the device, or an emulator's pty "
                 "(taxiterm bench up, docs/bench.md), in the config's [board.serial]")


def _loopback(name: str, url: str) -> CheckResult | None:
    """loop:// echoes what is sent: a check against it would only report the echo as a broken device."""
    if isinstance(url, str) and url.startswith("loop://"):
        device = {"sign": "rooftop sign", "printer": "printer", "gnss": "GNSS receiver"}[name]
        return CheckResult(name, False, LOOPBACK_HINT.format(device=device))
    return None


def _timed(fn, *args) -> CheckResult:
    start = time.monotonic()
    name = {check_sign: "sign", check_printer: "printer", check_gnss: "gnss"}.get(fn)
    result = (_loopback(name, args[0]) if name else None) or fn(*args)
    return CheckResult(result.name, result.ok, result.detail, int((time.monotonic() - start) * 1000))


def run_checks(profile, config: dict, args) -> list[CheckResult]:
    """Every check not skipped, side by side; results in the order of CHECKS."""
    tid = config["mqtt"].get("terminal_id", config["terminal"]["id"])
    page = None if args.no_test_page else test_page(f"taxiterm {terminal.__version__}", tid, profile.name, _wall_ms())
    planned = {
        "display": (check_display, profile, args.display_s),
        "sign": (check_sign, profile.serial["sign"], args.sign_timeout),
        "printer": (check_printer, profile.serial["printer"], page),
        "gnss": (check_gnss, profile.serial["gnss"], args.gnss_timeout),
        "pulse": (check_pulse, profile, config),
        "mqtt": (check_mqtt, config["mqtt"], args.mqtt_timeout),
    }
    names = [name for name in CHECKS if name not in args.skip]
    with ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        futures = {name: pool.submit(_timed, *planned[name]) for name in names}
        return [futures[name].result() for name in names]


def render_text(board: str, results: list[CheckResult]) -> str:
    lines = [f"self-test on board {board}"]
    for r in results:
        lines.append(f"[{'PASS' if r.ok else 'FAIL'}] {r.name:8} {r.detail}")
    failed = [r.name for r in results if not r.ok]
    lines.append("RESULT: all devices passed" if not failed else f"RESULT: FAILED: {', '.join(failed)}")
    return "\n".join(lines) + "\n"


def handler(args) -> int:
    from board.profiles import BoardError, load_board
    from terminal.storage.run_lock import Busy, RunLock

    if min(args.display_s, args.sign_timeout, args.gnss_timeout, args.mqtt_timeout) < 0:
        raise CommandError("timeouts and --display-s must not be negative")
    try:
        config = config_mod.load(args.config)
        profile = load_board(args.board, config["board"] or None)
    except (config_mod.ConfigError, BoardError) as exc:
        raise CommandError(str(exc)) from None
    try:
        # the terminal's ports and its broker account (the username is the client id) are taken
        RunLock(config["terminal"]["state_dir"]).check_free()
    except Busy as exc:
        raise CommandError(f"{exc}; the self-test needs the devices and the broker account the terminal "
                           "is using") from None
    results = run_checks(profile, config, args)
    ok = all(r.ok for r in results)
    if args.json:
        print(json.dumps({"ok": ok, "board": profile.name, "failed": [r.name for r in results if not r.ok],
                          "checks": [asdict(r) for r in results]}, ensure_ascii=False, sort_keys=True))
    else:
        print(render_text(profile.name, results), end="")
    return 0 if ok else 1
