"""Uplink payloads: what the terminal tells the platform, in JT/T 808 units.

The payload room of the house. Pure builders that turn plain values (degrees, m/s,
epoch ms, meter trip records) into the JSON objects published on
``{prefix}/{tid}/up/{type}``; each has a schema in ``terminal/schemas/up_<type>.json``
and docs/mqtt.md describes them. Nothing here touches the network or the clock:
the caller passes ``seq`` (the outbox's persisted counter) and ``ts_ms``.

Position fields use the keys and units of EMQX's JT/T 808 gateway: latitude and
longitude as unsigned integers of 1e-6 degree with the hemisphere in the status
bits, altitude in metres, speed in 0.1 km/h, direction 0-359, time as BCD
``YYMMDDhhmmss`` in GMT+8.

Longer than 400 lines because every uplink's builder sits beside the unit conversions and
bit tables they share, so one page is the whole uplink contract in code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

# every altitude the GNSS room passes on must be reportable, or a location report would fail
from gps.parse import ALTITUDE_RANGE_M
from meter.civil import civil_from_days  # one calendar for the meter and the reports

UPLINK_TYPES = ("location", "alarm", "trip", "shift", "daily", "health", "ack", "order", "notice_ack", "audit")
UPLINK_TYPES += ("record",)   # the driving recorder's answer to record_query (docs/recorder.md)

# JT/T 808 alarm bits, with the JT/T 905 (taxi) meaning of bit 1: pre-alarm, the
# state between the hidden button and the centre's confirmation. Overspeed, which
# JT/T 808 puts on bit 1, travels as extra["overspeed"] instead (see docs/mqtt.md).
ALARM_BITS = {
    "emergency": 0,
    "pre_alarm": 1,
    "fatigue": 2,
    "gnss_fault": 4,
    "antenna_open": 5,
    "antenna_short": 6,
    "undervoltage": 7,
    "power_lost": 8,
    "meter_fault": 10,
    "sign_fault": 15,
    "speed_sensor_fault": 23,
}
# JT/T 905 driving-time alarms raised by the driving recorder (terminal/recorder/, docs/recorder.md)
ALARM_BITS["continuous_driving"] = 17
ALARM_BITS["daily_driving"] = 18

# JT/T 808 status bits; bit 4 in its JT/T 905 meaning (reservation) is kept apart
# from out of service, which JT/T 808 puts on the same bit.
STATUS_BITS = {
    "acc_on": 0,
    "positioned": 1,
    "south": 2,
    "west": 3,
    "out_of_service": 4,
    "occupied": 9,
}

BEIJING_OFFSET_MS = 8 * 3600 * 1000
MAX_WORD = 0xFFFF
MAX_DWORD = 0xFFFFFFFF
BCD_TIME_MIN_MS = 946656000000   # 2000-01-01 00:00:00 GMT+8: YY cannot go lower
BCD_TIME_MAX_MS = 4102415999999  # 2099-12-31 23:59:59.999 GMT+8


_HEX64 = re.compile(r"[0-9a-f]{64}")


class PayloadError(ValueError):
    """A value that cannot be put into an uplink payload (out of range, wrong kind)."""


# --- JT/T 808 unit conversions ------------------------------------------------

def _decimal(value: float | int, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PayloadError(f"{what} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(f"{what} must be finite, got {value!r}")
    # repr() is the shortest decimal that round-trips: 39.9042 stays 39.9042, not
    # 39.904199999999...; the conversion then rounds what a person would read.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def latitude_1e6(degrees: float) -> tuple[int, bool]:
    """Latitude in degrees -> (magnitude in 1e-6 degree, south?)."""
    d = _decimal(degrees, "latitude")
    if not Decimal(-90) <= d <= Decimal(90):
        raise PayloadError(f"latitude {degrees} outside -90..90")
    magnitude = _round_half_up(abs(d) * 1_000_000)
    return magnitude, magnitude != 0 and d < 0


def longitude_1e6(degrees: float) -> tuple[int, bool]:
    """Longitude in degrees -> (magnitude in 1e-6 degree, west?). 180 and -180 are the same meridian."""
    d = _decimal(degrees, "longitude")
    if not Decimal(-180) <= d <= Decimal(180):
        raise PayloadError(f"longitude {degrees} outside -180..180")
    magnitude = _round_half_up(abs(d) * 1_000_000)
    if magnitude == 180_000_000:
        return magnitude, False
    return magnitude, magnitude != 0 and d < 0


def speed_01kmh(metres_per_second: float) -> int:
    """Speed over ground in m/s -> JT/T 808 WORD of 0.1 km/h (1 m/s = 36 units)."""
    d = _decimal(metres_per_second, "speed")
    if d < 0:
        raise PayloadError(f"speed {metres_per_second} m/s is negative")
    units = _round_half_up(d * 36)
    if units > MAX_WORD:
        raise PayloadError(f"speed {metres_per_second} m/s exceeds {MAX_WORD} x 0.1 km/h")
    return units


def direction_deg(course: float) -> int:
    """Course over ground in degrees -> integer 0..359 (359.5 and up wrap to 0)."""
    d = _decimal(course, "direction")
    if not Decimal(0) <= d <= Decimal(360):
        raise PayloadError(f"direction {course} outside 0..360")
    return _round_half_up(d) % 360




def altitude_m(metres: float) -> int:
    """Altitude in metres, rounded to a whole metre."""
    d = _decimal(metres, "altitude")
    value = _round_half_up(d)
    low, high = ALTITUDE_RANGE_M
    if not low <= value <= high:
        raise PayloadError(f"altitude {metres} m outside {low}..{high}")
    return value


def mileage_01km(metres: int) -> int:
    """Odometer metres -> JT/T 808 mileage in 0.1 km (truncated: never claims distance not yet driven)."""
    if isinstance(metres, bool) or not isinstance(metres, int) or metres < 0:
        raise PayloadError(f"mileage must be a non-negative integer of metres, got {metres!r}")
    return metres // 100


def bcd_time(epoch_ms: int) -> str:
    """Unix epoch ms -> JT/T 808 BCD time ``YYMMDDhhmmss`` in GMT+8 (fractions of a second dropped)."""
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, int):
        raise PayloadError(f"time must be integer epoch ms, got {epoch_ms!r}")
    if not BCD_TIME_MIN_MS <= epoch_ms <= BCD_TIME_MAX_MS:
        raise PayloadError(f"time {epoch_ms} ms outside the years 2000-2099 (GMT+8) a BCD YY can carry")
    seconds = (epoch_ms + BEIJING_OFFSET_MS) // 1000
    days, second_of_day = divmod(seconds, 86400)
    year, month, day = civil_from_days(days)
    hh, rest = divmod(second_of_day, 3600)
    mm, ss = divmod(rest, 60)
    return f"{year % 100:02d}{month:02d}{day:02d}{hh:02d}{mm:02d}{ss:02d}"


def alarm_bits(names: Iterable[str]) -> int:
    """Alarm names (keys of ALARM_BITS) -> the JT/T 808/905 alarm bit field."""
    return _bits(names, ALARM_BITS, "alarm")


def status_bits(names: Iterable[str]) -> int:
    """Status names (keys of STATUS_BITS) -> the JT/T 808/905 status bit field."""
    return _bits(names, STATUS_BITS, "status")


def _bits(names: Iterable[str], table: Mapping[str, int], what: str) -> int:
    field = 0
    for name in names:
        if name not in table:
            raise PayloadError(f"unknown {what} flag {name!r}; known: {', '.join(sorted(table))}")
        field |= 1 << table[name]
    return field


def flags_of(field: int, table: Mapping[str, int]) -> set[str]:
    """The names whose bits are set in ``field`` (inverse of alarm_bits / status_bits)."""
    return {name for name, bit in table.items() if field >> bit & 1}


# --- position -----------------------------------------------------------------

def position(*, lat_deg: float, lon_deg: float, alt_m: float, speed_mps: float, course_deg: float,
             fix_ms: int) -> dict:
    """A GNSS fix in JT/T 808 units, plus the hemisphere flags for the status field.

    Returns {"latitude", "longitude", "altitude", "speed", "direction", "time", "south", "west"};
    the builders below fold south/west into ``status``.
    """
    lat, south = latitude_1e6(lat_deg)
    lon, west = longitude_1e6(lon_deg)
    return {
        "latitude": lat, "longitude": lon, "altitude": altitude_m(alt_m),
        "speed": speed_01kmh(speed_mps), "direction": direction_deg(course_deg),
        "time": bcd_time(fix_ms), "south": south, "west": west,
    }


NO_POSITION = {"latitude": 0, "longitude": 0, "altitude": 0, "speed": 0, "direction": 0,
               "south": False, "west": False}


def no_position(at_ms: int) -> dict:
    """Placeholder position when no fix was ever had: zeros, and ``positioned`` must stay off."""
    return dict(NO_POSITION, time=bcd_time(at_ms))


# --- envelope ------------------------------------------------------------------

def envelope(kind: str, *, seq: int, ts_ms: int, body: Mapping) -> dict:
    """Common uplink fields around a type-specific body: type, seq, ts, resent=false."""
    if kind not in UPLINK_TYPES:
        raise PayloadError(f"unknown uplink type {kind!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise PayloadError(f"seq must be a positive integer, got {seq!r}")
    if isinstance(ts_ms, bool) or not isinstance(ts_ms, int) or ts_ms < 0:
        raise PayloadError(f"ts must be non-negative integer epoch ms, got {ts_ms!r}")
    clash = {"type", "seq", "ts", "resent"} & set(body)
    if clash:
        raise PayloadError(f"body may not set envelope fields {sorted(clash)}")
    return {"type": kind, "seq": seq, "ts": ts_ms, "resent": False, **body}


def as_resent(payload: Mapping) -> dict:
    """The same payload marked as published from the backlog after a reconnect."""
    return {**payload, "resent": True}


def _jt808_fields(pos: Mapping, alarm: int, status: Iterable[str]) -> dict:
    flags = set(status)
    for hemisphere in ("south", "west"):
        if hemisphere in flags:
            raise PayloadError(f"{hemisphere} comes from the position, not the status flags")
        if pos[hemisphere]:
            flags.add(hemisphere)
    if isinstance(alarm, bool) or not isinstance(alarm, int) or not 0 <= alarm <= MAX_DWORD:
        raise PayloadError(f"alarm must be a DWORD bit field, got {alarm!r}")
    return {
        "alarm": alarm, "status": status_bits(flags),
        "latitude": pos["latitude"], "longitude": pos["longitude"], "altitude": pos["altitude"],
        "speed": pos["speed"], "direction": pos["direction"], "time": pos["time"],
    }


# --- builders, one per uplink type ---------------------------------------------

OPERATING_STATES = ("for_hire", "hired", "stopped", "settle", "out_of_service")


def location(*, seq: int, ts_ms: int, pos: Mapping, alarm: int = 0, status: Iterable[str] = (),
             operating: str, mileage_m: int, order_id: str = "0", overspeed: bool = False,
             extra: Mapping | None = None, chain: tuple | None = None) -> dict:
    """A position report (up/location). ``status`` names from STATUS_BITS except south/west."""
    if operating not in OPERATING_STATES:
        raise PayloadError(f"unknown operating state {operating!r}")
    ext = {"mileage": mileage_01km(mileage_m), "operating": operating, "order_id": _order_id(order_id),
           "overspeed": bool(overspeed), **(extra or {})}
    if chain is not None:       # the legal chain's head: the platform's witness of the device's record
        ext["chain"] = chain_head(chain)
    return envelope("location", seq=seq, ts_ms=ts_ms, body={**_jt808_fields(pos, alarm, status), "extra": ext})


ALARM_STAGES = ("pre_alarm", "pressed_again", "confirmed", "periodic", "released")


def alarm(*, seq: int, ts_ms: int, pos: Mapping, alarm: int, status: Iterable[str] = (), alarm_id: str,
          stage: str, pressed_ms: int, mileage_m: int, operating: str) -> dict:
    """An emergency alarm report (up/alarm): every step of the lifecycle in terminal/alarm.py."""
    if stage not in ALARM_STAGES:
        raise PayloadError(f"unknown alarm stage {stage!r}")
    if operating not in OPERATING_STATES:
        raise PayloadError(f"unknown operating state {operating!r}")
    ext = {"mileage": mileage_01km(mileage_m), "operating": operating, "alarm_id": _text(alarm_id, "alarm_id", 32),
           "stage": stage, "pressed_ms": _ms(pressed_ms, "pressed_ms")}
    return envelope("alarm", seq=seq, ts_ms=ts_ms, body={**_jt808_fields(pos, alarm, status), "extra": ext})


TRIP_FIELDS = ("trip_no", "order_id", "tariff_id", "tariff_digest", "utc_offset_min", "board_ms", "alight_ms",
               "end_ms", "distance_m", "empty_m", "waiting_ms", "paused_ms", "price_per_km_fen",
               "waiting_fen_per_unit", "waiting_unit_s", "night", "fare", "fare_fen", "extras", "extras_fen",
               "total_fen", "flags", "digest")


def trip(*, seq: int, ts_ms: int, record: Mapping, board_pos: Mapping, alight_pos: Mapping,
         track: Mapping, discount_fen: int = 0, evaluation: Mapping | None = None,
         witness: Mapping | None = None) -> dict:
    """A closed trip (up/trip): the meter's record unchanged, plus places, track summary, discount.

    ``board_pos``/``alight_pos`` are ``position()`` results; ``track`` is
    {"points": int, "gnss_m": int, "max_speed": 0.1 km/h int, "polyline": [[lat, lon], ...] in 1e-6 deg}.
    """
    missing = [f for f in TRIP_FIELDS if f not in record]
    if missing:
        raise PayloadError(f"trip record lacks {missing}")
    if isinstance(discount_fen, bool) or not isinstance(discount_fen, int) or discount_fen < 0:
        raise PayloadError(f"discount_fen must be a non-negative integer, got {discount_fen!r}")
    fields = TRIP_FIELDS + (("fault",) if "fault" in record else ())   # only on a trip a fault stopped
    body = {"record": {f: record[f] for f in fields},
            "board": _place(board_pos), "alight": _place(alight_pos),
            "track": dict(track), "discount_fen": discount_fen}
    if evaluation is not None:   # the passenger's rating, when it came before the trip closed
        body["evaluation"] = {"id": evaluation["id"], "rating": evaluation["rating"],
                              "extended": evaluation["extended"]}
    if witness is not None:     # the trip bound to its chain record, signed by the device (docs/audit.md)
        body["witness"] = {k: witness[k] for k in ("trip_no", "digest", "chain_counter", "chain_hash", "signature")}
    return envelope("trip", seq=seq, ts_ms=ts_ms, body=body)


def _place(pos: Mapping) -> dict:
    return {"latitude": pos["latitude"], "longitude": pos["longitude"], "south": bool(pos["south"]),
            "west": bool(pos["west"]), "time": pos["time"]}


SHIFT_EVENTS = ("sign_in", "sign_out")


def shift(*, seq: int, ts_ms: int, event: str, shift_id: str, driver_cert: str, at_ms: int,
          totals: Mapping | None = None) -> dict:
    """Driver sign-in / sign-out (up/shift). Sign-out carries the shift totals.

    totals: {"trips", "distance_m", "loaded_m", "empty_m", "waiting_ms", "fares_fen", "extras_fen",
    "total_fen", "started_ms"} (all integers).
    """
    if event not in SHIFT_EVENTS:
        raise PayloadError(f"unknown shift event {event!r}")
    if (event == "sign_out") != (totals is not None):
        raise PayloadError("sign_out carries shift totals and sign_in none")
    body = {"event": event, "shift_id": _text(shift_id, "shift_id", 64),
            "driver_cert": _text(driver_cert, "driver_cert", 32), "at_ms": _ms(at_ms, "at_ms")}
    if totals is not None:
        body["totals"] = dict(totals)
    return envelope("shift", seq=seq, ts_ms=ts_ms, body=body)


def daily(*, seq: int, ts_ms: int, stats: Mapping) -> dict:
    """Daily statistics (up/daily): the body is ``terminal.app.daily.DayBook.close()``'s result."""
    return envelope("daily", seq=seq, ts_ms=ts_ms, body=dict(stats))


