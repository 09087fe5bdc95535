"""The recorder desk (application room): the loop's events in, driving records and fatigue alarms out.

``Recorder`` sees every event after its own desk has handled it (``on_event``) and the
loop's periodic turn. It feeds the pure ``RecorderCore`` the pulse count of the terminal's
own pulse line with its K (every 0.2 s reading the counter batched into its ``pulses``
event, drivers/pulse.py), positioned GNSS fixes, the supply, the status signals (ignition,
occupied) and the driver from the meter's shift, and the platform's speed limit. K is the
in-process meter's K; with a meter fitted on the 905.2 link it is the terminal's own
calibration under the seal (``PulseLine``: the meter's K stays the meter's). It buffers the records in
the ``RecordStore`` and flushes a batch every ``FLUSH_MS``, at once after a stop, a
sign-in/out, a supply change or an alarm change, and at shutdown. Continuous and daily
driving timeouts go to the reporting desk as JT/T 905 alarm flags (audited and reported
at once). ``over_limit()`` tells whether the car is over the platform's speed limit now.
"""

from __future__ import annotations

import logging

from meter.taximeter import IN_TRIP
from terminal.recorder import export
from terminal.recorder.core import STATUS_ACC, STATUS_OCCUPIED, RecorderCore
from terminal.recorder.rules import Fatigue
from terminal.recorder.store import FLUSH_MS, RecordStore, last_events, saved_state
from terminal.trust.calibration import KV_KEY, CalibrationError, stored_k

log = logging.getLogger("taxiterm")

DEFAULTS = {"continuous_s": 14400, "rest_s": 1200, "daily_s": 28800}
DEFAULT_OVERSPEED_S = 10
URGENT = ("stop", "driver", "power", "alarm", "overtime", "overspeed", "speed_status")
QUERY_LIMIT = 600


