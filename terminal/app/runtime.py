"""Start-up: from a configuration and a board profile to a running terminal.

Opens the provisioned state directory (keys, sealed manifest, signed tariffs, the
database), checks the software identity, builds every device adapter from the board
profile and hands them to the one loop (``terminal.app.loop.Terminal``).

Also the process's shell: ``configure_logging`` (journald priorities, wins over any
library that configured logging at import), ``limit_malloc_arenas`` (the threads share two C
heaps), ``Runtime.healthy()`` for the systemd
watchdog (the loop turns and every reader thread lives, the sign's, the meter link's and
the JT/T links' included; a dead one is restarted by
``supervise()``), and a ``stop()`` that lets the broker's acknowledgements of what is
in flight arrive and be stored before the link closes.
"""

from __future__ import annotations

import ctypes  # loaded anyway: terminal/trust/ed25519.py calls libcrypto through it
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from board.pins import make_pin_factory
from board.profiles import BoardProfile, load_board
from meter.tariff import Schedule
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from terminal.storage.receipt_jobs import StoredJobs
from terminal.trust import identity, keys
from terminal.trust.audit import AuditTrail
from terminal.trust.seal import Seal, switch_closed_from_audit
from terminal.trust.tariff_store import TariffFileError, TariffStore

log = logging.getLogger("taxiterm")


LOOP_STALL_S = 10.0     # a loop that has not turned for this long is not healthy
DRAIN_S = 3.0           # how long a clean stop waits for the acknowledgements of what is in flight

# syslog priorities journald reads from a "<n>" line prefix (sd-daemon(3))
JOURNAL_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class JournalFormatter(logging.Formatter):
    """One line per record, ``<priority>`` first, no time (journald adds it)."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = JOURNAL_PRIORITY.get(record.levelno)
        if priority is None:
            priority = 3 if record.levelno > logging.WARNING else 4 if record.levelno > logging.INFO else \
                6 if record.levelno > logging.DEBUG else 7
        text = super().format(record).replace("\n", "\n" + f"<{priority}>")
        return f"<{priority}>{text}"


def configure_logging(level: str = "INFO", stream=None) -> logging.Handler:
    """The terminal's logging: root logger at ``level``, one journald handler, replacing whatever
    a library set up at import (python-escpos calls basicConfig); paho's own log joins in."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JournalFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger().setLevel(level)
    logging.captureWarnings(True)
    return handler


MALLOC_ARENAS = 2       # glibc heaps for the whole process (M_ARENA_MAX; glibc's default: 8 per core on 64-bit)
_M_ARENA_MAX = -8       # mallopt's parameter number in glibc's malloc.h


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let the threads share ``arenas`` C heaps instead of glibc's one heap per thread that allocates.

    Call before the first thread starts. The terminal's ten threads allocate little each (SQLite,
    OpenSSL, FreeType outside the GIL), but each heap of its own keeps its pages and free space:
    0.6-0.8 MB of the resident memory after 20 s live, for no measurable contention at these rates.
    An operator's ``MALLOC_ARENA_MAX`` in the environment wins; False where the C library has no
    ``mallopt`` (musl, which has no per-thread heaps either)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_ARENA_MAX, arenas) == 1


NOT_CONFIGURED = "未配置"     # on a receipt where the configuration lacks a vehicle field (logged at start)


UNCALIBRATED = "K not calibrated under the seal (taxiterm calibrate); [meter] k is for the sim board only"


def uncalibrated(profile, config: dict, calibrated_k: int | None) -> bool:
    """A vehicle board (real GPIO) with the in-process meter and no calibration stored under the seal."""
    return profile.pin_factory != "mock" and config["meter"].get("kind", "internal") == "internal" \
        and calibrated_k is None