def health(*, seq: int, ts_ms: int, software: str, uptime_ms: int, devices: Mapping[str, Mapping],
           outbox_depth: int, dropped_positions: int, alarm: int = 0, downlink: Mapping | None = None,
           chain: tuple | None = None) -> dict:
    """Device health (up/health): software identity, per-device state, outbox figures.

    devices: name -> {"ok": bool, "detail": str}, e.g. {"sign": {"ok": False, "detail": "no answer"}}.
    """
    devs = {}
    for name, state in devices.items():
        if set(state) != {"ok", "detail"}:
            raise PayloadError(f"device {name!r} state must be {{'ok', 'detail'}}, got {sorted(state)}")
        devs[name] = {"ok": bool(state["ok"]), "detail": str(state["detail"])}
    body = {"software": _text(software, "software", 128), "uptime_ms": _ms(uptime_ms, "uptime_ms"),
            "alarm": alarm, "devices": devs, "outbox_depth": _count(outbox_depth, "outbox_depth"),
            "dropped_positions": _count(dropped_positions, "dropped_positions")}
    if downlink is not None:
        body["downlink"] = {k: (dict(v) if isinstance(v, Mapping) else _count(v, k)) for k, v in downlink.items()}
    if chain is not None:
        body["chain"] = chain_head(chain)
    return envelope("health", seq=seq, ts_ms=ts_ms, body=body)


