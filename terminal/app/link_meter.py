"""The meter on the JT/T 905.2 link (application room): a mirror of a sealed taximeter.

``LinkMeter`` is the second implementation of the meter port (docs/meter-link.md "The meter
port"): it answers the loop the way ``meter.taximeter.Taximeter`` does (``state``, ``fault``,
``trip``, ``totals``, ``view()``, ``snapshot()``, ``key``/``power``/``reading`` returning closed
trip records), but the meter it mirrors lives on the other end of the serial line, so the keys
and the pulse line are the meter's own and the terminal only learns what the meter reports:
trip start (0x00E7), operation data at trip end (0x00E8, or 0x00F2 when resent), heartbeats,
status and tariff answers. Pure: frames in, records and frames to send out.
"""

from __future__ import annotations

import hashlib
import json

from drivers import meter_link_codec as ml
from meter.civil import days_from_civil
from meter.errors import MeterError
from meter.totalisers import Totalisers
from meter.trip import seal_record

MAX_RESEND_ASKS = 16     # missing trip numbers asked for at once after a gap


class _NoOdometer:
    """The meter keeps its own odometer and K, under its own seal."""

    k = None
    reading = None
    source = "link"


class LinkTrip:
    """What the terminal knows of the trip the meter has open."""

    def __init__(self, trip_no, board_ms):
        self.trip_no = trip_no
        self.board_ms = board_ms
        self.distance_m = 0
        self.extras = ()
        self.order_id = "0"


def local_ms(parts, utc_offset_min: int) -> int:
    """Epoch ms of a local civil time (Y, M, D, h, m[, s]) at ``utc_offset_min``."""
    y, mo, d, h, mi = parts[:5]
    s = parts[5] if len(parts) > 5 else 0
    return (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - utc_offset_min * 60) * 1000


def tariff_digest(values: dict | None) -> str:
    plain = {k: (v.hex() if isinstance(v, bytes) else v) for k, v in (values or {}).items()}
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=list).encode()).hexdigest()


