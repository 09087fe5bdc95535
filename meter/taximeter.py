"""The taximeter: operating states, driver keys, power, and the trip being measured.

States: for_hire (no charging), hired (charging), stopped (paused: nothing charged),
settling (fare frozen, extras may be added), out_of_service. Every event carries its
time (Unix epoch ms). An event the meter refuses raises ``MeterError`` with the reason
and changes nothing. Closing a trip returns its record; the caller stores it before
anything is printed or sent.

Longer than 400 lines because the states, keys, power and fault handling all change the
one state the snapshot holds; split apart, each would need the others' invariants.
"""

from meter.errors import MeterError
from meter.odometer import Odometer
from meter.plausibility import SpeedWindow
from meter.totalisers import Totalisers
from meter.trip import Trip

FOR_HIRE = "for_hire"
HIRED = "hired"
STOPPED = "stopped"
SETTLING = "settling"
OUT_OF_SERVICE = "out_of_service"
STATES = (FOR_HIRE, HIRED, STOPPED, SETTLING, OUT_OF_SERVICE)
IN_TRIP = (HIRED, STOPPED, SETTLING)

# key -> (states it is legal in, state it leads to; None = stays)
KEYS = {
    "hire": ((FOR_HIRE,), HIRED),
    "pause": ((HIRED,), STOPPED),
    "resume": ((STOPPED,), HIRED),
    "settle": ((HIRED, STOPPED), SETTLING),
    "extra": ((HIRED, STOPPED, SETTLING), None),
    "clear": ((SETTLING,), FOR_HIRE),
    "out_of_service": ((FOR_HIRE,), OUT_OF_SERVICE),
    "in_service": ((OUT_OF_SERVICE,), FOR_HIRE),
}

DEFAULT_PARAMS = {"k": 1000, "source": "pulses", "dip_ms": 10000, "max_kmh": 250,
                  "speed_window_ms": 1000, "speed_window_pulses": 20}
# integer parameters: (lowest, highest); k and source are checked by the odometer
PARAM_RANGES = {"dip_ms": (0, 3600000), "max_kmh": (1, 1000), "speed_window_ms": (1000, 60000),
                "speed_window_pulses": (1, 1000)}


