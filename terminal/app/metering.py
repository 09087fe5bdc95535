"""Metering (application room): the meter's calls, trip closing and the order of persistence.

``Metering`` owns the taximeter and everything that feeds it: the pulse line and its
baseline, the GNSS odometer and the pulse-versus-GNSS cross-check, K applied between
trips, the snapshot that lets a restart continue a trip, the open trip's track summary,
power events and driver sign-in/out. A closed trip, its totalisers, the meter state,
the receipt job and the platform report are one transaction: legal data is stored
before anything is printed or sent.

It talks to the rest of the house only through the terminal it belongs to (``term``):
the reporting desk for positions and reports, the cabin for messages to the driver, the
order desk and the sign for what follows a change of state.
"""

from __future__ import annotations

import json
import logging

from meter import canonical
from meter.errors import MeterError
from meter.taximeter import IN_TRIP, Taximeter
from terminal.app import meter_port
from terminal.link import payloads
from terminal.storage.database import StorageError
from terminal.trust import ledger, startcheck

log = logging.getLogger("taxiterm")

SNAPSHOT_EVERY_MS = 5000
GNSS_FRESH_MS = 3000       # a fix older than this: GNSS is not judging the speed sensor
TRACK_POINTS = 64
# operating-state names of the platform protocol (docs/mqtt.md)
OPERATING = {"for_hire": "for_hire", "hired": "hired", "stopped": "stopped", "settling": "settle",
             "out_of_service": "out_of_service"}


