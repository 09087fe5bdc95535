"""The scenario runner: one whole terminal through a simulated shift, on a clock the runner owns.

The stage of the simulator. ``ShiftRunner(scenario, out_dir).run()`` provisions a state
directory, builds the real ``terminal.app.loop.Terminal`` with emulated devices (keys, hidden
alarm, ignition and pulses on gpiozero mock pins; GNSS, rooftop sign and receipt printer
on pseudo-terminals; luma's dummy display; the real MQTT link to a real Mosquitto with
the platform emulator on the far side), then plays the scenario: a vehicle model drives
the routes, a driver model presses keys as the display asks, the platform sends orders
and answers alarms, and incidents strike (power, broker, GNSS, paper).

Time is a variable of the runner (Unix epoch ms) given to every part as its clock.
Events are processed in time order from a schedule; at each simulated second the
vehicle moves, the pulse counter is sampled, one NMEA epoch goes through the GNSS pty,
and the terminal's loop step runs (``handle`` each queued event, then ``periodic``).
``speed=None`` runs as fast as the machine allows; ``speed=N`` holds the simulated clock
to N times the wall clock (1 = real time). Where something real happens outside the
runner (a command crossing the broker, a broker coming back), the runner waits for it
in wall time with the simulated clock standing still, so results do not depend on the
machine's speed.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import logging
import math
import queue
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt

from board.profiles import load_board
from drivers.alarm_button import HiddenAlarm
from drivers.display import DriverDisplay, open_display
from drivers.event import Event
from drivers.keys import DriverKeys
from drivers.pulse import GpioPulseCounter, KernelPulseCounter
from drivers.sense import ignition_sense
from sim import summary as summary_mod
from sim.broker import Broker, Gate
from sim.devices import FrameRecorder, KernelCounterFile, PtyGnss, PtySign, antenna_line, contact_sheet
from sim.gnss_emulator import nmea_epochs
from sim.gnss_route import Route, TruthSample, Waypoint, drive, offset, urban_route
from sim.platform import PlatformEmulator
from sim.printer_emulator import PrinterEmulator
from sim.provision import provision_state
from sim.pty import PtyDevice
from sim.pulse_gen import PulseTrain
from sim.scenario import Action, RouteSpec, Scenario
from sim.sign_emulator import SignEmulator
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.app.runtime import installed_schedule
from terminal.storage.database import Storage
from terminal.storage.receipt_jobs import StoredJobs
from terminal.trust import identity
from terminal.trust.audit import AuditTrail
from terminal.trust.seal import Seal, switch_closed_from_audit

log = logging.getLogger("taxiterm.sim")

SYNC_TIMEOUT_S = 10.0
PROBE_ID = "SIM-PROBE"


class SimError(RuntimeError):
    """The simulation itself could not go on (an emulator or the broker did not answer in time)."""


class _Feed:
    """The vehicle's current truth sample, pulled by the NMEA generators one epoch at a time."""

    def __init__(self) -> None:
        self.current: TruthSample | None = None

    def __iter__(self) -> Iterator[TruthSample]:
        while True:
            yield self.current


class Vehicle:
    """Where the car is and how far it went; ``drive(spec)`` starts a route from here."""

    def __init__(self, origin: tuple[float, float]) -> None:
        self.lat, self.lon = origin
        self.speed_mps = 0.0
        self.course = 0.0
        self.odometer_m = 0.0
        self._samples: Iterator[TruthSample] | None = None
        self._last_d = 0.0
        self.frozen = False      # power off: the car stands

    @property
    def driving(self) -> bool:
        return self._samples is not None

    def route(self, spec: RouteSpec, seed_offset: int = 0) -> Route:
        if spec.length_m is not None:
            return urban_route(float(spec.length_m), seed=spec.seed + seed_offset, origin=(self.lat, self.lon),
                               pickup_stops=0)
        points = [Waypoint(self.lat, self.lon, spec.legs[0][2] / 3.6)]
        lat, lon = self.lat, self.lon
        for i, (metres, heading, _kmh, stop) in enumerate(spec.legs):
            lat, lon = offset(lat, lon, metres * math.cos(math.radians(heading)),
                              metres * math.sin(math.radians(heading)))
            nxt = spec.legs[i + 1][2] if i + 1 < len(spec.legs) else spec.legs[-1][2]
            points.append(Waypoint(lat, lon, nxt / 3.6, stop))
        return Route(points, spec.name or "legs")

    def start(self, route: Route) -> None:
        self._samples = drive(route, 1.0)
        next(self._samples)       # the first sample is where the car stands now
        self._last_d = 0.0

    def step(self) -> float:
        """One second; returns the metres driven. Ends the drive at the route's end."""
        if self._samples is None or self.frozen:
            self.speed_mps = 0.0
            return 0.0
        sample = next(self._samples, None)
        if sample is None:
            self._samples = None
            self.speed_mps = 0.0
            return 0.0
        dm = sample.distance_m - self._last_d
        self._last_d = sample.distance_m
        self.lat, self.lon, self.speed_mps = sample.lat, sample.lon, sample.speed_mps
        self.course = sample.course_deg
        self.odometer_m += dm
        return dm

    def truth(self, t_ms: int) -> TruthSample:
        return TruthSample(t_ms, self.lat, self.lon, self.speed_mps, self.course, self.odometer_m)