class PulseLine:
    """The terminal's own speed-pulse input when the meter is fitted on the 905.2 link.

    A JT/T 794 terminal with the driving-record function has its own input from the vehicle's
    speed sensor and its own pulse coefficient (GB/T 19056 04H), set by the technician under
    the seal (``taxiterm calibrate``, Storage kv ``calibration``): that K measures the speed
    records, the stop samples and the recorder's distance. The fitted meter counts the same
    sensor with its own K for fares, which never crosses the link. Without a calibration the
    recorder has GNSS speed only (logged at start), never a guessed K.
    """

    def __init__(self, storage, saved_m: int = 0) -> None:
        try:
            self.k = stored_k(storage.kv_get(KV_KEY))
        except CalibrationError as exc:
            log.error("recorder: the terminal's pulse line calibration is unusable (%s); GNSS speed only", exc)
            self.k = None
        if self.k is None:
            log.warning("recorder: the terminal's pulse line is not calibrated (taxiterm calibrate); "
                        "with the meter on the 905.2 link the driving record has GNSS speed only")
        self.base_m = saved_m          # the distance recorded before this start
        self.pulses = 0                # counted since this start
        self.last: int | None = None

    def count(self, count: int) -> None:
        """A cumulative reading of the counter: its increase is distance (a reset counter restarts the baseline)."""
        if self.last is not None and count >= self.last:
            self.pulses += count - self.last
        self.last = count

    @property
    def total_m(self) -> int:
        return self.base_m + (self.pulses * 1000 // self.k if self.k else 0)


class Recorder:
    def __init__(self, term) -> None:
        self.term = term
        cfg = {**DEFAULTS, **term.config.get("recorder", {})}
        fatigue = Fatigue(continuous_ms=cfg["continuous_s"] * 1000, rest_ms=cfg["rest_s"] * 1000,
                          daily_ms=cfg["daily_s"] * 1000, utc_offset_min=term.daybook.utc_offset_min)
        self.core = RecorderCore(fatigue)
        self.store = RecordStore(term.storage)
        saved = saved_state(term.storage)
        if saved:
            fatigue.restore(saved.get("fatigue", {}))
            self.core.overspeed.restore(saved.get("overspeed", {}))
            self.core.speed_status.restore(saved.get("speed_status", {}))
        shift = term.meter.shift_info
        self.driver = shift["driver"] if shift else None
        if fatigue.driver != (self.driver or ""):
            fatigue.driver = self.driver or ""
        self.core.powered = bool(term.meter.powered)
        # with a fitted meter the pulse line is the terminal's own (its K, its distance)
        self.line = PulseLine(term.storage, (saved or {}).get("line_m", 0)) \
            if getattr(term.meter, "external", False) else None
        self.last_flush_ms = term.clock()
        self.urgent = False
        if saved and saved.get("t_ms") is not None:
            self._restarted(saved["t_ms"], term.clock())

    # -- the loop's hooks ---------------------------------------------------------------------------
    def on_event(self, event) -> None:
        now = event.t_ms
        self._advance(now)
        kind = event.kind
        if kind == "pulses":
            k = self.pulse_k()
            for t, count in event.data.get("fine") or ():
                self.core.pulses(t, count, k)
            self.core.pulses(now, event.data["count"], k)
            if self.line is not None:
                self.line.count(event.data["count"])
            self._take(self.core.advance(now), now)      # the readings just in: their samples now
        elif kind == "fix":
            fix = event.data["fix"]
            if fix.positioned:
                speed = round((fix.speed_mps or 0.0) * 36)
                pos = (round(fix.lat * 1e6), round(fix.lon * 1e6), round(fix.alt_m or 0.0))
                self.core.fix(now, speed, pos)
        elif kind == "power":
            self._take(self.core.power(now, bool(event.data.get("on", event.data.get("active")))), now)
        shift = self.term.meter.shift_info
        driver = shift["driver"] if shift else None
        if driver != self.driver:
            cert = driver if driver is not None else self.driver
            self.driver = driver
            self._take(self.core.driver(now, cert, driver is not None), now)
        if self.urgent:
            self.flush(now)

    def periodic(self, now: int) -> None:
        self._advance(now)
        if self.urgent or now - self.last_flush_ms >= FLUSH_MS:
            self.flush(now)

    def flush(self, now: int | None = None) -> None:
        now = now if now is not None else self.term.clock()
        self.store.set_state({"fatigue": self.core.fatigue.snapshot(), "overspeed": self.core.overspeed.snapshot(),
                              "speed_status": self.core.speed_status.snapshot(), "facts": self.facts(),
                              "t_ms": now, **({"line_m": self.line.total_m} if self.line is not None else {})})
        self.store.flush()
        self.urgent = False
        self.last_flush_ms = now

    # -- what the others ask --------------------------------------------------------------------------
    def pulse_k(self) -> int | None:
        """K of the pulse line the recorder measures: the in-process meter's, or the terminal's own
        calibration when the meter is fitted on the link (None: not calibrated, GNSS only)."""
        if self.line is not None:
            return self.line.k
        return self.term.meter.odometer.k

    def facts(self) -> dict:
        """What the recorder's header blocks (00H-07H) tell about now: driver, K, distance, plate, device."""
        term = self.term
        meter = term.meter
        totals = getattr(meter, "totals", None)
        cfg = term.config.get("terminal", {})
        if self.line is not None:      # a fitted meter: the terminal's own pulse line and its K
            k, total_m = self.line.k or 0, self.line.total_m
        else:
            k = getattr(meter.odometer, "k", None) or 0
            total_m = getattr(totals, "total_m", 0) if totals is not None else 0
        return {"driver": self.driver or "", "k": k, "total_m": total_m,
                "plate": cfg.get("plate", ""), "device_id": cfg.get("id", "")}

    def over_limit(self) -> bool:
        """The car is over the platform's speed limit (for at least its overspeed duration) now."""
        return self.core.over_limit()

    def query(self, cmd, now: int) -> list:
        """The platform's ``record_query``: the records asked for on up/record, then the acknowledgement."""
        self.flush(now)
        body = cmd.body
        kind = body["what"]
        limit = min(body.get("limit", QUERY_LIMIT), QUERY_LIMIT)
        found, more = export.query(self.term.storage, kind, body["from"], body["to"], limit)
        reply = {"cmd_id": cmd.cmd_id, "what": kind, "from": body["from"], "to": body["to"],
                 "records": found, "truncated": more}
        return [("report", "record", reply), ("report", "ack", cmd.ack(0, f"{len(found)} records"))]

    # -- inside -------------------------------------------------------------------------------------
    def _restarted(self, alive_ms: int, now: int) -> None:
        """The terminal was off since its last batch (``alive_ms``): the supply it lost and got back are
        external power records (13H) even though nothing could write them at the time."""
        last = last_events(self.term.storage, "power", 1)
        if (not last or last[0]["on"]) and alive_ms < now:
            self.store.event("power", alive_ms, {"t_ms": alive_ms, "on": False, "cause": "terminal_off"})
        if self.core.powered:
            self.store.event("power", now, {"t_ms": now, "on": True, "cause": "terminal_on"})
        self.store.flush()

    def _advance(self, now: int) -> None:
        term = self.term
        core = self.core
        meter = term.meter
        core.set_status(now, (STATUS_ACC if meter.powered else 0) | (STATUS_OCCUPIED if meter.state in IN_TRIP else 0))
        # the internal meter judges the pulse line (meter_fault); a fitted meter's fault is its link,
        # not the terminal's own pulse line, whose fault is the speed-sensor bit
        core.source.pulse_fault = ("speed_sensor_fault" if self.line is not None else "meter_fault") \
            in term.reporting.flags
        params = term.platform.params
        core.limit_kmh = params.get("speed_limit_kmh")
        core.hold_ms = params.get("overspeed_s", DEFAULT_OVERSPEED_S) * 1000
        self._take(core.advance(now), now)

    def _take(self, records, now: int) -> None:
        store = self.store
        for record in records:
            kind = record[0]
            if kind == "second":
                store.second(record[1], record[2], record[3], record[4])
                continue
            if kind == "position":
                store.position(record[1], record[2], record[3])
            elif kind == "alarm":
                self.term.reporting.flag(record[1], record[2], now)
            else:
                body = record[1]
                store.event(kind, body.get("t_ms", body.get("end_ms", now)), body)
            if kind in URGENT:
                self.urgent = True