def chain_head(chain: tuple) -> dict:
    """The legal chain's head as reports carry it: {"counter": int, "hash": 64 hex} (docs/audit.md)."""
    counter, head_hash = chain
    if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise PayloadError(f"chain counter must be a non-negative integer, got {counter!r}")
    if not isinstance(head_hash, str) or not _HEX64.fullmatch(head_hash):
        raise PayloadError("chain hash must be 64 lower-case hex digits")
    return {"counter": counter, "hash": head_hash}


RESULT_OK, RESULT_FAILED, RESULT_MALFORMED, RESULT_UNSUPPORTED, RESULT_REFUSED = 0, 1, 2, 3, 4
RESULT_NAMES = {0: "ok", 1: "failed", 2: "malformed", 3: "unsupported", 4: "refused"}


def ack_body(cmd_id: str | None, command: str, result: int, reason: str = "") -> dict:
    """The body of a command acknowledgement, for effects and for ``ack()``; ``cmd_id`` None = unreadable."""
    if result not in RESULT_NAMES:
        raise PayloadError(f"unknown result code {result!r}")
    return {"cmd_id": None if cmd_id is None else str(cmd_id), "command": str(command), "result": result,
            "reason": str(reason)}


def ack(*, seq: int, ts_ms: int, cmd_id: str | None, command: str, result: int, reason: str = "") -> dict:
    """A command acknowledgement (up/ack): result 0 ok, 1 failed, 2 malformed, 3 unsupported, 4 refused."""
    return envelope("ack", seq=seq, ts_ms=ts_ms, body=ack_body(cmd_id, command, result, reason))


