"""The trip record: everything the receipt, the platform and an inspector need of one hiring.

Its ``digest`` is the SHA-256 of the canonical form of every other field, so a stored or
printed trip can be checked against what the meter issued.
"""

from meter import canonical

FIELDS = (
    "trip_no", "order_id", "tariff_id", "tariff_digest", "utc_offset_min", "board_ms", "alight_ms",
    "end_ms", "distance_m", "empty_m", "paused_m", "waiting_ms", "paused_ms", "price_per_km_fen",
    "waiting_fen_per_unit", "waiting_unit_s", "night", "fare", "fare_fen", "extras", "extras_fen",
    "total_fen", "flags",
)


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