class StartError(RuntimeError):
    """The terminal cannot start; the message says what to fix."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def installed_schedule(state: keys.DeviceState) -> Schedule:
    """All installed, authority-signed tariffs as one schedule; a later file takes over from its first date."""
    store = TariffStore(state.tariffs)
    entries = store.entries()
    if not entries:
        raise StartError(f"no tariff installed in {state.tariffs} (taxiterm tariff install FILE)")
    authority = state.role_key("authority")
    tariffs: list = []
    for entry in entries:
        loaded = store.load(entry, authority)
        first = loaded.tariffs[0].effective_ms
        tariffs = [t for t in tariffs if t.effective_ms < first] + list(loaded.tariffs)
    return Schedule(tariffs)


class NoSchedule:
    """No verified tariff: the meter cannot hire (a visible meter fault, never a crash)."""

    tariffs: list = []

    def active(self, t_ms: int):
        return None


def build_devices(profile: BoardProfile, config: dict, events: queue.Queue, clock: Callable[[], int],
                  storage: Storage, software_id: str, factory=None) -> Devices:
    from drivers.alarm_button import HiddenAlarm
    from drivers.display import DriverDisplay, open_display
    from drivers.keys import DriverKeys
    from drivers.pulse import GpioPulseCounter, KernelPulseCounter
    from drivers.sense import ignition_sense, seal_switch
    from drivers.sign import SignDriver
    from gps.reader import GnssReader
    from printer.device import open_printer
    from printer.spooler import Spooler
    from terminal.link.mqtt import MqttLink

    factory = factory or make_pin_factory(profile)
    inputs = [
        DriverKeys(profile.keys, events, clock, factory, long_ms=config["keys"]["long_ms"]),
        HiddenAlarm({"alarm_a": profile.inputs["alarm_a"], "alarm_b": profile.inputs["alarm_b"]}, events, clock,
                    factory, hold_ms=config["alarm"]["hold_ms"]),
        seal_switch(profile.inputs["seal"], events, clock, factory),
        # supply / ignition sense: its changes are the meter's power events (a dip or a loss)
        ignition_sense(profile.inputs["ignition"], events, clock, factory),
    ]
    if profile.pulse_counter:
        pulses = KernelPulseCounter(profile.pulse_counter, events, clock, period_ms=config["pulse"]["period_ms"])
    else:
        pulses = GpioPulseCounter(profile.inputs["pulse"], events, clock, factory,
                                  period_ms=config["pulse"]["period_ms"])
    sign = SignDriver(profile.serial["sign"], events, clock, query_interval_ms=config["sign"]["query_s"] * 1000)
    printer_url = profile.serial["printer"]
    spooler = Spooler(StoredJobs(storage.receipt_queue), lambda: open_printer(printer_url), events, clock)
    gnss = GnssReader(profile.serial["gnss"], events, clock=clock)
    use = config.get("links", {}).get("use", ["mqtt"])
    downlink = config.get("downlink", {})
    link = MqttLink(config["mqtt"], events, clock, software=software_id, max_bytes=downlink.get("max_bytes", 8192),
                    max_depth=downlink.get("max_depth", 8)) if "mqtt" in use else None
    display = DriverDisplay(open_display(profile.display))
    meter_link = None
    if config["meter"]["kind"] == "link":
        from drivers.meter_link import MeterLinkDriver
        port = config["meter"]["link_port"] or profile.serial.get("meter")
        if not port:
            raise StartError("[meter] kind = \"link\" needs meter.link_port or a \"meter\" serial port on the board")
        meter_link = MeterLinkDriver(port, events, clock)
    return Devices(sign=sign, display=display, spooler=spooler, gnss=gnss, link=link, inputs=inputs,
                   pulse_counter=pulses, meter_link=meter_link)


class Runtime:
    """A whole terminal: ``start()`` opens everything and runs the loop on a thread, ``stop()`` ends it."""

    def __init__(self, config: dict, board: str, clock: Callable[[], int] = wall_clock_ms,
                 code_root: Path | None = None, bench_socket: Path | None = None,
                 devices: Devices | None = None) -> None:
        self.config = config
        self.clock = clock
        self.state = keys.DeviceState(config["terminal"]["state_dir"])
        if not self.state.provisioned:
            raise StartError(f"{self.state.root} is not provisioned (taxiterm provision device)")
        missing = [k for k in ("plate", "company", "driver_cert") if not config["terminal"][k].strip()]
        if missing:
            # a trip must still close and be stored: the receipt says 未配置 where the value belongs
            log.error("receipts need terminal.%s in the configuration", ", terminal.".join(missing))
        self.profile = load_board(board, config["board"] or None)
        # A damaged tariff or key is a meter fault (reported, shown, alarm working), never a crash.
        try:
            self.schedule = installed_schedule(self.state)
        except (StartError, TariffFileError, keys.KeyFileError, KeyError, TypeError) as exc:
            log.error("installed tariff rejected: %s", exc)
            self.schedule = NoSchedule()
        self.identity = identity.device_identity(self.state, clock(), code_root)
        self.storage = Storage(self.state.database, clock)
        # the loop thread writes the audit trail; start-up and shutdown run on this one
        audit_db = sqlite3.connect(str(self.state.database), isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
        try:
            self.audit = AuditTrail(audit_db, self.state.device_key(), self.identity.software_id, clock,
                                    self.state.audit_capacity())
        except (keys.KeyFileError, ValueError, TypeError) as exc:
            log.error("device key or audit trail unusable: %s", exc)
            audit_db.close()
            self.audit = None
            self.identity.ok = False
            self.identity.reason = f"device key or audit trail unusable: {exc}"
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.pin_factory = make_pin_factory(self.profile) if devices is None else None
        self.devices = devices if devices is not None else build_devices(
            self.profile, config, self.events, clock, self.storage, self.identity.software_id, self.pin_factory)
        self.bench = self._bench_socket(bench_socket)
        self.terminal = Terminal(
            config, storage=self.storage, schedule=self.schedule, events=self.events, clock=clock,
            devices=self.devices, software_id=self.identity.software_id, identity_ok=self.identity.ok,
            identity_reason=self.identity.reason, audit=self.audit, receipt_builder=self._receipt,
            seal=Seal(self.state.device_id(), self.state.role_key("authority"),
                      switch_closed_from_audit(self.audit) if self.audit else False),
            calibrated_k=self._calibrated_k())
        self.jt_links: list = []
        if any(name in ("jt808", "jt905") for name in config.get("links", {}).get("use", ["mqtt"])):
            from terminal.app.jt_desk import attach as attach_jt_links  # the JT/T stack only when used
            self.jt_links = attach_jt_links(self.terminal, config, self.events, clock)
        if uncalibrated(self.profile, config, self._calibrated_k()) and not self.terminal.metering.refused:
            # K's one source on a vehicle is the calibration under the seal ([meter] k is the sim board's)
            self.terminal.metering.refused = UNCALIBRATED
            log.error("metering refused: %s", UNCALIBRATED)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()

    def _bench_socket(self, path: Path | None):
        """The bench's control socket (docs/bench.md): only where the pins are mock pins."""
        if path is None:
            return None
        if self.profile.pin_factory != "mock":
            raise StartError(f"a bench control socket needs mock pins; board {self.profile.name} drives real GPIO")
        from terminal.app.bench_socket import BenchPins, BenchSocket
        pins = BenchPins(self.pin_factory, self.profile.keys, self.profile.inputs,
                         lambda: self.terminal.meter.odometer.k)
        return BenchSocket(Path(path), pins)

    def _calibrated_k(self) -> int | None:
        """K stored by ``taxiterm calibrate`` under the seal (kv "calibration"), if any."""
        from terminal.trust.calibration import CalibrationError, stored_k
        try:
            return stored_k(self.storage.kv_get("calibration"))
        except CalibrationError as exc:
            log.error("%s: recalibrate under the seal (taxiterm calibrate)", exc)
            return None         # the start-up check against the chain reports it as a meter fault

    def _receipt(self, record: dict):
        from printer.receipt import Vehicle, build_receipt
        from terminal.trust.receipt_signing import receipt_link
        t = self.config["terminal"]
        vehicle = Vehicle(*(t[k].strip() or NOT_CONFIGURED for k in ("plate", "company", "driver_cert")),
                          t["supervision_phone"])
        link = receipt_link(self.state.device_key(), self.state.device_id(), t["receipt_verify_url"], record,
                            vehicle.plate)
        return build_receipt(record, vehicle, self.identity.software_id, lang=t["receipt_lang"], e_receipt_link=link)

    def start(self) -> None:
        d = self.devices
        for device in (d.sign, d.spooler, d.gnss, d.link, *self.jt_links, d.pulse_counter, d.meter_link):
            if device is not None:          # not fitted (a link not configured, a test's bare terminal)
                device.start()
        self._thread = threading.Thread(target=self._run_loop, name="terminal-loop", daemon=True)
        self._thread.start()
        if self.bench is not None:
            from terminal.app.bench_socket import BenchError
            try:
                self.bench.start()
            except (BenchError, OSError) as exc:
                self.stop()
                raise StartError(f"bench control socket {self.bench.path}: {exc}") from exc

    def _run_loop(self) -> None:
        try:
            self.terminal.run(self._stop, self.ready.set)
        except BaseException:
            log.critical("the loop died; the watchdog will restart the terminal", exc_info=True)
            raise

    # -- health: what the systemd watchdog is fed on ---------------------------------------------
    def threads(self) -> dict[str, bool]:
        """Every long-lived thread and whether it is alive (the loop also: turned recently)."""
        d = self.devices
        alive = {"loop": self._thread is not None and self._thread.is_alive()
                 and time.monotonic() - self.terminal.last_turn_s < LOOP_STALL_S,
                 "link": d.link is None or d.link.healthy()}
        for name, device in (("gnss", d.gnss), ("spooler", d.spooler), ("pulses", d.pulse_counter),
                             *((link.name, link) for link in self.jt_links)):
            thread = getattr(device, "_thread", None)
            if isinstance(thread, threading.Thread):
                alive[name] = thread.is_alive()
        for name, device in (("sign", d.sign), ("meter_link", d.meter_link)):   # reader and pacer each
            threads = getattr(device, "_threads", None)
            if isinstance(threads, list) and threads:
                alive[name] = all(thread.is_alive() for thread in threads)
        return alive

    def healthy(self) -> bool:
        if self._stop.is_set():
            return True
        return all(self.threads().values())

    def supervise(self) -> list[str]:
        """Restart reader threads found dead (the MQTT link supervises its own); returns their names.
        The sign's and the meter link's pair of threads are not restarted one by one: while one
        is dead the watchdog is not fed, and systemd restarts the terminal."""
        restarted = []
        if self._stop.is_set():
            return restarted
        restartable = {"gnss": self.devices.gnss, "spooler": self.devices.spooler,
                       "pulses": self.devices.pulse_counter, **{link.name: link for link in self.jt_links}}
        for name, alive in self.threads().items():
            if alive or name not in restartable:
                continue
            device = restartable[name]
            log.error("%s reader thread died; restarting it", name)
            try:
                _restart_thread(device)
                restarted.append(name)
            except Exception:  # noqa: BLE001 - then the watchdog restarts the whole terminal
                log.exception("cannot restart the %s thread", name)
        return restarted

    def stop(self) -> None:
        if self.bench is not None:
            self.bench.close()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        d = self.devices
        # The loop has stopped: let the acknowledgements of what is in flight arrive and be
        # stored, so nothing the broker already has is sent again after the restart.
        try:
            self.terminal.outbox.drain(self.events, DRAIN_S)
        except Exception:        # a shutdown must finish even when the store is unwell
            log.warning("draining the acknowledgements failed", exc_info=True)
        closers = [(d.pulse_counter, "close"), (d.gnss, "stop"), (d.spooler, "stop"), (d.sign, "close"),
                   (d.link, "stop"), *((j, "stop") for j in self.jt_links), (d.meter_link, "close"),
                   *((device, "close") for device in d.inputs)]
        for device, closer in closers:
            if device is None:
                continue
            try:
                getattr(device, closer)()
            except Exception:    # a device gone under us (unplugged, emulator stopped) must not stop shutdown
                log.warning("closing %s failed", type(device).__name__, exc_info=True)
        if self.audit is not None:
            self.audit.append("power_off", "software_id", self.identity.software_id, None)
            self.terminal.metering.save(self.clock(), force=True)   # the snapshot witnesses the last record
        self.storage.close()


def _restart_thread(device) -> None:
    """Start a device's reader thread again with the same target (it ended by an exception)."""
    old = device._thread
    device._thread = threading.Thread(target=device._run, name=old.name, daemon=True)  # each runs self._run
    device._thread.start()