class Metering:
    def __init__(self, term, *, schedule, calibrated_k: int | None, refused: str | None) -> None:
        from drivers.pulse import PulseWatch
        from gps.distance import DistanceCrossCheck, GnssOdometer
        self.term = term
        self.storage = term.storage
        self.config = term.config
        self.clock = term.clock
        self.schedule = schedule
        self.refused = refused                # why metering is refused (identity), or None
        self.restart_closed: list = []
        self.meter = self._load(schedule)
        self.pulse_base = self.meter.odometer.reading or 0
        # K from the last calibration under the seal; applied between trips
        self.pending_k = calibrated_k if calibrated_k and calibrated_k != self.meter.odometer.k else None
        external = getattr(self.meter, "external", False)
        if external:
            self.pending_k = None             # a fitted meter keeps K under its own seal
        # legal data held against the chain of legal record: any disagreement is a meter fault
        self.integrity: list = []
        self.last_witness: dict | None = None
        self.last_snapshot_ms = 0
        if not external:                  # a fitted meter keeps its own chain (docs/meter-link.md)
            self.integrity = startcheck.at_start(term.audit, self.storage, self.config, self.meter.odometer.k,
                                                 self.clock(), save=lambda: self.save(self.meter.t, force=True))
            if self.integrity:
                self.meter.fault = f"integrity: {self.integrity[0]}"[:200]
                self.pending_k = None
        self.track: dict | None = None     # the open trip's board position and track summary
        self.last_snapshot_ms = 0
        self._saved_content: tuple | None = None  # what the last save signed and stored
        self.gnss_odometer = GnssOdometer()
        self.crosscheck = DistanceCrossCheck()
        # With a fitted meter the terminal's own pulse line is watched only once it is calibrated:
        # then it measures the driving record (terminal/app/recorder.py PulseLine); uncalibrated,
        # nothing uses it and the meter judges its own sensor.
        self.pulse_watch = PulseWatch() if not external or calibrated_k else meter_port.PulseLineElsewhere()
        self.last_fix_ms: int | None = None

    @property
    def operating(self) -> str:
        return OPERATING[self.meter.state]

    # -- start-up ---------------------------------------------------------------------------------
    def _load(self, schedule) -> Taximeter:
        blob = self.storage.load_meter_state()
        if meter_port.is_link(self.config):
            active = schedule.active(self.clock())
            return meter_port.load_link(blob, active.utc_offset_min if active else 480, self.clock())
        params = {k: v for k, v in self.config["meter"].items() if k not in ("kind", "link_port")}
        if blob is None:
            return Taximeter(schedule, params, self.clock())
        try:
            meter = Taximeter.restore(json.loads(blob.decode("utf-8")), schedule)
        except (ValueError, KeyError, TypeError, AttributeError, MeterError) as exc:
            # an unreadable snapshot is a meter fault (the start-up check names it), not a crash
            log.error("meter snapshot unreadable: %s", exc)
            return Taximeter(schedule, params, self.clock())
        now = self.clock()
        # The process was down since the last snapshot: for the meter that is a power loss,
        # a short one resumes the trip, a long one closes it (recorded in start()).
        if meter.powered and now >= meter.t:
            meter.power(meter.t, False)
        if not meter.powered:
            self.restart_closed = meter.power(max(now, meter.t), True)
        return meter

    def start(self, now: int) -> None:
        counter = self.term.devices.pulse_counter
        if counter is not None and self.meter.odometer.reading is None and self.meter.powered:
            # the pulse line's first reading is the baseline of the odometer
            self.meter.reading(max(now, self.meter.t), self.pulse_base + counter.count, "pulses")
        closed, self.restart_closed = self.restart_closed, []
        if self.refused:
            self.term.reporting.flag("meter_fault", True, now)
        if self.integrity:
            first = self.integrity[0]
            log.error("meter fault at start: %s (%d problems)", first, len(self.integrity))
            self.term.audit_event("integrity_fault", first.record, None, first.detail)
            self.term.reporting.flag("meter_fault", True, now)
            return
        if self.refused and self.meter.trip is not None and self.meter.powered:
            # never meter on with code that is not the sealed one: close the open trip, flagged
            self.meter.trip.flags.append("meter_fault")
            t = max(now, self.meter.t)
            if self.meter.state != "settling":
                self.meter.key(t, "settle")
            closed = closed + self.meter.key(t, "clear")
        self.after(closed, now, state_before=None)

    # -- calls ------------------------------------------------------------------------------------
    def call(self, now: int, fn, *args, **kw) -> bool:
        """Apply one meter call; a refusal is shown to the driver and changes nothing."""
        if self.integrity:
            self.term.cabin.say(f"计价器故障 (meter fault): {self.integrity[0]}", now)
            return False
        if self.refused and fn.__name__ in ("key",) and args and args[1] == "hire":
            self.term.cabin.say(f"计价功能已停用: {self.refused}", now)
            return False
        before = self.meter.state
        try:
            closed = fn(*args, **kw)
        except MeterError as exc:
            log.info("meter refused: %s", exc)
            self.term.cabin.say(str(exc), now, seconds=3)
            return False
        self.after(closed, now, state_before=before)
        return True

    def key(self, now: int, key: str, **kw) -> bool:
        return self.call(now, self.meter.key, now, key, **kw)

    def after(self, closed: list, now: int, state_before) -> None:
        term = self.term
        for record in closed:
            self._trip_closed(record, now)
        state = self.meter.state
        if self.pending_k is not None and state not in IN_TRIP and self.meter.powered:
            old, k = self.meter.odometer.k, self.pending_k
            self.pending_k = None
            self.meter.set_k(max(now, self.meter.t), k)
            term.audit_event("k_applied", "K", old, k)
        if state == "hired" and self.track is None:
            self.track = self._new_track(term.reporting.position(now))
        if state != state_before:
            self.save(now, force=True)
            term.daybook.set_state(OPERATING[state], now)
            term.carry_out(term.orders.meter(OPERATING[state], now), now)
            term.show_sign(term.follower.meter(state))
            term.evaluation.on_state(state, self.meter.trip.trip_no if self.meter.trip else None)
            if state_before is not None:
                term.reporting.location(now)
        term.cabin.dirty = True

    def _new_track(self, board: dict) -> dict:
        return {"board": board, "points": 0, "gnss_m0": self.gnss_odometer.metres, "max_speed": 0,
                "polyline": [], "stride": 1}

    def _trip_closed(self, record: dict, now: int) -> None:
        # Persist before acting outward: the trip, its totalisers, the meter state, the
        # receipt job and the platform report are one transaction; only then can the
        # spooler print and the outbox publish.
        term = self.term
        pos = term.reporting.position(now)
        track, self.track = self.track or self._new_track(pos), None
        summary = {"points": track["points"], "gnss_m": self.gnss_odometer.metres - track["gnss_m0"],
                   "max_speed": track["max_speed"], "polyline": track["polyline"]}
        with self.storage.transaction() as db:
            self.storage.store_trip(record, self.meter.totals.as_dict())
            head = None
            if term.audit is not None:
                # the trip's chain record commits with the trip row: neither exists without the other
                rec = term.audit.append_in(db, ledger.TRIP_EVENT, str(record["trip_no"]), None, ledger.text(
                    {"trip_no": record["trip_no"], "digest": record["digest"],
                     "totals": self.meter.totals.as_dict()}))
                head = (rec["counter"], rec["hash"])
                # the trip's witness for receipts and reports (verifiable offline: ledger.verify_trip_witness)
                self.last_witness = ledger.sign_trip_witness(term.audit.signer, record, head)
            self.save(now, force=True, head=head)
            spooler = term.devices.spooler
            if spooler is not None and term.receipt_builder is not None:
                spooler.submit_receipt(term.receipt_builder(record))
            term.outbox.enqueue(term.reporting.topic("trip"), lambda seq: payloads.trip(
                seq=seq, ts_ms=now, record=record, board_pos=track["board"], alight_pos=pos,
                track=summary, evaluation=term.evaluation.for_trip(record["trip_no"]),
                witness=self.last_witness if head is not None else None), "trip")
        term.daybook.trip(record)
        term.carry_out(term.orders.trip_closed(record["order_id"], record["trip_no"], record["total_fen"], now), now)

    def save(self, now: int, force: bool = False, head: tuple | None = None) -> None:
        if self.integrity:
            return          # a snapshot that disagrees with the chain is never signed over
        if force or now - self.last_snapshot_ms >= SNAPSHOT_EVERY_MS:
            audit = self.term.audit
            snapshot = self.meter.snapshot()
            head = None if audit is None else (head or audit.head())
            # A parked meter's snapshot does not change: what would be signed is compared, not the
            # signed bytes (a token's ECDSA signature differs every time), so neither the token's
            # signature nor the commit (and the SD card's write) is paid when nothing changed. The
            # canonical bytes are made once: compared, then signed and stored as they are.
            body = canonical.encode(snapshot)
            content = (body, head)
            if force or content != self._saved_content:
                blob = body if audit is None else ledger.snapshot_blob(snapshot, head, audit.signer, body=body)
                self.storage.save_meter_state(blob)
                self._saved_content = content
            self.last_snapshot_ms = now

    # -- the speed sensor and GNSS ------------------------------------------------------------------
    def on_pulses(self, now: int, count: int) -> None:
        self.call(now, self.meter.reading, now, self.pulse_base + count, "pulses")
        silent = self.pulse_watch.on_pulses(now, count)
        if silent is not None:
            self.speed_sensor("pulse_silent", silent.data.get("active", True), silent.t_ms)
        if not self._gnss_healthy(now):
            self.crosscheck.restart()       # a GNSS dropout is not a speed-sensor fault
        elif self.meter.odometer.source == "pulses":
            mismatch = self.crosscheck.update(self.meter.totals.total_m, self.gnss_odometer.metres)
            if mismatch is not None:
                self.term.audit_event("distance_mismatch", "pulse_vs_gnss", None, mismatch)
                self.speed_sensor("distance_mismatch", mismatch["active"], now)

    def _gnss_healthy(self, now: int) -> bool:
        """A fix within the last few seconds and no GNSS fault: only then does GNSS distance judge pulses."""
        flags = self.term.reporting.flags
        return (self.last_fix_ms is not None and now - self.last_fix_ms <= GNSS_FRESH_MS
                and not flags & {"gnss_fault", "antenna_open", "antenna_short"})

    def speed_sensor(self, cause: str, active: bool, now: int) -> None:
        """The speed sensor judged against GNSS: JT/T 905's speed-sensor fault bit, raised and cleared by cause."""
        self.term.reporting.flag("speed_sensor_fault", active, now, cause=cause)

    def on_fix(self, fix, now: int) -> None:
        self.last_fix_ms = now
        self.gnss_odometer.add(fix)
        if self.track is not None and self.meter.state == "hired":
            self._track_point(now)
        kmh = fix.speed_mps * 3.6 if fix.speed_mps is not None else None
        silent = self.pulse_watch.on_speed(now, kmh)
        if silent is not None:
            self.speed_sensor("pulse_silent", silent.data.get("active", True), silent.t_ms)

    def _track_point(self, now: int) -> None:
        """Track summary of the trip: fix count, top speed, a polyline of at most TRACK_POINTS points."""
        track = self.track
        track["points"] += 1
        reporting = self.term.reporting
        track["max_speed"] = max(track["max_speed"], reporting.speed_01(now))
        if (track["points"] - 1) % track["stride"]:
            return          # the whole position (its units checked and rounded) only for a polyline point
        pos = reporting.position(now)
        line = track["polyline"]
        line.append([pos["latitude"] * (-1 if pos["south"] else 1), pos["longitude"] * (-1 if pos["west"] else 1)])
        if len(line) > TRACK_POINTS:
            del line[1::2]            # halve the resolution, keep the first point
            track["stride"] *= 2

    # -- a fault cleared after repair -----------------------------------------------------------------
    def clear_fault(self, now: int) -> None:
        """A technician clears the meter's fault after repair: only under the seal, audited.

        The meter refuses during a trip or without a fault; the seal refuses without the
        switch under the lead seal closed or a technician's authorisation (that refusal is
        itself in the audit trail). The cabin says what happened either way.
        """
        from terminal.trust.seal import SealRefused, require
        term = self.term
        if term.seal is None or term.audit is None:
            term.cabin.say("无铅封, 不能清除故障 (no seal: fault not cleared)", now, seconds=5)
            return
        if not self.meter.fault:
            term.cabin.say("计价器无故障 (no meter fault)", now, seconds=3)
            return
        try:
            decision = require(term.seal, term.audit, "clear_fault", now, "meter_fault")
        except SealRefused as exc:
            log.warning("%s", exc)
            term.cabin.say("需开启铅封 (seal required): 故障未清除", now, seconds=5)
            return
        try:
            entry = self.meter.clear_fault(max(now, self.meter.t), "cleared under the seal after repair")
        except MeterError as exc:
            term.cabin.say(str(exc), now, seconds=5)
            return
        term.audit_event("meter_fault_cleared", "meter_fault", entry["fault"]["reason"], entry["reason"],
                         actor=decision.actor)
        self.save(now, force=True)
        term.reporting.flag("meter_fault", False, now)
        term.cabin.say("计价器故障已清除 (meter fault cleared)", now, seconds=5)

    # -- power and shifts ---------------------------------------------------------------------------
    def on_power(self, now: int, on: bool) -> None:
        if on == self.meter.powered:
            return
        self.term.audit_event("power", "supply", not on, on)
        self.call(now, self.meter.power, now, bool(on))

    def sign_in_out(self, now: int) -> None:
        """Sign-in/out: the shift record, the meter's shift counters and the report commit together."""
        term = self.term
        if self.integrity:
            term.cabin.say(f"计价器故障 (meter fault): {self.integrity[0]}", now)
            return
        driver = self.config["terminal"].get("driver_cert") or "unknown"
        signing_in = self.meter.shift_info is None
        if signing_in == (self.storage.open_shift() is not None):
            term.cabin.say("班次记录不一致 (shift records disagree): see log", now, seconds=5)
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
                    totals = shift_totals(summary)
                self.save(now, force=True)
                term.outbox.enqueue(term.reporting.topic("shift"), lambda seq: payloads.shift(
                    seq=seq, ts_ms=now, event=event, shift_id=shift_id, driver_cert=driver, at_ms=now,
                    totals=totals), "shift")
        except (MeterError, StorageError) as exc:
            self.meter = Taximeter.restore(before, self.schedule)   # nothing of it was stored either
            term.cabin.say(str(exc), now, seconds=3)
            return
        term.cabin.say("签到" if event == "sign_in" else "签退", now, seconds=3)


def shift_totals(summary: dict) -> dict:
    """The shift report's totals (docs/mqtt.md, up/shift) from the meter's end-of-shift summary."""
    t = summary["totals"]
    return {"trips": t["hirings"], "distance_m": t["total_m"], "loaded_m": t["hired_m"],
            "empty_m": t["empty_m"], "waiting_ms": t["waiting_ms"], "fares_fen": t["fares_fen"],
            "extras_fen": t["extras_fen"], "total_fen": t["fares_fen"] + t["extras_fen"],
            "started_ms": summary["start_ms"]}