def _plain_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Taximeter:
    """The meter. ``schedule`` is a ``meter.tariff.Schedule``; ``params`` holds K etc."""

    def __init__(self, schedule, params=None, t_ms=0):
        p = dict(DEFAULT_PARAMS)
        if params:
            for key in params:
                if key not in DEFAULT_PARAMS:
                    raise MeterError("unknown meter parameter " + repr(key))
                p[key] = params[key]
        for key in PARAM_RANGES:
            lo, hi = PARAM_RANGES[key]
            if not _plain_int(p[key]) or p[key] < lo or p[key] > hi:
                raise MeterError("meter parameter %s must be an integer from %d to %d (got %r)" % (key, lo, hi, p[key]))
        self.params = p
        self.schedule = schedule
        self.odometer = Odometer(p["k"], p["source"])
        self.window = SpeedWindow(p["max_kmh"], p["speed_window_ms"], p["speed_window_pulses"], self._per_km())
        self.dip_from = None   # power-off instant of a dip, until the first interval after it
        self.fault_record = None
        self.state = FOR_HIRE
        self.t = t_ms
        self.powered = True
        self.off_ms = None
        self.fault = None
        self.trip = None
        self.empty_since_trip = 0
        self.speed_kmh = 0
        self.totals = Totalisers()
        self.shift = Totalisers()
        self.shift_info = None

    # -- events ----------------------------------------------------------------------
    def apply(self, event):
        """Apply one event dict ({"t_ms", and one of pulses/gnss_m/key/power}); return closed trips."""
        if not isinstance(event, dict):
            raise MeterError("an event must be an object")
        t = event.get("t_ms")
        kinds = [k for k in ("pulses", "gnss_m", "key", "power") if k in event]
        if len(kinds) != 1:
            raise MeterError("an event needs exactly one of pulses, gnss_m, key, power")
        kind = kinds[0]
        allowed = {"t_ms": 1, kind: 1}
        if kind == "key":
            allowed["amount_fen"] = 1
            allowed["label"] = 1
            allowed["order_id"] = 1
        for key in event:
            if key not in allowed:
                raise MeterError("unexpected field " + repr(key) + " in a " + kind + " event")
        if kind == "pulses":
            return self.reading(t, event["pulses"], "pulses")
        if kind == "gnss_m":
            return self.reading(t, event["gnss_m"], "gnss")
        if kind == "power":
            if event["power"] not in ("on", "off"):
                raise MeterError("power must be on or off (got %r)" % (event["power"],))
            return self.power(t, event["power"] == "on")
        return self.key(t, event["key"], event.get("amount_fen"), event.get("label"), event.get("order_id"))

    def _per_km(self):
        return self.odometer.k if self.odometer.source == "pulses" else 1000

    def _check_time(self, t):
        if not _plain_int(t) or t < 0:
            raise MeterError("t_ms must be a non-negative integer (got %r)" % (t,))
        if t < self.t:
            raise MeterError("time went backwards (%d after %d)" % (t, self.t))

    def _check_powered(self):
        if not self.powered:
            raise MeterError("the meter is powered off")

    def reading(self, t, value, source):
        """A cumulative distance reading: pulses, or GNSS metres."""
        self._check_time(t)
        self._check_powered()
        if source != self.odometer.source:
            # The other source is not the meter's distance; it only moves the clock.
            if not _plain_int(value) or value < 0:
                raise MeterError("cumulative %s must be a non-negative integer (got %r)" % (source, value))
            self._advance(t, 0)
            return []
        self.odometer.check(value)
        window = self.window
        if self.odometer.reading is None or self.fault:
            # The first reading is a baseline: a counter's absolute value is no distance driven
            # now. Under a fault the sensor is not trusted: nothing is counted, and after the
            # repair readings are judged from the last one.
            self.odometer.discard(value)
            window.restart(t, value)
            self._advance(t, 0)
            return []
        kmh = window.admit(t, value)
        if kmh is not None:
            self._fault(t, "distance sensor: implausible speed %d km/h" % kmh)
            self.odometer.discard(value)
            window.restart(t, value)
            self._advance(t, 0)
            return []
        odo = self.odometer
        dp = value - odo.reading
        dm = odo.advance(value)
        # the interval's speed class: since the last event (the power-off instant after a dip)
        dt = t - (self.t if self.dip_from is None else self.dip_from)
        if odo.source == "pulses":
            # speed below the threshold, at pulse resolution: dp/K km in dt ms
            low_num = dp * 3600000
            low_den = odo.k * dt
        else:
            low_num = dm * 3600
            low_den = dt
        self._advance(t, dm, low_num, low_den)
        return []

    def tick(self, t):
        """Let time pass with no new distance reading."""
        self._check_time(t)
        self._check_powered()
        self._advance(t, 0)
        return []

    def key(self, t, name, amount_fen=None, label=None, order_id=None):
        self._check_time(t)
        self._check_powered()
        if not isinstance(name, str) or name not in KEYS:
            raise MeterError("unknown key " + repr(name))
        legal, target = KEYS[name]
        if self.state not in legal:
            raise MeterError("key %s is not allowed while %s" % (name, self.state))
        if name != "extra" and (amount_fen is not None or label is not None):
            raise MeterError("only the extra key takes amount_fen and label")
        if name != "hire" and order_id is not None:
            raise MeterError("only the hire key takes an order_id")
        tariff = None
        if name == "hire":
            if self.fault:
                raise MeterError("metering is stopped by a fault: " + self.fault)
            tariff = self.schedule.active(t)
            if tariff is None:
                raise MeterError("no tariff is in force at this time")
            if order_id is None:
                order_id = "0"
            if not isinstance(order_id, str) or not order_id or len(order_id) > 32:
                raise MeterError("order_id must be a string of 1 to 32 characters")
        if name == "extra":
            limit = self.trip.tariff.extras_max_fen
            if not _plain_int(amount_fen) or amount_fen < 1 or amount_fen > limit:
                raise MeterError("extra amount_fen must be an integer from 1 to %d" % limit)
            if not isinstance(label, str) or not label.strip() or len(label) > 16:
                raise MeterError("extra label must be a string of 1 to 16 characters")
        self._advance(t, 0)
        closed = []
        if name == "hire":
            self.totals.hirings += 1
            self.shift.hirings += 1
            self.trip = Trip(self.totals.hirings, tariff, t, order_id, self.empty_since_trip)
            self.empty_since_trip = 0
        elif name == "settle":
            self.trip.frozen_fen = self.trip.fare.fare_fen()
            self.trip.alight_ms = t
        elif name == "extra":
            self.trip.extras.append([label, amount_fen])
        elif name == "clear":
            closed.append(self._close(t))
        if target is not None:
            self.state = target
        return closed

    def power(self, t, on):
        self._check_time(t)
        if on == self.powered:
            raise MeterError("power is already " + ("on" if on else "off"))
        if not on:
            self._advance(t, 0)
            self.powered = False
            self.off_ms = t
            return []
        gap = t - self.off_ms
        self.powered = True
        self.t = t
        # The gap is no interval (never charged); the first one after it is classed, and shown,
        # at its speed since the power-off instant, as the distance moved in the gap is in it.
        self.dip_from = self.off_ms
        closed = []
        if self.trip is not None and gap > self.params["dip_ms"]:
            self.trip.flags.append("power_loss")
            if self.trip.alight_ms is None:
                self.trip.frozen_fen = self.trip.fare.fare_fen()
                self.trip.alight_ms = self.off_ms
            closed.append(self._close(t))
            self.state = FOR_HIRE
        self.off_ms = None
        return closed

    def set_k(self, t, k):
        """Apply a calibrated K (the terminal allows it only under the seal), between trips only."""
        self._check_time(t)
        if self.state in IN_TRIP:
            raise MeterError("K can be changed only between trips")
        if not _plain_int(k) or k < 100 or k > 100000:
            raise MeterError("K must be an integer from 100 to 100000 pulses/km (got %r)" % (k,))
        self._advance(t, 0)
        self.odometer.set_k(k)
        self.window.set_per_km(self._per_km())
        self.params["k"] = k

    def clear_fault(self, t, reason):
        """A technician's clearing after repair; the terminal allows it only under the open seal.

        Returns the audit entry {"fault": the fault record, "cleared_ms", "reason"}, which
        the terminal stores in its audit trail. Refused during a trip, without a fault, or
        without a reason (the repair done, 1 to 64 characters).
        """
        self._check_time(t)
        self._check_powered()
        if self.state in IN_TRIP:
            raise MeterError("a fault can be cleared only between trips")
        if not self.fault:
            raise MeterError("there is no fault to clear")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 64:
            raise MeterError("clearing a fault needs a reason of 1 to 64 characters (the repair done)")
        self._advance(t, 0)
        entry = {"fault": dict(self.fault_record), "cleared_ms": t, "reason": reason}
        self.fault = None
        self.fault_record = None
        return entry

    # -- shift ---------------------------------------------------------------------------
    def start_shift(self, t, driver):
        self._check_time(t)
        if self.state in IN_TRIP:
            raise MeterError("sign-in is not allowed during a trip")
        if self.shift_info is not None:
            raise MeterError("a shift is already open (driver %s)" % self.shift_info["driver"])
        if not isinstance(driver, str) or not driver or len(driver) > 32:
            raise MeterError("driver must be a string of 1 to 32 characters")
        self._advance(t, 0)
        self.shift = Totalisers()
        self.shift_info = {"driver": driver, "start_ms": t}

    def end_shift(self, t):
        self._check_time(t)
        if self.state in IN_TRIP:
            raise MeterError("sign-out is not allowed during a trip")
        if self.shift_info is None:
            raise MeterError("no shift is open")
        self._advance(t, 0)
        summary = dict(self.shift_info)
        summary["end_ms"] = t
        summary["totals"] = self.shift.as_dict()
        self.shift_info = None
        return summary

    # -- internals -----------------------------------------------------------------------
    def _advance(self, t, dm, low_num=0, low_den=None):
        """Account the interval since the last event: dm metres at low_num/low_den km/h."""
        dt = t - self.t
        span = dt if self.dip_from is None else t - self.dip_from
        self.dip_from = None
        if self.fault:
            # from the fault instant nothing is charged or counted, in the trip or the totalisers
            self.speed_kmh = 0
            self.t = t
            return
        if low_den is None:
            low_den = span
        state = self.state
        if state == HIRED:
            trip = self.trip
            trip.distance_m += dm
            low = low_num < trip.tariff.below_kmh * low_den
            trip.fare.accrue(self.t, t, dm, low)
        elif state == STOPPED or state == SETTLING:
            self.trip.paused_ms += dt
            self.trip.paused_m += dm
        else:
            self.empty_since_trip += dm
        if dm:
            self.totals.add_distance(state, dm)
            self.shift.add_distance(state, dm)
        if span > 0:
            self.speed_kmh = dm * 3600 // span
        self.t = t

    def _fault(self, t, reason):
        """Stop metering: record where the fault began (the event before ``t``) and what was counted."""
        trip = self.trip
        record = {"reason": reason, "from_ms": self.t, "detected_ms": t, "odometer_m": self.totals.total_m}
        if trip is not None:
            record["distance_m"] = trip.distance_m
            record["waiting_ms"] = trip.fare.waiting_ms
            record["fare_fen"] = trip.fare_fen()
            trip.fault = dict(record)
            if "meter_fault" not in trip.flags:
                trip.flags.append("meter_fault")
        record["trip_no"] = trip.trip_no if trip is not None else None
        record["state"] = self.state
        self.fault = reason
        self.fault_record = record

    def _close(self, t):
        record = self.trip.record(t)
        self.totals.add_trip(record)
        self.shift.add_trip(record)
        self.trip = None
        return record

    # -- what the driver display shows -----------------------------------------------------
    def view(self):
        trip = self.trip
        fare = trip.fare_fen() if trip else 0
        extras = trip.extras_fen() if trip else 0
        return {
            "state": self.state,
            "fare_fen": fare,
            "extras_fen": extras,
            "total_fen": fare + extras,
            "distance_m": trip.distance_m if trip else 0,
            "waiting_ms": trip.fare.waiting_ms if trip else 0,
            "speed_kmh": self.speed_kmh,
            "trip_no": trip.trip_no if trip else None,
            "order_id": trip.order_id if trip else None,
            "tariff_id": trip.tariff.id if trip else None,
            "fault": self.fault,
            "powered": self.powered,
        }

    # -- persistence -----------------------------------------------------------------------
    def snapshot(self):
        """Plain data from which ``restore`` rebuilds this meter exactly."""
        return {
            "params": self.params, "odometer": self.odometer.snapshot(), "state": self.state,
            "t": self.t, "powered": self.powered, "off_ms": self.off_ms, "fault": self.fault,
            "fault_record": self.fault_record, "window": self.window.points, "dip_from": self.dip_from,
            "trip": self.trip.snapshot() if self.trip else None, "empty_since_trip": self.empty_since_trip,
            "speed_kmh": self.speed_kmh, "totals": self.totals.as_dict(), "shift": self.shift.as_dict(),
            "shift_info": self.shift_info,
        }

    @staticmethod
    def restore(snapshot, schedule):
        s = snapshot
        m = Taximeter(schedule, s["params"], s["t"])
        m.odometer = Odometer.restore(s["odometer"])
        m.state = s["state"]
        m.powered = s["powered"]
        m.off_ms = s["off_ms"]
        m.fault = s["fault"]
        # Snapshots made before the speed window and fault records: start the window at the
        # last event (a shorter window: stricter for one second, never more lenient).
        m.fault_record = s.get("fault_record")
        if m.fault and m.fault_record is None:
            m.fault_record = {"reason": m.fault, "from_ms": None, "detected_ms": None, "odometer_m": None,
                              "trip_no": None, "state": None}
        m.window.set_per_km(m._per_km())
        if "window" in s:
            m.window.points = [[p[0], p[1]] for p in s["window"]]
        elif m.odometer.reading is not None:
            m.window.restart(s["t"], m.odometer.reading)
        m.dip_from = s.get("dip_from")
        m.empty_since_trip = s["empty_since_trip"]
        m.speed_kmh = s["speed_kmh"]
        m.totals = Totalisers(s["totals"])
        m.shift = Totalisers(s["shift"])
        m.shift_info = s["shift_info"]
        if s["trip"] is not None:
            tariff = None
            for t in schedule.tariffs:
                if t.id == s["trip"]["tariff_id"]:
                    tariff = t
            if tariff is None:
                raise MeterError("the open trip's tariff %s is not in the schedule" % s["trip"]["tariff_id"])
            m.trip = Trip.restore(s["trip"], tariff)
        return m