ORDER_EVENTS = ("accepted", "rejected", "timeout", "cancelled", "boarded", "completed")


def order(*, seq: int, ts_ms: int, order_id: str, event: str, reason: str = "", pos: Mapping | None = None,
          trip_no: int | None = None, total_fen: int | None = None) -> dict:
    """An on-call order step (up/order): the driver's answer, boarding, completion, a cancel."""
    if event not in ORDER_EVENTS:
        raise PayloadError(f"unknown order event {event!r}")
    body: dict = {"order_id": _order_id(order_id), "event": event, "reason": str(reason)}
    if pos is not None:
        body["place"] = _place(pos)
    if trip_no is not None:
        body["trip_no"] = _count(trip_no, "trip_no")
    if total_fen is not None:
        body["total_fen"] = _count(total_fen, "total_fen")
    return envelope("order", seq=seq, ts_ms=ts_ms, body=body)


def notice_ack(*, seq: int, ts_ms: int, notice_id: str, read_ms: int) -> dict:
    """The driver has seen a text notice (up/notice_ack)."""
    return envelope("notice_ack", seq=seq, ts_ms=ts_ms,
                    body={"notice_id": _text(notice_id, "notice_id", 64), "read_ms": _ms(read_ms, "read_ms")})


def audit(*, seq: int, ts_ms: int, counter: int, what: str, detail: Mapping, who: str) -> dict:
    """One audit-trail entry mirrored to the platform (up/audit)."""
    return envelope("audit", seq=seq, ts_ms=ts_ms,
                    body={"counter": _count(counter, "counter"), "what": _text(what, "what", 64),
                          "detail": dict(detail), "who": _text(who, "who", 64)})


def status(*, online: bool, ts_ms: int, software: str = "", terminal_id: str = "") -> dict:
    """The retained ``{prefix}/{tid}/status`` payload; the last will is ``{"online": false}``."""
    if not online:
        return {"online": False}
    return {"online": True, "ts": _ms(ts_ms, "ts"), "software": str(software), "terminal_id": str(terminal_id)}


LAST_WILL = {"online": False}


# --- small checks ------------------------------------------------------------------

def _order_id(value: str) -> str:
    return _text(value, "order_id", 32)


def _text(value: str, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise PayloadError(f"{what} must be a non-empty string of at most {max_len} characters, got {value!r}")
    return value


def _ms(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"{what} must be non-negative integer ms, got {value!r}")
    return value


def _count(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"{what} must be a non-negative integer, got {value!r}")
    return value