class LinkMeter:
    external = True

    def __init__(self, utc_offset_min: int = 480, t_ms: int = 0) -> None:
        self.utc_offset_min = utc_offset_min
        self.state = "for_hire"
        self.fault: str | None = "计价器未连接 (meter not answering yet)"
        self.trip: LinkTrip | None = None
        self.totals = Totalisers()
        self.shift = Totalisers()
        self.shift_info: dict | None = None
        self.powered = True
        self.t = t_ms
        self.odometer = _NoOdometer()
        self.last_trip_no = 0
        self.tariff: dict | None = None
        self.status: dict | None = None
        self.device_id: dict | None = None
        self.speed_kmh = 0
        self.answered = False            # a status answer came since the start (clears the first fault)
        self.relays_ratings = False      # the meter has relayed a passenger's rating (0x00F5)
        # what a faulty or tampered meter did this run (terminal/app/meter_link_faults.py)
        self.record_fault: str | None = None
        self.audited_faults: set = set()
        self.resend_asked: dict = {}     # trip_no -> when it must have come
        self.totalisers_seen: tuple | None = None

    # -- the port: what the loop may ask of any meter -------------------------------------------
    def key(self, t, name, amount_fen=None, label=None, order_id=None):
        raise MeterError("计价器按键在计价器上 (the meter is operated on the meter itself)")

    def power(self, t, on):
        self.powered = bool(on)
        self.t = max(self.t, t)
        return []

    def reading(self, t, value, source):
        return []      # the speed sensor is wired to the meter, not to us

    def set_k(self, t, k):
        raise MeterError("K is set on the meter under its own seal")

    def clear_fault(self, t, reason):
        raise MeterError("the meter link's fault clears itself when the meter answers again")

    def start_shift(self, t, driver):
        if self.state != "for_hire":
            raise MeterError("sign-in is not allowed during a trip")
        if self.shift_info is not None:
            raise MeterError(f"a shift is already open (driver {self.shift_info['driver']})")
        self.shift = Totalisers()
        self.shift_info = {"driver": driver, "start_ms": t}

    def end_shift(self, t):
        if self.state != "for_hire":
            raise MeterError("sign-out is not allowed during a trip")
        if self.shift_info is None:
            raise MeterError("no shift is open")
        summary = dict(self.shift_info, end_ms=t, totals=self.shift.as_dict())
        self.shift_info = None
        return summary

    def view(self) -> dict:
        trip = self.trip
        return {"state": self.state, "fare_fen": 0, "extras_fen": 0, "total_fen": 0,
                "distance_m": 0, "waiting_ms": 0, "speed_kmh": 0,
                "trip_no": trip.trip_no if trip else None, "order_id": trip.order_id if trip else None,
                "tariff_id": self.tariff_id() if trip else None, "fault": self.fault, "powered": self.powered}

    def tariff_id(self) -> str:
        if not self.tariff:
            return "meter"
        y, m, d, h = self.tariff["valid_from"]
        return f"meter-{y:04d}{m:02d}{d:02d}{h:02d}"

    # -- frames from the meter ------------------------------------------------------------------
    def record_from(self, values: dict, now: int, order_id: str = "0") -> dict:
        """The trip record (docs/trip-record.md) of one operation-data body (0x00E8 / 0x00F2)."""
        board = local_ms(values["board"], self.utc_offset_min)
        ah, am = values["alight"]
        alight = board - (values["board"][3] * 60 + values["board"][4]) * 60000 + (ah * 60 + am) * 60000
        if alight < board:
            alight += 86400000           # alighted after midnight
        fare = values["fare_jiao"] * 10
        extras_fen = values["extras_jiao"] * 10
        tariff = self.tariff or {}
        start = min(fare, tariff.get("start_day_fen", 0))
        wh, wm = values["waiting"]
        record = {
            "trip_no": values["trip_no"], "order_id": order_id, "tariff_id": self.tariff_id(),
            "tariff_digest": tariff_digest(self.tariff), "utc_offset_min": self.utc_offset_min,
            "board_ms": board, "alight_ms": alight, "end_ms": alight,
            "distance_m": values["distance_100m"] * 100, "empty_m": values["empty_100m"] * 100,
            "paused_m": 0, "waiting_ms": (wh * 60 + wm) * 60000, "paused_ms": 0,
            "price_per_km_fen": tariff.get("oneway_day_fen", 0), "waiting_fen_per_unit": tariff.get("wait_day_fen", 0),
            "waiting_unit_s": (tariff["wait_unit"][0] * 60 + tariff["wait_unit"][1]) if tariff else 0,
            "night": False,
            "fare": {"start_fen": start, "distance_fen": fare - start, "long_distance_fen": 0, "night_fen": 0,
                     "peak_fen": 0, "waiting_fen": 0, "rounding_fen": 0},
            "fare_fen": fare,
            "extras": [{"label": "附加费", "amount_fen": extras_fen}] if extras_fen else [],
            "extras_fen": extras_fen, "total_fen": fare + extras_fen, "flags": ["link"],
        }
        return seal_record(record)

    def close(self, record: dict, now: int) -> list:
        """A new trip record arrived: the mirror moves on; returns [record] as Taximeter calls do."""
        for totals in (self.totals, self.shift):
            totals.hirings += 1
            totals.hired_m += record["distance_m"]
            totals.empty_m += record["empty_m"]
            totals.total_m += record["distance_m"] + record["empty_m"]
            totals.add_trip(record)
        if self.trip is None or self.trip.trip_no <= record["trip_no"]:
            self.trip = None
            self.state = "for_hire"
        self.last_trip_no = max(self.last_trip_no, record["trip_no"])
        self.t = max(self.t, now)
        return [record]

    def missing_before(self, trip_no: int) -> list:
        """Trip numbers the meter issued before ``trip_no`` that never reached us."""
        if not self.last_trip_no:
            return []
        return list(range(self.last_trip_no + 1, min(trip_no, self.last_trip_no + 1 + MAX_RESEND_ASKS)))

    def on_frame(self, command: int, values: dict, now: int) -> list:
        """Everything but operation data: update the mirror; returns frames to send back."""
        self.t = max(self.t, now)
        if command == ml.CMD_TRIP_START:
            self.trip = LinkTrip(self.last_trip_no + 1, local_ms(values["board"], self.utc_offset_min))
            self.state = "hired"
            return [ml.ack(command)]
        if command == ml.CMD_HEARTBEAT:
            hired = bool(values["state"] & ml.STATE_HIRED)
            if hired and self.state == "for_hire":
                self.trip = LinkTrip(self.last_trip_no + 1, now)
                self.state = "hired"
            return []
        if command == ml.CMD_STATUS:
            self.status = values
            return []
        if command in (ml.CMD_TARIFF_QUERY,):
            self.tariff = values
            return []
        if command == ml.CMD_DEVICE_ID:
            self.device_id = {"software_id": values["software_id"].hex(), "log_head": values["log_head"].hex(),
                              "log_seq": values["log_seq"], "trip_no": values["trip_no"]}
            return []
        if command in (ml.CMD_POWER_ON_DONE, ml.CMD_POWER_OFF_DONE, ml.CMD_RESEND_AT_OFF):
            self.powered = command == ml.CMD_POWER_ON_DONE
            return [ml.ack(command)]
        return []

    # -- persistence ----------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"kind": "link", "state": self.state, "t": self.t, "powered": self.powered,
                "trip": [self.trip.trip_no, self.trip.board_ms] if self.trip else None,
                "totals": self.totals.as_dict(), "shift": self.shift.as_dict(), "shift_info": self.shift_info,
                "last_trip_no": self.last_trip_no, "relays_ratings": self.relays_ratings,
                "utc_offset_min": self.utc_offset_min,
                "tariff": {k: (v.hex() if isinstance(v, bytes) else list(v) if isinstance(v, tuple) else v)
                           for k, v in self.tariff.items()}
                if self.tariff else None}

    @staticmethod
    def restore(s: dict | None, utc_offset_min: int = 480, t_ms: int = 0) -> LinkMeter:
        m = LinkMeter(utc_offset_min, t_ms)
        if not s or s.get("kind") != "link":
            return m               # the internal meter's state does not carry over to a fitted meter
        m.state = s["state"]
        m.t = s["t"]
        m.powered = s["powered"]
        m.trip = LinkTrip(*s["trip"]) if s["trip"] else None
        m.totals = Totalisers(s["totals"])
        m.shift = Totalisers(s["shift"])
        m.shift_info = s["shift_info"]
        m.last_trip_no = s["last_trip_no"]
        m.relays_ratings = s.get("relays_ratings", False)
        if s.get("tariff"):
            m.tariff = {k: (bytes.fromhex(v) if k in ("reserved", "vendor_area") else
                            (tuple(v) if isinstance(v, list) else v)) for k, v in s["tariff"].items()}
        return m
