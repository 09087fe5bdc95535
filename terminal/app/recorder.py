"""The recorder desk (application room): the loop's events in, driving records and fatigue alarms out.

``Recorder`` sees every event after its own desk has handled it (``on_event``) and the
loop's periodic turn. It feeds the pure ``RecorderCore`` the pulse count with the meter's
K (every 0.2 s reading the counter batched into its ``pulses`` event, drivers/pulse.py), positioned GNSS fixes, the supply, the status signals (ignition, occupied) and the
driver from the meter's shift, and the platform's speed limit; it buffers the records in
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

log = logging.getLogger("taxiterm")

DEFAULTS = {"continuous_s": 14400, "rest_s": 1200, "daily_s": 28800}
DEFAULT_OVERSPEED_S = 10
URGENT = ("stop", "driver", "power", "alarm", "overtime", "overspeed", "speed_status")
QUERY_LIMIT = 600


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
            k = self.term.meter.odometer.k
            for t, count in event.data.get("fine") or ():
                self.core.pulses(t, count, k)
            self.core.pulses(now, event.data["count"], k)
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
                              "t_ms": now})
        self.store.flush()
        self.urgent = False
        self.last_flush_ms = now

    # -- what the others ask --------------------------------------------------------------------------
    def facts(self) -> dict:
        """What the recorder's header blocks (00H-07H) tell about now: driver, K, distance, plate, device."""
        term = self.term
        meter = term.meter
        totals = getattr(meter, "totals", None)
        cfg = term.config.get("terminal", {})
        return {"driver": self.driver or "", "k": getattr(meter.odometer, "k", None) or 0,
                "total_m": getattr(totals, "total_m", 0) if totals is not None else 0,
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
        core.source.pulse_fault = "meter_fault" in term.reporting.flags
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