def split_route(spec: RouteSpec) -> tuple[RouteSpec, RouteSpec]:
    """A trip's route in two halves (for standing in traffic or pausing in the middle)."""
    if spec.length_m is not None:
        half = max(100, spec.length_m // 2)
        return (RouteSpec(length_m=half, seed=spec.seed, name=spec.name),
                RouteSpec(length_m=max(100, spec.length_m - half), seed=spec.seed + 1000, name=spec.name))
    legs = list(spec.legs)
    if len(legs) == 1:
        m, h, v, s = legs[0]
        return RouteSpec(legs=((m / 2, h, v, 0.0),), name=spec.name), RouteSpec(legs=((m / 2, h, v, s),),
                                                                                 name=spec.name)
    mid = len(legs) // 2
    return RouteSpec(legs=tuple(legs[:mid]), name=spec.name), RouteSpec(legs=tuple(legs[mid:]), name=spec.name)


def journal_meter(meter, journal: list) -> None:
    """Record every call the terminal makes on the meter that the meter accepted (for the reference check)."""
    for name in ("reading", "key", "power"):
        method = getattr(meter, name)

        @functools.wraps(method)
        def recorded(*args, _method=method, _name=name, **kw):
            out = _method(*args, **kw)
            journal.append((_name, args, kw))
            return out

        setattr(meter, name, recorded)


class ShiftRunner:
    def __init__(self, scenario: Scenario, out_dir: str | Path, *, speed: float | None = None,
                 broker: Broker | None = None, render: bool = True, state_dir: Path | None = None,
                 on_tick: Callable[[dict], None] | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for the virtual clock)")
        self.scenario = scenario
        self.out = Path(out_dir)
        self.speed = speed
        self.render = render
        self.on_tick = on_tick
        self._own_broker = broker is None
        self.broker = broker
        self._state_dir = state_dir
        self.now = scenario.start_ms
        self.journal: list = []
        self.notes: list[str] = []
        self._heap: list = []
        self._seq = itertools.count()
        self._finished = False
        self._order_no = itertools.count(1)
        self._alarms: list[dict] = []
        self._gnss_mode = "ok"
        self._antenna_pending: str | None = None
        self._sent_m = 0
        self._held_at: int | None = None
        self._powered = True
        self.wall_s = 0.0

    def clock(self) -> int:
        return self.now

    # -- building the car ---------------------------------------------------------------------------
    def _build(self) -> None:
        sc = self.scenario
        v = sc.vehicle
        self.out.mkdir(parents=True, exist_ok=True)
        if self.broker is None:
            self.broker = Broker().start()
        self.gate = Gate(self.broker.port)
        state_dir = self._state_dir or (self.out / "state")
        self.state = provision_state(state_dir, device_id=f"SIM-{v.terminal_id}", tariff=sc.tariff)
        self.transcript = self.out / "mqtt.jsonl"
        self.transcript.write_text("")
        self.platform = PlatformEmulator(self.broker.host, self.broker.port, transcript=self.transcript,
                                         clock=self.clock, client_id=f"platform-{v.terminal_id}").start()
        self.config = config_mod.from_dict({
            "terminal": {"id": v.terminal_id, "state_dir": str(state_dir), "plate": v.plate,
                         "company": v.company, "driver_cert": sc.driver_cert},
            "meter": {"k": v.k},
            "report": dict(sc.report),
            "sign": {"query_s": 60},
            "mqtt": {"host": self.broker.host, "port": self.gate.port, "reconnect_min_s": 0.05,
                     "reconnect_max_s": 0.5},
        })
        self.events: queue.Queue = queue.Queue()
        clock = self.clock
        self.storage = Storage(self.state.database, clock)
        self.identity = identity.device_identity(self.state, clock(), None)
        audit_db = sqlite3.connect(str(self.state.database), isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
        self.audit = AuditTrail(audit_db, self.state.device_key(), self.identity.software_id, clock,
                                self.state.audit_capacity())
        profile = load_board("sim")
        from gpiozero.pins.mock import MockFactory
        factory = MockFactory()
        self.keys = DriverKeys(profile.keys, self.events, clock, factory, long_ms=self.config["keys"]["long_ms"])
        self.alarm_buttons = HiddenAlarm({"alarm_a": profile.inputs["alarm_a"], "alarm_b": profile.inputs["alarm_b"]},
                                         self.events, clock, factory, hold_ms=self.config["alarm"]["hold_ms"])
        self.ignition = ignition_sense(profile.inputs["ignition"], self.events, clock, factory)
        self.ignition.device.pin.drive_low()    # ignition on before the terminal starts
        period = self.config["pulse"]["period_ms"]
        if v.pulse_input == "gpio":
            self.counter = GpioPulseCounter(profile.inputs["pulse"], self.events, clock, factory, period_ms=period)
            self.train = PulseTrain(factory, profile.inputs["pulse"], v.k)
            self.kernel_file = None
        else:
            self.kernel_file = KernelCounterFile(state_dir / "pulse-count")
            self.counter = KernelPulseCounter(str(self.kernel_file.path), self.events, clock, period_ms=period)
            self.train = None
        self.sign_emulator = SignEmulator(clock=clock).start()
        self.sign = PtySign(self.sign_emulator.path, self.events, clock)
        self.printer = PrinterEmulator(out_dir=self.out / "receipts" if self.render else None)
        self.printer_pty = PtyDevice()
        self.printer.serve_pty(self.printer_pty)
        from printer.device import open_printer
        from printer.spooler import Spooler
        self.spooler = Spooler(StoredJobs(self.storage.receipt_queue), lambda: open_printer(self.printer_pty.path),
                               self.events, clock)
        self.gnss = PtyGnss(self.events, clock)
        self.display = FrameRecorder(DriverDisplay(open_display(profile.display)), clock,
                                     self.out / "frames" if self.render else None)
        from terminal.link.mqtt import MqttLink
        self.link = MqttLink(self.config["mqtt"], self.events, clock, software=self.identity.software_id)
        devices = Devices(sign=self.sign, display=self.display, spooler=self.spooler, gnss=None, link=self.link,
                          inputs=[self.keys, self.alarm_buttons, self.ignition], pulse_counter=self.counter)
        self.terminal = Terminal(
            self.config, storage=self.storage, schedule=installed_schedule(self.state), events=self.events,
            clock=clock, devices=devices, software_id=self.identity.software_id, identity_ok=self.identity.ok,
            identity_reason=self.identity.reason, audit=self.audit, receipt_builder=self._receipt,
            seal=Seal(self.state.device_id(), self.state.role_key("authority"), switch_closed_from_audit(self.audit)))
        journal_meter(self.terminal.meter, self.journal)
        self.vehicle = Vehicle(v.origin)
        self._feed = _Feed()
        self._feed.current = self.vehicle.truth(0)
        opts = {"style": v.gnss_style, "seed": sc.seed, "start_ms": sc.start_ms}
        self._nmea_ok = nmea_epochs(self._feed, **opts)
        self._nmea_nofix = nmea_epochs(self._feed, dropouts=[(0, 10**9)], **opts)

    def _receipt(self, record: dict):
        from printer.receipt import Vehicle as ReceiptVehicle
        from printer.receipt import build_receipt
        t = self.config["terminal"]
        vehicle = ReceiptVehicle(t["plate"], t["company"], t["driver_cert"], t["supervision_phone"])
        return build_receipt(record, vehicle, self.identity.software_id, lang=t["receipt_lang"])

    # -- the schedule -----------------------------------------------------------------------------------
    def at(self, t_ms: int, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (max(t_ms, self.now), next(self._seq), fn))

    def _pace(self, t_ms: int) -> None:
        if self.speed is None:
            return
        due = self._wall0 + (t_ms - self.scenario.start_ms) / 1000.0 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def drain(self) -> None:
        """The terminal's loop step: every queued event in order (the loop's own ``run`` does the same)."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            self.terminal.handle(event)

    def await_event(self, predicate: Callable[[Event], bool], what: str, timeout_s: float = SYNC_TIMEOUT_S) -> Event:
        """Handle events (the simulated clock standing still) until one satisfies ``predicate``."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimError(f"{what}: not seen within {timeout_s:g} s")
            try:
                event = self.events.get(timeout=min(left, 0.05))
            except queue.Empty:
                self.terminal.outbox.pump()
                continue
            self.terminal.handle(event)
            if predicate(event):
                return event

    # -- running ------------------------------------------------------------------------------------------
    def run(self) -> dict:
        started = time.monotonic()
        self._build()
        try:
            self.link.start()
            self.await_event(lambda e: e.kind == "link" and e.data.get("up"), "the terminal's MQTT connection")
            self.terminal.start()
            self._wall0 = time.monotonic()
            self._script = self._driving()
            self._anchors: dict[int, list[Action]] = {}
            last_driving = None
            for action in self.scenario.actions:
                if action.driving:
                    last_driving = action.index
                elif action.into_ms is not None:
                    self._anchors.setdefault(last_driving, []).append(action)
                else:
                    self.at(action.at_ms, functools.partial(self._incident, action))
            self.at(self.now, self._resume)
            self._next_tick = self.now + 1000
            self._tick_no = 0
            self.at(self._next_tick, self._tick)
            while self._heap:
                t, _, fn = heapq.heappop(self._heap)
                if self.scenario.end_ms is not None and t > self.scenario.end_ms:
                    self.notes.append("the shift was stopped at its end time; what was still to come did not happen")
                    break
                self._pace(t)
                self.now = max(self.now, t)
                fn()
                self.drain()
                if self._finished and all(f == self._tick for _, _, f in self._heap):
                    break
            self._finish()
            self.wall_s = time.monotonic() - started
            self.replay_wall_s = time.monotonic() - self._wall0
            return self._collect()
        finally:
            self._close()

    def _tick(self) -> None:
        v = self.vehicle
        v.step()
        if self._waiting_drive and not v.driving:
            self._waiting_drive = False
            self.at(self.now, self._resume)
        if self._powered:
            self._pulses(v.odometer_m)
            self._tick_no += 1
            if self._tick_no * 1000 % self.counter.period_ms == 0:
                self.counter.sample()
            self._gnss_epoch()
        self.drain()
        self.terminal.periodic(self.now)
        self._spool()
        if self.on_tick is not None:
            self.on_tick(self.status())
        self._next_tick += 1000
        self.at(self._next_tick, self._tick)

    def _pulses(self, odometer_m: float) -> None:
        whole = int(odometer_m)
        metres, self._sent_m = whole - self._sent_m, whole
        if not metres:
            return
        if self.train is not None:
            self.train.drive(metres)
        else:
            self.kernel_file.add(metres * self.scenario.vehicle.k // 1000)

    def _gnss_epoch(self) -> None:
        self._feed.current = self.vehicle.truth(self.now - self.scenario.start_ms)
        mode = self._gnss_mode
        if mode == "silent":
            self.gnss.quiet()
            return
        data = b""
        if self._antenna_pending is not None:
            data = antenna_line(self.scenario.vehicle.gnss_style, self._antenna_pending)
            self._antenna_pending = None
        _, epoch = next(self._nmea_ok if mode == "ok" else self._nmea_nofix)
        self.gnss.epoch(data + epoch)

    def _spool(self) -> None:
        if self._held_at is not None and self.now - self._held_at < self.spooler.retry_s * 1000:
            return
        while True:
            outcome = self.spooler.run_once()
            if outcome == "held":
                self._held_at = self.now
                return
            self._held_at = None
            if outcome == "idle":
                return

    # -- the driver and the car -----------------------------------------------------------------------
    _waiting_drive = False

    def _resume(self) -> None:
        try:
            step = next(self._script)
        except StopIteration:
            self._finished = True
            return
        kind, value = step
        if kind == "wait":
            self.at(self.now + value, self._resume)
        elif kind == "until":
            self.at(value, self._resume)
        elif kind == "drive":
            self.vehicle.start(value)
            self._waiting_drive = True

    def press(self, key: str, hold_ms: int = 150) -> None:
        """The driver presses a key: the pin goes low now and high ``hold_ms`` later."""
        pin = self.keys.buttons[key].pin
        pin.drive_low()
        self.now += hold_ms
        pin.drive_high()
        self.drain()

    def _meter_state(self) -> str:
        return self.terminal.meter.state

    def _driving(self) -> Iterator[tuple]:
        for action in self.scenario.actions:
            if not action.driving:
                continue
            if action.at_ms is not None and action.at_ms > self.now:
                yield ("until", action.at_ms)
            for incident in self._anchors.get(action.index, []):
                self.at(self.now + incident.into_ms, functools.partial(self._incident, incident))
            yield from getattr(self, "_do_" + action.do)(action)

    def _drive(self, spec: RouteSpec, seed_offset: int = 0) -> Iterator[tuple]:
        yield ("drive", self.vehicle.route(spec, seed_offset))

    def _do_sign_in(self, action: Action) -> Iterator[tuple]:
        self.press("sign")
        yield ("wait", 2000)

    def _do_sign_out(self, action: Action) -> Iterator[tuple]:
        self.press("sign")
        yield ("wait", 2000)

    def _do_park(self, action: Action) -> Iterator[tuple]:
        yield ("wait", action.params["duration"])

    def _do_cruise(self, action: Action) -> Iterator[tuple]:
        yield from self._drive(action.params["route"], action.index)

    def _do_out_of_service(self, action: Action) -> Iterator[tuple]:
        self.press("hire", hold_ms=self.config["keys"]["long_ms"] + 200)
        yield ("wait", action.params["duration"])
        self.press("hire", hold_ms=self.config["keys"]["long_ms"] + 200)
        yield ("wait", 1000)

    def _trip(self, action: Action, route: RouteSpec) -> Iterator[tuple]:
        """A passenger on board: hire, drive (standing in traffic or pausing half way), settle, tolls, clear."""
        p = action.params
        if self._meter_state() != "for_hire":
            self.notes.append(f"{action.where()}: meter {self._meter_state()}, no passenger taken")
            return
        self.press("hire")
        yield ("wait", 2000)
        first, second = split_route(route)
        yield from self._drive(first, action.index)
        if p["wait"]:
            yield ("wait", p["wait"])          # standing in traffic, hired: waiting time runs
        if p.get("pause"):
            self.press("pause")                # a fault: the driver stops the meter
            yield ("wait", p["pause"])
            self.press("pause")
        yield from self._drive(second, action.index + 500)
        if self._meter_state() not in ("hired", "stopped"):
            self.notes.append(f"{action.where()}: trip already closed by the meter ({self._meter_state()})")
            return
        self.press("settle")
        yield ("wait", 3000)
        for _ in range(p["tolls_fen"] // self.config["keys"]["toll_step_fen"]):
            self.press("extra")
        self.press("hire")                      # commits the tolls and closes the trip: receipt prints
        yield ("wait", 5000)

    def _do_hail(self, action: Action) -> Iterator[tuple]:
        yield ("wait", 5000)                    # the passenger gets in
        yield from self._trip(action, action.params["route"])

    def _do_order(self, action: Action) -> Iterator[tuple]:
        p = action.params
        tid = self.scenario.vehicle.terminal_id
        order_id = f"95128-{self.scenario.name[:12]}-{next(self._order_no):03d}"
        self._command(self.platform.order_offer, tid, order_id, order_type=p["order_type"],
                      pickup_ms=self.now + 600_000, address=p["address"], text="电召订单")
        outcome = p["outcome"]
        if outcome == "timeout":
            yield ("wait", self.config["orders"]["answer_s"] * 1000 + 2000)
            return
        if p["order_type"] != "assigned":
            yield ("wait", p["answer_after"])
            if outcome == "rejected":
                self.press("reject")
                yield ("wait", 1000)
                return
            self.press("accept")
        yield from self._drive(p["pickup_route"], action.index)
        if outcome == "cancelled_by_centre":
            yield ("wait", p["cancel_after"])
            self._command(self.platform.order_cancel, tid, order_id, reason="乘客取消")
            yield ("wait", 1000)
            return
        if outcome == "cancelled_by_driver":
            yield ("wait", p["cancel_after"])
            self.press("reject")               # on call: the driver gives the order up
            yield ("wait", 1000)
            return
        yield ("wait", 30_000)                  # the passenger comes out and gets in
        yield from self._trip(action, p["route"])

    # -- the platform -----------------------------------------------------------------------------------
    def _command(self, send, *args, **kw) -> str:
        cmd_id = send(*args, **kw)
        self.await_event(lambda e: e.kind == "platform" and isinstance(e.data.get("payload"), dict)
                         and e.data["payload"].get("cmd_id") == cmd_id, f"platform command {cmd_id}")
        return cmd_id

    # -- incidents ------------------------------------------------------------------------------------------
    def _incident(self, action: Action) -> None:
        p = action.params
        log.info("incident %s at %d", action.do, self.now)
        if action.do in ("power_dip", "power_loss"):
            self._power(False)
            self.at(self.now + p["duration"], functools.partial(self._power, True))
        elif action.do == "broker_outage":
            self._outage_begin(p["mode"])
            self.at(self.now + p["duration"], functools.partial(self._outage_end, p["mode"]))
        elif action.do == "gnss_dropout":
            self._gnss_mode = "dropout"
            self.at(self.now + p["duration"], self._gnss_back)
        elif action.do == "antenna_fault":
            self._gnss_mode = "antenna"
            self._antenna_pending = p["fault"]
            self.at(self.now + p["duration"], self._gnss_back)
        elif action.do == "paper_out":
            self.printer.set_state(paper_out=True)
            self.at(self.now + p["duration"], self._paper_back)
        elif action.do == "alarm":
            self._alarm(p)
        elif action.do == "notice":
            self._command(self.platform.notice, self.scenario.vehicle.terminal_id, f"n{self.now}", p["text"])

    def _power(self, on: bool) -> None:
        self._powered = on
        self.vehicle.frozen = not on
        pin = self.ignition.device.pin
        (pin.drive_low if on else pin.drive_high)()

    def _gnss_back(self) -> None:
        if self._gnss_mode == "antenna":
            self._antenna_pending = "ok"
        self._gnss_mode = "ok"

    def _paper_back(self) -> None:
        self.printer.set_state(paper_out=False)
        self._held_at = None
        self._spool()

    def quiesce(self, timeout_s: float = 20.0) -> None:
        """Wall-clock wait, simulated clock still, until the outbox is empty and the platform has every seq."""
        tid = self.scenario.vehicle.terminal_id
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.drain()
            self.terminal.outbox.pump()
            last = self.terminal.outbox.last_seq()
            if self.terminal.outbox.pending() == 0 and summary_mod.missing_seqs(self.platform, tid, last) == []:
                return
            time.sleep(0.01)
        raise SimError(f"outbox not drained within {timeout_s:g} s ({self.terminal.outbox.pending()} pending)")

    def _outage_begin(self, mode: str) -> None:
        if mode == "kill":
            self.quiesce()      # what the broker acknowledged has reached the platform before it dies
            self.gate.hold()
            self.gate.cut()
            self.broker.stop()
        else:
            self.gate.hold()
            self.gate.cut()
        self.await_event(lambda e: e.kind == "link" and not e.data.get("up"), "the link going down")

    def _outage_end(self, mode: str) -> None:
        if mode == "kill":
            self.broker.start()
            self._platform_back()
        self.gate.release()
        self.await_event(lambda e: e.kind == "link" and e.data.get("up"), "the link coming back")

    def _platform_back(self) -> None:
        """The restarted broker forgot every subscription: wait until the platform has subscribed again."""
        probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=PROBE_ID, protocol=mqtt.MQTTv5)
        probe.connect(self.broker.host, self.broker.port)
        probe.loop_start()
        try:
            before = len(self.platform.received("status", PROBE_ID))
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while len(self.platform.received("status", PROBE_ID)) == before:
                if time.monotonic() > deadline:
                    raise SimError("the platform did not subscribe again after the broker restart")
                body = {"online": True, "ts": self.now, "software": "probe", "terminal_id": PROBE_ID}
                probe.publish(f"taxi/{PROBE_ID}/status", json.dumps(body), qos=1).wait_for_publish(2)
                time.sleep(0.05)
        finally:
            probe.disconnect()
            probe.loop_stop()

    def _alarm(self, p: dict) -> None:
        pin = self.alarm_buttons.buttons["alarm_a"].pin
        pin.drive_low()
        index = len(self.platform.messages)
        entry = {"pressed_ms": self.now, "alarm_id": None, "brush": False}
        self._alarms.append(entry)

        def release() -> None:
            pin.drive_high()
            self.drain()
            if p["hold"] < self.config["alarm"]["hold_ms"]:
                entry["brush"] = True        # too short to be an alarm: nothing must be reported
                return
            tid = self.scenario.vehicle.terminal_id
            try:
                pre = self.platform.wait_for(lambda m: m.kind == "alarm" and m.terminal_id == tid
                                             and m.payload["extra"]["stage"] == "pre_alarm", SYNC_TIMEOUT_S, index)
            except Exception as exc:   # noqa: BLE001 - PlatformError: named in the run's notes, invariant fails
                self.notes.append(f"alarm pressed at {entry['pressed_ms']}: no pre-alarm at the platform ({exc})")
                return
            alarm_id = entry["alarm_id"] = pre.payload["extra"]["alarm_id"]
            self.at(self.now + p["confirm_after"], lambda: self._command(self.platform.alarm_confirm, tid, alarm_id))
            self.at(self.now + p["confirm_after"] + p["release_after"],
                    lambda: self._command(self.platform.alarm_release, tid, alarm_id, reason="处置完毕"))

        self.at(self.now + p["hold"], release)

    # -- the end ---------------------------------------------------------------------------------------------
    def _finish(self) -> None:
        for _ in range(10):
            self.now += 1000
            self._tick_only()
        self._held_at = None
        if self.printer.hold_reason() is None:
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while len(self.spooler.store) and time.monotonic() < deadline:
                self._spool()
                self.drain()
                time.sleep(0.01)
        else:
            self.notes.append(f"the printer cannot print at the end of the shift ({self.printer.hold_reason()}): "
                              f"{len(self.spooler.store)} receipt(s) still queued")
        self.quiesce()
        if not len(self.spooler.store):
            self.printer.wait_for_receipts(len(self.storage.trips()), timeout_s=SYNC_TIMEOUT_S)

    def _tick_only(self) -> None:
        if self._powered:
            self._pulses(self.vehicle.odometer_m)
            self.counter.sample()
            self._gnss_epoch()
        self.drain()
        self.terminal.periodic(self.now)
        self._spool()

    def status(self) -> dict:
        """What the dashboard shows."""
        v = self.terminal.meter.view()
        fix = self.terminal.fix
        flags = sorted(self.terminal.alarm_flags)
        return {
            "t_ms": self.now, "state": v["state"], "fare_fen": v["fare_fen"], "extras_fen": v["extras_fen"],
            "distance_m": v["distance_m"], "sign": self.sign_emulator.state, "speed_kmh": round(self.vehicle.speed_mps * 3.6),
            "gnss": ",".join(f for f in flags if f in ("gnss_fault", "antenna_open", "antenna_short"))
                    or ("fix" if fix is not None else "no fix"),
            "outbox": self.terminal.outbox.pending() if self.speed is not None or self.now % 60000 == 0 else None,
            "platform": self.terminal.last_platform, "trips": self.terminal.meter.totals.hirings,
            "link": self.link.connected, "powered": self._powered, "order": self.terminal.orders.state,
        }

    def _collect(self) -> dict:
        data = self.data = summary_mod.gather(self)
        result = summary_mod.write_outputs(self, data)
        if self.render and self.display.frames:
            contact_sheet(self.out / "frames", self.display.frames, self.out / "contact-sheet.png",
                          label=lambda t: summary_mod.hhmm(t, self.scenario.utc_offset_min))
        return result

    def _close(self) -> None:
        for closer in (getattr(self, name, None) for name in ("link",)):
            if closer is not None:
                closer.stop()
        for name in ("keys", "alarm_buttons", "ignition", "gnss", "sign"):
            device = getattr(self, name, None)
            if device is not None:
                device.close()
        if getattr(self, "counter", None) is not None:
            self.counter.stop()
        if getattr(self, "spooler", None) is not None:
            self.spooler.stop()
        for name in ("platform",):
            if getattr(self, name, None) is not None:
                getattr(self, name).stop()
        if getattr(self, "printer", None) is not None:
            self.printer.close()
            self.printer_pty.close()
        if getattr(self, "sign_emulator", None) is not None:
            self.sign_emulator.close()
        if getattr(self, "storage", None) is not None:
            self.audit.conn.close()
            self.storage.close()
        if getattr(self, "gate", None) is not None:
            self.gate.close()
        if self._own_broker and self.broker is not None:
            self.broker.close()
