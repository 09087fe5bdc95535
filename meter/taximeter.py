"""The taximeter: operating states, driver keys, power, and the trip being measured.

States: for_hire (no charging), hired (charging), stopped (paused: nothing charged),
settling (fare frozen, extras may be added), out_of_service. Every event carries its
time (Unix epoch ms). An event the meter refuses raises ``MeterError`` with the reason
and changes nothing. Closing a trip returns its record; the caller stores it before
anything is printed or sent.
"""

from meter.errors import MeterError
from meter.fare import TripFare
from meter.odometer import Odometer
from meter.totalisers import Totalisers
from meter.trip import seal_record

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

DEFAULT_PARAMS = {"k": 1000, "source": "pulses", "dip_ms": 10000, "max_kmh": 250}


def _plain_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Trip:
    """The open trip: its tariff, fare accumulators, extras and times."""

    def __init__(self, trip_no, tariff, board_ms, order_id, empty_m):
        self.trip_no = trip_no
        self.tariff = tariff
        self.board_ms = board_ms
        self.order_id = order_id
        self.empty_m = empty_m
        self.fare = TripFare(tariff, board_ms)
        self.distance_m = 0
        self.paused_m = 0
        self.paused_ms = 0
        self.alight_ms = None
        self.frozen_fen = None
        self.extras = [[label, fen] for label, fen in tariff.fixed_extras]
        self.flags = []

    def fare_fen(self):
        return self.frozen_fen if self.frozen_fen is not None else self.fare.fare_fen()

    def extras_fen(self):
        total = 0
        for _, fen in self.extras:
            total += fen
        return total

    def record(self, end_ms):
        t = self.tariff
        fare_fen = self.fare_fen()
        breakdown = self.fare.breakdown()
        if self.frozen_fen is not None:
            breakdown["rounding_fen"] += self.frozen_fen - self.fare.fare_fen()
        extras_fen = self.extras_fen()
        return seal_record({
            "trip_no": self.trip_no,
            "order_id": self.order_id,
            "tariff_id": t.id,
            "tariff_digest": t.digest,
            "utc_offset_min": t.utc_offset_min,
            "board_ms": self.board_ms,
            "alight_ms": self.alight_ms if self.alight_ms is not None else end_ms,
            "end_ms": end_ms,
            "distance_m": self.distance_m,
            "empty_m": self.empty_m,
            "paused_m": self.paused_m,
            "waiting_ms": self.fare.waiting_ms,
            "paused_ms": self.paused_ms,
            "price_per_km_fen": t.per_km_fen,
            "waiting_fen_per_unit": t.waiting_fen_per_unit,
            "waiting_unit_s": t.waiting_unit_s,
            "night": self.fare.night_start,
            "fare": breakdown,
            "fare_fen": fare_fen,
            "extras": [{"label": label, "amount_fen": fen} for label, fen in self.extras],
            "extras_fen": extras_fen,
            "total_fen": fare_fen + extras_fen,
            "flags": list(self.flags),
        })

    def snapshot(self):
        return {
            "trip_no": self.trip_no, "tariff_id": self.tariff.id, "board_ms": self.board_ms,
            "order_id": self.order_id, "empty_m": self.empty_m, "fare": self.fare.snapshot(),
            "distance_m": self.distance_m, "paused_m": self.paused_m, "paused_ms": self.paused_ms,
            "alight_ms": self.alight_ms, "frozen_fen": self.frozen_fen, "extras": self.extras,
            "flags": self.flags,
        }

    @staticmethod
    def restore(s, tariff):
        trip = Trip(s["trip_no"], tariff, s["board_ms"], s["order_id"], s["empty_m"])
        trip.fare = TripFare.restore(tariff, s["fare"], s["board_ms"])
        trip.distance_m = s["distance_m"]
        trip.paused_m = s["paused_m"]
        trip.paused_ms = s["paused_ms"]
        trip.alight_ms = s["alight_ms"]
        trip.frozen_fen = s["frozen_fen"]
        trip.extras = [[label, fen] for label, fen in s["extras"]]
        trip.flags = list(s["flags"])
        return trip


class Taximeter:
    """The meter. ``schedule`` is a ``meter.tariff.Schedule``; ``params`` holds K etc."""

    def __init__(self, schedule, params=None, t_ms=0):
        p = dict(DEFAULT_PARAMS)
        if params:
            for key in params:
                if key not in DEFAULT_PARAMS:
                    raise MeterError("unknown meter parameter " + repr(key))
                p[key] = params[key]
        for key in ("dip_ms", "max_kmh"):
            if not _plain_int(p[key]) or p[key] < 0:
                raise MeterError("meter parameter %s must be a non-negative integer" % key)
        self.params = p
        self.schedule = schedule
        self.odometer = Odometer(p["k"], p["source"])
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

    def _check_time(self, t):
        if not _plain_int(t):
            raise MeterError("t_ms must be an integer (got %r)" % (t,))
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
        if self.odometer.reading is None:
            # The first reading is a baseline: a counter's absolute value is no distance driven now.
            self.odometer.discard(value)
            self._advance(t, 0)
            return []
        before = self.odometer.current_m()
        after = self.odometer.metres_at(value)
        dm = after - before
        dt = t - self.t
        if dm * 3600 > self.params["max_kmh"] * (dt if dt > 1000 else 1000):
            kmh = dm * 3600 // (dt if dt > 0 else 1)
            self.odometer.discard(value)
            self._advance(t, 0)
            self.fault = "distance sensor: implausible speed %d km/h" % kmh
            if self.trip is not None and "meter_fault" not in self.trip.flags:
                self.trip.flags.append("meter_fault")
            return []
        if self.odometer.source == "pulses":
            # speed below the threshold, at pulse resolution: dp/K km in dt ms
            low_num = (value - self.odometer.reading) * 3600000
            low_den = self.odometer.k * dt
        else:
            low_num = dm * 3600
            low_den = dt
        self.odometer.advance(value)
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
        self.params["k"] = k

    def clear_fault(self, t):
        """A technician's reset after repair (the terminal allows it only under the seal)."""
        self._check_time(t)
        if self.state in IN_TRIP:
            raise MeterError("a fault can be cleared only between trips")
        self._advance(t, 0)
        self.fault = None

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
        if low_den is None:
            low_den = dt
        state = self.state
        if state == HIRED:
            trip = self.trip
            trip.distance_m += dm
            if not self.fault:
                low = low_num < trip.tariff.below_kmh * low_den
                trip.fare.accrue(self.t, t, dm, low)
        elif state == STOPPED:
            self.trip.paused_ms += dt
            self.trip.paused_m += dm
        elif state == SETTLING:
            self.trip.paused_m += dm
        else:
            self.empty_since_trip += dm
        if dm:
            self.totals.add_distance(state, dm)
            self.shift.add_distance(state, dm)
        if dt > 0:
            self.speed_kmh = dm * 3600 // dt
        self.t = t

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
