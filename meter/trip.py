"""The trip record: everything the receipt, the platform and an inspector need of one hiring.

Its ``digest`` is the SHA-256 of the canonical form of every other field, so a stored or
printed trip can be checked against what the meter issued. ``Trip`` is the open trip the
record is made from. A trip a fault stopped carries ``fault`` (where it began, what was
counted before it); other records have no such field, so they keep the form they always had.
"""

from meter import canonical
from meter.fare import TripFare

FIELDS = (
    "trip_no", "order_id", "tariff_id", "tariff_digest", "utc_offset_min", "board_ms", "alight_ms",
    "end_ms", "distance_m", "empty_m", "paused_m", "waiting_ms", "paused_ms", "price_per_km_fen",
    "waiting_fen_per_unit", "waiting_unit_s", "night", "fare", "fare_fen", "extras", "extras_fen",
    "total_fen", "flags",
)
OPTIONAL = ("fault",)


def seal_record(record):
    """Add the digest to a complete record (without one) and return it."""
    for name in FIELDS:
        if name not in record:
            raise KeyError("trip record lacks " + name)
    record["digest"] = canonical.digest(record)
    return record


def verify_record(record):
    """True if the record's digest matches its contents."""
    body = {}
    for key in record:
        if key != "digest":
            body[key] = record[key]
    return record.get("digest") == canonical.digest(body)


class Trip:
    """The open trip: its tariff, fare accumulators, extras and times (room: meter)."""

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
        self.fault = None   # where a fault stopped the counting, see Taximeter._fault

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
        record = {
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
        }
        if self.fault is not None:
            record["fault"] = dict(self.fault)
        return seal_record(record)

    def snapshot(self):
        return {
            "trip_no": self.trip_no, "tariff_id": self.tariff.id, "board_ms": self.board_ms,
            "order_id": self.order_id, "empty_m": self.empty_m, "fare": self.fare.snapshot(),
            "distance_m": self.distance_m, "paused_m": self.paused_m, "paused_ms": self.paused_ms,
            "alight_ms": self.alight_ms, "frozen_fen": self.frozen_fen, "extras": self.extras,
            "flags": self.flags, "fault": self.fault,
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
        trip.fault = s.get("fault")   # absent in snapshots made before faults were recorded
        return trip
