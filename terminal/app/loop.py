"""The terminal: one loop that owns the state and turns events into effects.

Device adapters (keys, hidden alarm, pulses, GNSS, sign, printer, MQTT) only put
``Event`` objects on one queue. ``Terminal.handle`` applies each event in order to the
meter, the order desk and the alarm, and turns their outputs into effects: the rooftop
sign, the driver display, receipts, and reports through the outbox. Legal data is
stored before anything is printed or sent.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable

from drivers.event import Event
from meter import canonical
from meter.errors import MeterError
from meter.taximeter import IN_TRIP, Taximeter
from terminal.app.alarm import EmergencyAlarm
from terminal.app.daily import DayBook
from terminal.app.orders import OrderDesk
from terminal.link import payloads
from terminal.link.downlink import Command, Refusal
from terminal.link.downlink import parse as parse_command
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage, StorageError

log = logging.getLogger("taxiterm")

# operating-state names of the platform protocol (docs/mqtt.md)
OPERATING = {"for_hire": "for_hire", "hired": "hired", "stopped": "stopped", "settling": "settle",
             "out_of_service": "out_of_service"}
SNAPSHOT_EVERY_MS = 5000
LOOP_IDLE_S = 0.2          # the loop wakes at least this often for timers (reports, alarm interval)
TRACK_POINTS = 64


class Devices:
    """What the board hands the terminal; any of them may be None (not fitted, or a test)."""

    def __init__(self, *, sign=None, display=None, spooler=None, gnss=None, link=None, inputs=(),
                 pulse_counter=None) -> None:
        self.sign = sign
        self.display = display
        self.spooler = spooler
        self.gnss = gnss
        self.link = link
        self.inputs = list(inputs)        # keys, hidden alarm, ignition, seal: closed at shutdown
        self.pulse_counter = pulse_counter


class Terminal:
    def __init__(self, config: dict, *, storage: Storage, schedule, events: queue.Queue,
                 clock: Callable[[], int], devices: Devices, software_id: str,
                 identity_ok: bool = True, identity_reason: str = "", audit=None, vehicle=None,
                 receipt_builder=None, seal=None, calibrated_k: int | None = None) -> None:
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
        self.metering_refused = None if identity_ok else identity_reason
        mqtt = config["mqtt"]
        self.prefix = mqtt.get("prefix", "taxi")
        self.tid = mqtt["terminal_id"]
        self.outbox = Outbox(storage, devices.link, capacity=config["outbox"]["capacity"],
                             window=config["outbox"]["window"])
        self.alarm = EmergencyAlarm(config["report"]["alarm_s"] * 1000)
        self.orders = OrderDesk(config["orders"]["answer_s"] * 1000)
        self.schedule = schedule
        self.meter = self._load_meter(schedule)
        self.pulse_base = self.meter.odometer.reading or 0
        # K from the last calibration under the seal; applied between trips
        self.pending_k = calibrated_k if calibrated_k and calibrated_k != self.meter.odometer.k else None
        from drivers.sign_follower import SignFollower
        self.follower = SignFollower(self.meter.state)
        self.fix = None                   # last positioned GNSS fix
        self.alarm_flags = set()          # JT/T alarm names currently active (gnss, sign, meter faults)
        self.pending_toll = 0
        self.notice = None                # (text, until_ms)
        self.offer = None
        self.last_location_ms = 0
        self.last_health_ms = 0
        self.last_snapshot_ms = 0
        self.started_ms = clock()
        self.printer_status: dict = {}
        self.sign_state = None
        self.last_platform: str = ""
        self.platform_params: dict = {}
        self.track: dict | None = None     # the open trip's board position and track summary
        self._dirty_display = True
        from drivers.pulse import PulseWatch
        from drivers.screens import SelfTest
        from gps.distance import DistanceCrossCheck, GnssOdometer
        active = schedule.active(self.started_ms)
        self.selftest = SelfTest(self.started_ms, software_id, active.id if active else "-")
        self.gnss_odometer = GnssOdometer()
        self.crosscheck = DistanceCrossCheck()
        self.pulse_watch = PulseWatch()
        self.daybook = DayBook(active.utc_offset_min if active else 480)
        self.daybook.set_state(OPERATING[self.meter.state], self.started_ms)

    # -- start-up ---------------------------------------------------------------------------------
    def _load_meter(self, schedule) -> Taximeter:
        blob = self.storage.load_meter_state()
        params = dict(self.config["meter"])
        if blob is None:
            return Taximeter(schedule, params, self.clock())
        meter = Taximeter.restore(json.loads(blob.decode("utf-8")), schedule)
        now = self.clock()
        # The process was down since the last snapshot: for the meter that is a power loss,
        # a short one resumes the trip, a long one closes it (recorded below in start()).
        self._restart_closed = []
        if meter.powered and now >= meter.t:
            meter.power(meter.t, False)
        if not meter.powered:
            self._restart_closed = meter.power(max(now, meter.t), True)
        return meter

    def start(self) -> None:
        closed = getattr(self, "_restart_closed", [])
        self._audit("power_on", "software_id", None, self.software_id)
        if self.metering_refused:
            self._audit("identity_refused", "meter", None, self.metering_refused)
            log.error("metering refused: %s", self.metering_refused)
        now = self.clock()
        counter = self.devices.pulse_counter
        if counter is not None and self.meter.odometer.reading is None and self.meter.powered:
            # the pulse line's first reading is the baseline of the odometer
            self.meter.reading(max(now, self.meter.t), self.pulse_base + counter.count, "pulses")
        self._after_meter(closed, now, state_before=None)
        self._show_sign(self.follower.wanted(), force=True)
        self._save_meter(self.clock(), force=True)

    # -- the loop -----------------------------------------------------------------------------------
    def run(self, stop: threading.Event, ready: Callable[[], None] | None = None) -> None:
        self.start()
        if ready:
            ready()
        while not stop.is_set():
            try:
                event = self.events.get(timeout=LOOP_IDLE_S)
            except queue.Empty:
                event = None
            while event is not None:
                try:
                    self.handle(event)
                except Exception:  # noqa: BLE001 - the loop must outlive one bad event, loudly
                    log.exception("event %r failed; the terminal carries on", event)
                    self._audit("software_fault", event.kind, None, "exception while handling (see log)")
                try:
                    event = self.events.get_nowait()
                except queue.Empty:
                    event = None
            self.periodic(self.clock())
        self._save_meter(self.clock(), force=True)

    def handle(self, event: Event) -> None:
        kind = event.kind
        if self.outbox.handle(event):
            if kind == "link":
                log.info("platform link %s", "up" if event.data.get("up") else "down")
            return
        handler = getattr(self, "_on_" + kind, None)
        if handler is None:
            log.debug("event %s not handled", kind)
            return
        handler(event)

    def periodic(self, now: int) -> None:
        for device in self.devices.inputs:
            poll = getattr(device, "poll", None)
            if poll is not None:
                poll()            # long key presses and the hidden alarm while still held
        for effect in self.alarm.tick(now):
            self._effect(effect, now)
        for effect in self.orders.tick(now):
            self._effect(effect, now)
        interval = self._location_interval_ms()
        if now - self.last_location_ms >= interval:
            self._report_location(now)
        if now - self.last_health_ms >= self.config["report"]["health_s"] * 1000:
            self._report_health(now)
        if self.notice and now >= self.notice[1]:
            self.notice = None
            self._dirty_display = True
        self._close_days(now)
        self._save_meter(now)
        self.outbox.pump()
        if self.selftest is not None:
            self._dirty_display = True
            if self.selftest.screen(now) is None:
                self.selftest = None       # power-on self-test over: the fare screen follows
        if self._dirty_display:
            self._refresh_display()

    # -- meter ------------------------------------------------------------------------------------
    def _meter_call(self, now: int, fn, *args, **kw) -> bool:
        if self.metering_refused and fn.__name__ in ("key",) and args and args[1] == "hire":
            self._say(f"计价功能已停用: {self.metering_refused}", now)
            return False
        before = self.meter.state
        try:
            closed = fn(*args, **kw)
        except MeterError as exc:
            log.info("meter refused: %s", exc)
            self._say(str(exc), now, seconds=3)
            return False
        self._after_meter(closed, now, state_before=before)
        return True

    def _after_meter(self, closed: list, now: int, state_before) -> None:
        for record in closed:
            self._trip_closed(record, now)
        state = self.meter.state
        if self.pending_k is not None and state not in IN_TRIP and self.meter.powered:
            old, k = self.meter.odometer.k, self.pending_k
            self.pending_k = None
            self.meter.set_k(max(now, self.meter.t), k)
            self._audit("k_applied", "K", old, k)
        if state == "hired" and self.track is None:
            self.track = {"board": self._position(now), "points": 0, "gnss_m0": self.gnss_odometer.metres,
                          "max_speed": 0, "polyline": [], "stride": 1}
        if state != state_before:
            self._save_meter(now, force=True)
            self.daybook.set_state(OPERATING[state], now)
            for effect in self.orders.meter(OPERATING[state], now):
                self._effect(effect, now)
            self._show_sign(self.follower.meter(state))
            if state_before is not None:
                self._report_location(now)
        self._dirty_display = True

    def _trip_closed(self, record: dict, now: int) -> None:
        # Persist before acting outward: the trip, its totalisers, the meter state, the
        # receipt job and the platform report are one transaction; only then can the
        # spooler print and the outbox publish.
        pos = self._position(now)
        track, self.track = self.track or {"board": pos, "points": 0, "gnss_m0": self.gnss_odometer.metres,
                                           "max_speed": 0, "polyline": [], "stride": 1}, None
        summary = {"points": track["points"], "gnss_m": self.gnss_odometer.metres - track["gnss_m0"],
                   "max_speed": track["max_speed"], "polyline": track["polyline"]}
        with self.storage.transaction():
            self.storage.store_trip(record, self.meter.totals.as_dict())
            self._save_meter(now, force=True)
            if self.devices.spooler is not None and self.receipt_builder is not None:
                self.devices.spooler.submit_receipt(self.receipt_builder(record))
            self.outbox.enqueue(self._topic("trip"), lambda seq: payloads.trip(
                seq=seq, ts_ms=now, record=record, board_pos=track["board"], alight_pos=pos,
                track=summary), "trip")
        self.daybook.trip(record)
        for effect in self.orders.trip_closed(record["order_id"], record["trip_no"], record["total_fen"], now):
            self._effect(effect, now)

    def _save_meter(self, now: int, force: bool = False) -> None:
        if force or now - self.last_snapshot_ms >= SNAPSHOT_EVERY_MS:
            self.storage.save_meter_state(canonical.encode(self.meter.snapshot()))
            self.last_snapshot_ms = now

    def _on_pulses(self, event: Event) -> None:
        reading = self.pulse_base + event.data["count"]
        self._meter_call(event.t_ms, self.meter.reading, event.t_ms, reading, "pulses")
        silent = self.pulse_watch.on_pulses(event.t_ms, event.data["count"])
        if silent is not None:
            self._on_pulse_silent(silent)
        if self.meter.odometer.source == "pulses" and self.fix is not None:
            mismatch = self.crosscheck.update(self.meter.totals.total_m, self.gnss_odometer.metres)
            if mismatch is not None:
                self._audit("distance_mismatch", "pulse_vs_gnss", None, _plain(mismatch))
                self._flag("meter_fault", True, event.t_ms)

    def _on_key(self, event: Event) -> None:
        now = event.t_ms
        name, long = event.data["key"], event.data.get("long", False)
        state = self.meter.state
        m = self.meter
        if self.orders.state == "offered" and name in ("accept", "reject"):
            for effect in self.orders.answer(name == "accept", now):
                self._effect(effect, now)
            return
        if name == "hire":
            if long:
                key = "in_service" if state == "out_of_service" else "out_of_service"
                self._meter_call(now, m.key, now, key)
            elif state == "for_hire":
                order_id, effects = self.orders.boarding(now)
                for effect in effects:
                    self._effect(effect, now)
                self._meter_call(now, m.key, now, "hire", order_id=order_id)
            elif state == "settling":
                self._commit_toll(now)
                self._meter_call(now, m.key, now, "clear")
            else:
                self._say("请先结算 (settle first)", now, seconds=2)
        elif name == "pause":
            self._meter_call(now, m.key, now, "resume" if state == "stopped" else "pause")
        elif name == "settle":
            if state == "settling":
                self._commit_toll(now)
            else:
                self._meter_call(now, m.key, now, "settle")
        elif name == "extra":
            if state == "settling":
                self.pending_toll += self.config["keys"]["toll_step_fen"]
                self._dirty_display = True
            else:
                self._say("结算时输入路桥费 (enter tolls when settling)", now, seconds=2)
        elif name == "print":
            if self.devices.spooler is not None:
                self.devices.spooler.reprint_last()
        elif name == "sign":
            self._sign_in_out(now)
        elif name == "menu":
            self._say(self.software_id, now, seconds=5)
        elif name == "reject" and self.orders.state == "on_call":
            for effect in self.orders.driver_cancel("driver", now):
                self._effect(effect, now)

    def _commit_toll(self, now: int) -> None:
        if self.pending_toll:
            amount, self.pending_toll = self.pending_toll, 0
            self._meter_call(now, self.meter.key, now, "extra", amount_fen=amount, label="路桥费")

    def _sign_in_out(self, now: int) -> None:
        """Sign-in/out: the shift record, the meter's shift counters and the report commit together."""
        driver = self.config["terminal"].get("driver_cert") or "unknown"
        signing_in = self.meter.shift_info is None
        if signing_in == (self.storage.open_shift() is not None):
            self._say("班次记录不一致 (shift records disagree): see log", now, seconds=5)
            log.error("meter shift %s but stored shift %s", self.meter.shift_info, self.storage.open_shift())
            return
        before = self.meter.snapshot()
        try:
            with self.storage.transaction():
                if signing_in:
                    self.meter.start_shift(now, driver)
                    shift_id = str(self.storage.sign_in(driver, now))
                    event, totals = "sign_in", None
                else:
                    summary = self.meter.end_shift(now)
                    row = self.storage.sign_out(now, summary)
                    shift_id, event = str(row["shift_id"]), "sign_out"
                    t = summary["totals"]
                    totals = {"trips": t["hirings"], "distance_m": t["total_m"], "loaded_m": t["hired_m"],
                              "empty_m": t["empty_m"], "waiting_ms": t["waiting_ms"], "fares_fen": t["fares_fen"],
                              "extras_fen": t["extras_fen"], "total_fen": t["fares_fen"] + t["extras_fen"],
                              "started_ms": summary["start_ms"]}
                self._save_meter(now, force=True)
                self.outbox.enqueue(self._topic("shift"), lambda seq: payloads.shift(
                    seq=seq, ts_ms=now, event=event, shift_id=shift_id, driver_cert=driver, at_ms=now,
                    totals=totals), "shift")
        except (MeterError, StorageError) as exc:
            self.meter = Taximeter.restore(before, self.schedule)   # nothing of it was stored either
            self._say(str(exc), now, seconds=3)
            return
        self._say("签到" if event == "sign_in" else "签退", now, seconds=3)

    def _on_power(self, event: Event) -> None:
        now = event.t_ms
        on = event.data.get("on", event.data.get("active"))
        if on == self.meter.powered:
            return
        self._audit("power", "supply", not on, on)
        self._meter_call(now, self.meter.power, now, bool(on))

    # -- alarm ---------------------------------------------------------------------------------
    def _on_alarm_button(self, event: Event) -> None:
        now = event.t_ms
        for effect in self.alarm.button(now, event.data.get("held_ms", 0)):
            self._effect(effect, now)
        self.outbox.pump()  # an alarm leaves at once, not at the next loop turn

    # -- platform -----------------------------------------------------------------------------
    def _on_platform(self, event: Event) -> None:
        now = event.t_ms
        result = parse_command(event.data["topic"], event.data["payload"], prefix=self.prefix,
                               terminal_id=self.tid)
        if isinstance(result, Refusal):
            self.outbox.enqueue(self._topic("ack"), result.ack, "ack")
            self.last_platform = f"refused {result.ack.get('command')}: {result.ack.get('reason')}"
            return
        cmd: Command = result
        self.last_platform = cmd.name
        effects: list
        if cmd.name == "order_offer":
            effects = self.orders.offer(cmd, now)
        elif cmd.name == "order_cancel":
            effects = self.orders.centre_cancel(cmd, now)
        elif cmd.name == "alarm_confirm":
            effects = self.alarm.confirm(cmd, now)
        elif cmd.name == "alarm_release":
            effects = self.alarm.release(cmd, now)
        elif cmd.name == "notice":
            self.notice = (cmd.body.get("text", ""), now + 15000)
            self._dirty_display = True
            effects = [("report", "ack", cmd.ack(0))]
        elif cmd.name == "params":
            effects = self._params(cmd)
        elif cmd.name == "time_sync":
            effects = [("report", "ack", self._time_sync(cmd, now))]
        else:
            effects = [("report", "ack", cmd.ack(3, "unsupported"))]
        for effect in effects:
            self._effect(effect, now)
        self.outbox.pump()

    def _time_sync(self, cmd: Command, now: int) -> dict:
        """The platform's time: small corrections only while for hire; recorded, never a jump mid-trip.

        The system clock itself is kept by the operating system (GNSS time through chrony
        on the vehicle image); the terminal records the correction it was told of.
        """
        from terminal.trust.seal import clock_correction_problem
        delta = cmd.body["utc_ms"] - now
        problem = clock_correction_problem(delta, self.meter.state)
        if problem:
            self._audit("clock_correction_refused", "clock", None, problem, actor="platform")
            return cmd.ack(4, problem)
        self._audit("clock_correction", "clock_offset_ms", 0, delta, actor="platform")
        return cmd.ack(0, f"correction of {delta} ms recorded")

    def _close_days(self, now: int) -> None:
        today = self.daybook.day_of(now)
        for day in self.daybook.open_days():
            if day < today:
                stats = self.daybook.close(day, now)
                self.outbox.enqueue(self._topic("daily"), lambda seq, stats=stats: payloads.daily(
                    seq=seq, ts_ms=now, stats=stats), "daily")

    def _params(self, cmd: Command) -> list:
        """Report intervals, speed limit and the order answer time, as the platform sets them."""
        params = cmd.body["params"]
        report = self.config["report"]
        for key, value in sorted(params.items()):
            if key.startswith("report_"):
                name = key[len("report_"):]
                old, report[name] = report[name], value
            else:
                old = self.platform_params.get(key)
                self.platform_params[key] = value
            self._audit("parameter", key, old, value, actor="platform")
        if "report_alarm_s" in params:
            self.alarm.set_interval_ms(params["report_alarm_s"] * 1000)
        if "order_answer_s" in params:
            self.orders.set_answer_ms(params["order_answer_s"] * 1000)
        return [("report", "ack", cmd.ack(0))]

    def _effect(self, effect: tuple, now: int) -> None:
        kind = effect[0]
        if kind == "audit":
            self._audit(effect[1], "alarm" if "alarm" in effect[1] else "order", None,
                        json.dumps(effect[2], sort_keys=True, ensure_ascii=False))
        elif kind == "report":
            self._report(effect[1], effect[2], now)
        elif kind == "sign_alarm":
            self._show_sign(self.follower.alarm(effect[1]))
        elif kind == "sign_on_call":
            self._show_sign(self.follower.on_call(effect[1]))
        elif kind == "display":
            self.offer = effect[2] if effect[1] == "order_offer" else None
            self._dirty_display = True

    def _report(self, kind: str, body: dict, now: int) -> None:
        topic = self._topic(kind)
        if kind == "alarm":
            pos = self._position(now)
            self.outbox.enqueue(topic, lambda seq: payloads.alarm(
                seq=seq, ts_ms=now, pos=pos, alarm=body["alarm"] | self._alarm_bits(),
                status=self._status(), alarm_id=body["alarm_id"], stage=body["stage"],
                pressed_ms=body["pressed_ms"], mileage_m=self.meter.totals.total_m,
                operating=OPERATING[self.meter.state]), "alarm")
        elif kind == "order":
            self.outbox.enqueue(topic, dict(body), "order")
        else:
            self.outbox.enqueue(topic, dict(body), kind)

    # -- reports -------------------------------------------------------------------------------
    def _topic(self, kind: str) -> str:
        return f"{self.prefix}/{self.tid}/up/{kind}"

    def _location_interval_ms(self) -> int:
        report = self.config["report"]
        if self.alarm.active:
            return report["alarm_s"] * 1000
        if self.meter.state in IN_TRIP:
            return report["occupied_s"] * 1000
        return report["vacant_s"] * 1000

    def _position(self, now: int) -> dict:
        f = self.fix
        if f is None:
            return payloads.no_position(now)
        return payloads.position(lat_deg=f.lat, lon_deg=f.lon, alt_m=f.alt_m or 0.0,
                                 speed_mps=f.speed_mps or 0.0, course_deg=f.course_deg or 0.0,
                                 fix_ms=f.time_ms or now)

    def _status(self) -> list:
        flags = []
        if self.fix is not None:
            flags.append("positioned")
        if self.meter.powered:
            flags.append("acc_on")
        if self.meter.state in IN_TRIP:
            flags.append("occupied")
        return [f for f in flags if f in payloads.STATUS_BITS]

    def _alarm_bits(self) -> int:
        return payloads.alarm_bits(name for name in self.alarm_flags if name in payloads.ALARM_BITS)

    def _report_location(self, now: int) -> None:
        self.last_location_ms = now
        pos = self._position(now)
        trip = self.meter.trip
        alarm = self._alarm_bits() | (self.alarm.flags if self.alarm.active else 0)
        self.outbox.enqueue(self._topic("location"), lambda seq: payloads.location(
            seq=seq, ts_ms=now, pos=pos, alarm=alarm, status=self._status(),
            operating=OPERATING[self.meter.state], mileage_m=self.meter.totals.total_m,
            order_id=trip.order_id if trip else "0"), "location")

    def _report_health(self, now: int) -> None:
        self.last_health_ms = now
        gnss_faults = sorted({"gnss_fault", "antenna_open", "antenna_short"} & self.alarm_flags)
        devices = {
            "sign": {"ok": "sign_fault" not in self.alarm_flags, "detail": self.sign_state or ""},
            "printer": {"ok": self.printer_status.get("online", True) and not self.printer_status.get("paper_out"),
                        "detail": str(self.printer_status.get("reason", ""))},
            "gnss": {"ok": not gnss_faults, "detail": ",".join(gnss_faults) or
                     ("positioned" if self.fix is not None else "no fix")},
            "meter": {"ok": self.meter.fault is None and not self.metering_refused,
                      "detail": self.meter.fault or self.metering_refused or ""},
        }
        depth = self.outbox.pending()
        dropped = self.outbox.dropped().get("location", 0)
        self.outbox.enqueue(self._topic("health"), lambda seq: payloads.health(
            seq=seq, ts_ms=now, software=self.software_id, uptime_ms=now - self.started_ms,
            devices=devices, outbox_depth=depth, dropped_positions=dropped, alarm=self._alarm_bits()), "health")

    # -- devices ---------------------------------------------------------------------------------
    def _on_fix(self, event: Event) -> None:
        fix = event.data["fix"]
        if not fix.positioned:
            return
        self.fix = fix
        self.gnss_odometer.add(fix)
        if self.track is not None and self.meter.state == "hired":
            self._track_point(fix, event.t_ms)
        kmh = fix.speed_mps * 3.6 if fix.speed_mps is not None else None
        silent = self.pulse_watch.on_speed(event.t_ms, kmh)
        if silent is not None:
            self._on_pulse_silent(silent)

    def _track_point(self, fix, now: int) -> None:
        """Track summary of the trip: fix count, top speed, a polyline of at most TRACK_POINTS points."""
        track = self.track
        track["points"] += 1
        pos = self._position(now)
        track["max_speed"] = max(track["max_speed"], pos["speed"])
        if (track["points"] - 1) % track["stride"]:
            return
        line = track["polyline"]
        line.append([pos["latitude"] * (-1 if pos["south"] else 1), pos["longitude"] * (-1 if pos["west"] else 1)])
        if len(line) > TRACK_POINTS:
            del line[1::2]            # halve the resolution, keep the first point
            track["stride"] *= 2

    def _on_gnss_health(self, event: Event) -> None:
        self._flag(event.data["alarm"], event.data["active"], event.t_ms)

    def _on_sign_fault(self, event: Event) -> None:
        self._flag("sign_fault", event.data["active"], event.t_ms)
        if self.devices.display is not None and self.devices.display.on_event(event):
            self._dirty_display = True
        if not event.data["active"]:
            self._show_sign(self.follower.wanted(), force=True)

    def _on_pulse_silent(self, event: Event) -> None:
        self._flag("meter_fault", event.data.get("active", True), event.t_ms)

    def _on_printer_status(self, event: Event) -> None:
        self.printer_status = dict(event.data)
        if self.devices.display is not None and self.devices.display.on_event(event):
            self._dirty_display = True

    def _on_seal(self, event: Event) -> None:
        closed = bool(event.data.get("closed"))
        if self.seal is not None and self.audit is not None:
            from terminal.trust.seal import record_switch
            record_switch(self.seal, self.audit, closed, event.t_ms)

    def _on_tick(self, event: Event) -> None:
        return None

    def _flag(self, name: str, active: bool, now: int) -> None:
        before = name in self.alarm_flags
        if active == before:
            return
        if active:
            self.alarm_flags.add(name)
        else:
            self.alarm_flags.discard(name)
        self._audit("device_alarm", name, before, active)
        self._report_location(now)

    def _show_sign(self, state: str | None, force: bool = False) -> None:
        if state is None and not force:
            return
        state = state or self.follower.wanted()
        self.sign_state = state
        if self.devices.sign is not None:
            self.devices.sign.show(state)

    # -- display --------------------------------------------------------------------------------
    def _say(self, text: str, now: int, seconds: int = 3) -> None:
        self.notice = (text, now + seconds * 1000)
        self._dirty_display = True

    def screen(self):
        """What the cabin display shows now. Never the emergency alarm."""
        from drivers.screens import FareScreen, FaultScreen, NoticeScreen, OfferScreen, SettleScreen
        v = self.meter.view()
        if self.selftest is not None:
            shown = self.selftest.screen(self.clock())
            if shown is not None:
                return shown
        if self.metering_refused:
            return FaultScreen("计价器软件校验失败", "E-ID")
        if v["fault"]:
            return FaultScreen(v["fault"][:40], "E-PULSE")
        if self.notice:
            return NoticeScreen(self.notice[0])
        if self.offer:
            return OfferScreen(self.offer["order_id"], self.offer["pickup"].get("address", ""), self.offer["text"])
        if v["state"] == "settling":
            extras = tuple((label, fen) for label, fen in self.meter.trip.extras)
            if self.pending_toll:
                extras += (("路桥费(输入)", self.pending_toll),)
            return SettleScreen(v["fare_fen"], extras)
        return FareScreen(v["state"], v["fare_fen"], v["distance_m"], v["waiting_ms"])

    def _refresh_display(self) -> None:
        self._dirty_display = False
        display = self.devices.display
        if display is None:
            return
        screen = self.screen()
        if screen != display.screen:      # drawing text is the costly part: only what changed
            display.show(screen)

    # -- audit -------------------------------------------------------------------------------------
    def _audit(self, event: str, parameter, old, new, actor: str = "terminal") -> None:
        if self.audit is not None:
            self.audit.append(event, parameter, _plain(old), _plain(new), actor=actor)


def _plain(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or isinstance(value, str | int):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
