"""The loop (application room): one thread that owns the state and dispatches every event.

Device adapters (keys, hidden alarm, pulses, GNSS, sign, printer, the platform link)
only put ``Event`` objects on one queue. ``Terminal.handle`` hands each event, in order,
to the desk it concerns and carries out the effects the desks return:

- ``Metering``: the meter, trip closing and the order of persistence (metering.py);
- ``Reporting``: position, status and alarm bits, and the reports (reporting.py);
- ``PlatformDesk``: downlink commands and their acknowledgements (platform_desk.py);
- ``Cabin``: the driver's keys and screen (cabin.py);
- ``EmergencyAlarm``, ``OrderDesk`` and ``DayBook`` (alarm.py, orders.py, daily.py).

Legal data is stored before anything is printed or sent. See docs/architecture.md.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable

from drivers.event import Event
from terminal.app import meter_port
from terminal.app.alarm import EmergencyAlarm
from terminal.app.cabin import Cabin
from terminal.app.daily import DayBook
from terminal.app.evaluation import EvaluationDesk
from terminal.app.metering import OPERATING, Metering
from terminal.app.orders import OrderDesk
from terminal.app.platform_desk import PlatformDesk
from terminal.app.recorder import Recorder
from terminal.app.reporting import Reporting
from terminal.app.turn_faults import TurnFaults
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

log = logging.getLogger("taxiterm")

LOOP_IDLE_S = 0.2          # the loop wakes at least this often for timers (reports, alarm interval)
HOLD_POLL_S = 0.002        # while a key or the hidden alarm is held, its hold is checked this often
# Events that stream in at the sensors' rate (10 Hz fixes, the 1 Hz pulse count): handled at
# once, but the timers' turn (reports, saves, the display) waits for its LOOP_IDLE_S pace
# instead of following each of them. Any other event (a key, a command, an ack) gets its turn.
STREAMING = frozenset({"fix", "pulses"})


class Devices:
    """What the board hands the terminal; any of them may be None (not fitted, or a test)."""

    def __init__(self, *, sign=None, display=None, spooler=None, gnss=None, link=None, inputs=(),
                 pulse_counter=None, meter_link=None, evaluator=None) -> None:
        self.sign = sign
        self.display = display
        self.spooler = spooler
        self.gnss = gnss
        self.link = link
        self.inputs = list(inputs)        # keys, hidden alarm, ignition, seal: closed at shutdown
        self.pulse_counter = pulse_counter
        self.meter_link = meter_link      # the 905.2 meter link driver when [meter] kind = "link"
        self.evaluator = evaluator        # the passenger service evaluator, when fitted


class Terminal:
    def __init__(self, config: dict, *, storage: Storage, schedule, events: queue.Queue,
                 clock: Callable[[], int], devices: Devices, software_id: str,
                 identity_ok: bool = True, identity_reason: str = "", audit=None, vehicle=None,
                 receipt_builder=None, seal=None, calibrated_k: int | None = None) -> None:
        from drivers.screens import SelfTest
        from drivers.sign_follower import SignFollower
        self.config = config
        self.storage = storage
        self.events = events
        self.clock = clock
        self.devices = devices
        self.software_id = software_id
        self.audit = audit
        self.seal = seal
        self.vehicle = vehicle
        self.receipt_builder = receipt_builder
        self.outbox = Outbox(storage, devices.link, capacity=config["outbox"]["capacity"],
                             window=config["outbox"]["window"])
        self.alarm = EmergencyAlarm(config["report"]["alarm_s"] * 1000)
        self.orders = OrderDesk(config["orders"]["answer_s"] * 1000)
        self.reporting = Reporting(self)
        self.evaluation = EvaluationDesk(self)
        self.metering = Metering(self, schedule=schedule, calibrated_k=calibrated_k,
                                 refused=None if identity_ok else identity_reason)
        self.follower = SignFollower(self.meter.state)
        self.platform = PlatformDesk(self)
        self.started_ms = clock()
        self.last_turn_s = time.monotonic()   # the watchdog's proof that the loop turns
        self.faults = TurnFaults(self.audit_event)
        self._turn = self._turn_steps()
        active = schedule.active(self.started_ms)
        self.cabin = Cabin(self, selftest=SelfTest(self.started_ms, software_id, active.id if active else "-"))
        self.daybook = DayBook(active.utc_offset_min if active else 480)
        self.daybook.set_state(OPERATING[self.meter.state], self.started_ms)
        self.recorder = Recorder(self)      # the driving record (terminal/recorder/, docs/recorder.md)
        self._handlers = {
            "pulses": lambda e: self.metering.on_pulses(e.t_ms, e.data["count"]),
            "key": lambda e: self.cabin.on_key(e.data["key"], e.data.get("long", False), e.t_ms),
            "power": self._on_power,
            "alarm_button": self._on_alarm_button,
            "platform": lambda e: self.platform.on_event(e.data, e.t_ms),
            "jt_command": lambda e: self.platform.on_jt_command(e.data, e.t_ms),
            "fix": self._on_fix,
            "gnss_health": lambda e: self.reporting.flag(e.data["alarm"], e.data["active"], e.t_ms),
            "sign_fault": self._on_sign_fault,
            "pulse_silent": lambda e: self.metering.speed_sensor("pulse_silent", e.data.get("active", True), e.t_ms),
            "printer_status": self._on_printer_status,
            "seal": self._on_seal,
            "tick": lambda e: None,
            "meter_link": lambda e: meter_port.on_link(self.metering, e.t_ms, e.data["command"], e.data["values"]),
            "evaluation": lambda e: self.evaluation.on_rating(e.t_ms, e.data),
            "meter_fault": lambda e: meter_port.on_fault(self.metering, e.t_ms, e.data["active"], e.data["reason"]),
        }

    # -- what the desks share (read by the simulator, the dashboard and tests) ------------------------
    @property
    def meter(self):
        return self.metering.meter

    @property
    def fix(self):
        return self.reporting.fix

    @property
    def alarm_flags(self) -> set:
        return self.reporting.flags

    @property
    def track(self):
        return self.metering.track

    @property
    def selftest(self):
        return self.cabin.selftest

    @property
    def last_platform(self) -> str:
        return self.platform.last

    def screen(self):
        return self.cabin.screen()

    # -- start-up ---------------------------------------------------------------------------------
    def start(self) -> None:
        self.audit_event("power_on", "software_id", None, self.software_id)
        refused = self.metering.refused
        if refused:
            self.audit_event("identity_refused", "meter", None, refused)
            log.error("metering refused: %s", refused)
        self.metering.start(self.clock())
        self.platform.restore(self.clock())   # alarm, order desk, platform parameters as before the stop
        self.cabin.signed_out = self.cabin.signed_out_now()
        self.follower.signed_out(self.cabin.signed_out)
        self.show_sign(self.follower.wanted(), force=True)
        self.metering.save(self.clock(), force=True)

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, stop: threading.Event, ready: Callable[[], None] | None = None) -> None:
        self.start()
        if ready:
            ready()
        next_turn = 0.0
        while not stop.is_set():
            holding = self._holding()
            wait = max(0.0, next_turn - time.monotonic())
            try:
                event = self.events.get(timeout=min(wait, HOLD_POLL_S) if holding else wait)
            except queue.Empty:
                event = None
            if event is None and holding and time.monotonic() < next_turn:
                # a hold completes between turns: the alarm is raised when its hold is up, not
                # at the next turn up to LOOP_IDLE_S later; the rest keeps its own pace
                self._poll_inputs()
                continue
            due = event is None
            while event is not None:
                due = due or event.kind not in STREAMING
                try:
                    self.handle(event)
                except Exception:  # noqa: BLE001 - the loop must outlive one bad event, loudly
                    self.faults.failed(event.kind, "exception while handling (see log)")
                else:
                    if self.faults.failing:
                        self.faults.worked(event.kind)
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    event = None
            if not due and time.monotonic() < next_turn:
                continue
            self.periodic(self.clock())
            self.last_turn_s = time.monotonic()
            next_turn = self.last_turn_s + LOOP_IDLE_S
        self.metering.save(self.clock(), force=True)
        self.recorder.flush()

    def handle(self, event: Event) -> None:
        kind = event.kind
        if self.outbox.handle(event):
            if kind == "link":
                log.info("platform link %s", "up" if event.data.get("up") else "down")
            return
        handler = self._handlers.get(kind)
        if handler is None:
            log.debug("event %s not handled", kind)
            return
        handler(event)
        self.recorder.on_event(event)

    def _holding(self) -> bool:
        return any(getattr(device, "holding", lambda: False)() for device in self.devices.inputs)

    def _poll_inputs(self) -> None:
        for device in self.devices.inputs:
            poll = getattr(device, "poll", None)
            if poll is not None:
                poll()            # long key presses and the hidden alarm while still held

    def periodic(self, now: int) -> None:
        """One turn of every desk, in order; a desk that fails does not keep the others from
        theirs (``turn_faults``)."""
        faults = self.faults
        for place, step in self._turn:
            try:
                step(now)
            except Exception:  # noqa: BLE001 - the loop must outlive one failing desk, loudly
                faults.failed(place, "exception in the loop's turn (see log)")
            else:
                if faults.failing:
                    faults.worked(place)

    def _turn_steps(self) -> tuple:
        # looked up at each turn (not bound once), so a desk replaced at run time takes part
        return (("periodic.inputs", lambda now: self._poll_inputs()),
                ("periodic.alarm", lambda now: self.carry_out(self.alarm.tick(now), now)),
                ("periodic.orders", lambda now: self.carry_out(self.orders.tick(now), now)),
                ("periodic.reporting", lambda now: self.reporting.periodic(now)),
                ("periodic.recorder", lambda now: self.recorder.periodic(now)),
                ("periodic.days", self._close_days),
                ("periodic.metering", lambda now: self.metering.save(now)),
                ("periodic.platform", lambda now: self.platform.persist()),
                ("periodic.outbox", lambda now: self.outbox.pump()),
                ("periodic.cabin", lambda now: self.cabin.periodic(now)))

    def _close_days(self, now: int) -> None:
        today = self.daybook.day_of(now)
        for day in self.daybook.open_days():
            if day < today:
                self.reporting.daily(self.daybook.close(day, now), now)

    # -- events the loop handles itself ---------------------------------------------------------------
    def _on_power(self, event: Event) -> None:
        self.metering.on_power(event.t_ms, bool(event.data.get("on", event.data.get("active"))))

    def _on_alarm_button(self, event: Event) -> None:
        now = event.t_ms
        # the press is stored with its report in one transaction (platform_desk.apply)
        self.platform.apply(self.alarm.button(now, event.data.get("held_ms", 0)), now)
        self.outbox.pump()  # an alarm leaves at once, not at the next loop turn

    def _on_fix(self, event: Event) -> None:
        fix = event.data["fix"]
        if not fix.positioned:
            return
        self.reporting.on_fix(fix)
        self.metering.on_fix(fix, event.t_ms)

    def _on_sign_fault(self, event: Event) -> None:
        self.reporting.flag("sign_fault", event.data["active"], event.t_ms)
        if self.devices.display is not None and self.devices.display.on_event(event):
            self.cabin.dirty = True
        if not event.data["active"]:
            self.show_sign(self.follower.wanted(), force=True)

    def _on_printer_status(self, event: Event) -> None:
        self.reporting.printer_status = dict(event.data)
        if self.devices.display is not None and self.devices.display.on_event(event):
            self.cabin.dirty = True

    def _on_seal(self, event: Event) -> None:
        closed = bool(event.data.get("closed"))
        if self.seal is not None and self.audit is not None:
            from terminal.trust.seal import record_switch
            record_switch(self.seal, self.audit, closed, event.t_ms)

    # -- effects the desks return ---------------------------------------------------------------------
    def carry_out(self, effects, now: int) -> None:
        """A desk's effects (a key, a tick, the meter): its reports and the alarm's, the order desk's
        and the platform parameters' new state in one transaction; audit, sign, display after it."""
        self.platform.apply(effects, now)

    def perform(self, effects, now: int) -> None:
        """The effects as they are, inside the caller's transaction (``PlatformDesk.apply``)."""
        for effect in effects:
            kind = effect[0]
            if kind == "audit":
                self.audit_event(effect[1], "alarm" if "alarm" in effect[1] else "order", None,
                                 json.dumps(effect[2], sort_keys=True, ensure_ascii=False))
            elif kind == "report":
                self.reporting.send(effect[1], effect[2], now)
            elif kind == "sign_alarm":
                self.show_sign(self.follower.alarm(effect[1]))
            elif kind == "sign_on_call":
                self.show_sign(self.follower.on_call(effect[1]))
            elif kind == "display":
                self.cabin.show_offer(effect[2] if effect[1] == "order_offer" else None)

    def show_sign(self, state: str | None, force: bool = False) -> None:
        if state is None and not force:
            return
        state = state or self.follower.wanted()
        self.reporting.sign_state = state
        if self.devices.sign is not None:
            self.devices.sign.show(state)

    def audit_event(self, event: str, parameter, old, new, actor: str = "terminal") -> None:
        if self.audit is not None:
            self.audit.append(event, parameter, _plain(old), _plain(new), actor=actor)


def _plain(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or isinstance(value, str | int):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
