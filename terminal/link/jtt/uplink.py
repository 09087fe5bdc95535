"""Platform-link room, JT/T links: our stored uplink messages (docs/mqtt.md) as JT/T 808 / 905 bodies.

Pure: a stored message (the outbox's JSON) in, ``[(msg_id, body), ...]`` out, or an
empty list when the protocol cannot carry that kind (docs/jtt-mapping.md lists what
is lost). The vehicle's fixed texts (plate, business licence) come in ``Vehicle``.

JT/T 808 (2013 / 2019)
    location -> 0x0200 (live) or an item of 0x0704 type 1 (blind-area backlog, resent)
    alarm    -> 0x0200 with the alarm bits, always sent on its own, at once
    trip, shift, order, daily -> 0x0900 transparent data, type ``TAXI_DATA`` (0xF0):
             our JSON message, UTF-8, unchanged (JT/T 808 has no taxi messages)
JT/T 905 (taxi)
    location -> 0x0200 (live) or an item of 0x0203 (supplement, backlog)
    alarm    -> 0x0200 with the 905 alarm bits
    trip     -> 0x0B05 operation data with the meter record
    shift    -> 0x0B03 sign-in / 0x0B04 sign-out
    order    -> 0x0B01 grab (accepted), 0x0B07 completed, 0x0B08 driver cancel
"""

from __future__ import annotations

import base64
import json

from terminal.link.jtt import fields as f

TAXI_DATA = 0xF0          # 0x0900 transparent data type: our JSON message
# Taxi items in the 808 user-defined range 0xE1-0xFF (documented in docs/jtt-mapping.md).
ITEM_TAXI_STATE, ITEM_ORDER_ID, ITEM_ALARM_ID = 0xE1, 0xE2, 0xE3
TAXI_OCCUPIED, TAXI_TOP_LIGHT_FAULT, TAXI_ON_CALL, TAXI_PRE_ALARM = 1, 2, 4, 8

# Our alarm names (terminal.link.payloads.ALARM_BITS) -> the protocols' bits. JT/T 808 has no
# pre-alarm: the hidden button's alarm is its emergency alarm (bit 0), which the platform
# confirms with 0x8203; the taxi item 0xE1 tells the pre-alarm stage apart.
OUR_ALARMS = {"emergency": 0, "pre_alarm": 1, "fatigue": 2, "gnss_fault": 4, "antenna_open": 5,
              "antenna_short": 6, "undervoltage": 7, "power_lost": 8, "meter_fault": 10, "sign_fault": 15}
OUR_STATUS = {"acc_on": 0, "positioned": 1, "south": 2, "west": 3, "out_of_service": 4, "occupied": 9}
ALARM_808 = {"emergency": 0, "overspeed": 1, "fatigue": 2, "pre_alarm": 0, "gnss_fault": 4, "antenna_open": 5,
             "antenna_short": 6, "undervoltage": 7, "power_lost": 8, "meter_fault": 24}
ALARM_905 = {"emergency": 0, "pre_alarm": 1, "gnss_fault": 2, "antenna_open": 3, "antenna_short": 4,
             "undervoltage": 5, "power_lost": 6, "meter_fault": 10, "sign_fault": 15, "overspeed": 16,
             "fatigue": 17}
STATUS_808 = {"acc_on": (0,), "positioned": (1,), "south": (2,), "west": (3,), "out_of_service": (4,),
              "occupied": (8, 9)}          # bits 8-9 "11": fully loaded
STATUS_905 = {"south": 1, "west": 2, "out_of_service": 3, "reservation": 4, "acc_on": 8, "occupied": 9}


class Vehicle:
    """The fixed texts 905 messages carry (plate, business licence, driver certificate)."""

    def __init__(self, plate: str = "", business_license: str = "", driver_cert: str = "") -> None:
        self.plate, self.business_license, self.driver_cert = plate, business_license, driver_cert


def _names(field: int, table: dict) -> set:
    return {name for name, bit in table.items() if field >> bit & 1}


def _bits(names, table: dict) -> int:
    value = 0
    for name in names:
        bits = table.get(name)
        if bits is None:
            continue
        for bit in bits if isinstance(bits, tuple) else (bits,):
            value |= 1 << bit
    return value


def _fit(text: str, size: int) -> str:
    """The longest tail of ``text`` that fits ``size`` GBK bytes (a plate without its province)."""
    text = str(text or "")
    while len(text.encode("gb18030")) > size:
        text = text[1:]
    return text


def _bcd(value: int, digits: int) -> str:
    return str(min(max(int(value), 0), 10 ** digits - 1)).zfill(digits)


# --- locations -----------------------------------------------------------------------------------

def _flags(message: dict) -> tuple[set, set]:
    extra = message.get("extra") or {}
    alarms = _names(int(message.get("alarm", 0)), OUR_ALARMS)
    status = _names(int(message.get("status", 0)), OUR_STATUS)
    if extra.get("overspeed"):
        alarms.add("overspeed")
    if extra.get("operating") == "out_of_service":
        status.add("out_of_service")
    if str(extra.get("order_id", "0")) not in ("", "0") and "occupied" not in status:
        status.add("reservation")
    return alarms, status


def location_808(message: dict) -> dict:
    """The 0x0200 body (also a 0x0704 item) of a stored location or alarm."""
    alarms, status = _flags(message)
    extra = message.get("extra") or {}
    items: dict = {}
    if "mileage" in extra:
        items["mileage"] = int(extra["mileage"])
    for ours, theirs in (("pulse_speed", "speed"), ("rssi", "rssi"), ("satellites", "gnss_sat_num")):
        if extra.get(ours) is not None:
            items[theirs] = int(extra[ours])
    taxi = ((TAXI_OCCUPIED if "occupied" in status else 0) | (TAXI_TOP_LIGHT_FAULT if "sign_fault" in alarms else 0)
            | (TAXI_ON_CALL if "reservation" in status else 0) | (TAXI_PRE_ALARM if "pre_alarm" in alarms else 0))
    custom = {str(ITEM_TAXI_STATE): base64.b64encode(bytes([taxi])).decode()}
    if "reservation" in status or "occupied" in status and str(extra.get("order_id", "0")) != "0":
        custom[str(ITEM_ORDER_ID)] = base64.b64encode(str(extra["order_id"]).encode("gb18030")).decode()
    if extra.get("alarm_id"):
        custom[str(ITEM_ALARM_ID)] = base64.b64encode(str(extra["alarm_id"]).encode("gb18030")).decode()
    items["custome"] = custom
    return {"alarm": _bits(alarms, ALARM_808), "status": _bits(status, STATUS_808),
            "latitude": int(message["latitude"]), "longitude": int(message["longitude"]),
            "altitude": max(0, min(int(message.get("altitude", 0)), 0xFFFF)),
            "speed": int(message.get("speed", 0)), "direction": int(message.get("direction", 0)) % 360,
            "time": message["time"], "extra": items}


def _position_905(latitude: int, longitude: int, time: str, *, alarm: int = 0, status: int = 0,
                  speed: int = 0, direction: int = 0) -> dict:
    return {"alarm": alarm, "status": status, "latitude": f.e6_to_905(int(latitude)),
            "longitude": f.e6_to_905(int(longitude)), "speed": int(speed),
            "direction": f.direction_to_905(int(direction) % 360), "time": time}


def location_905(message: dict) -> dict:
    """The 25-byte 905 location (0x0200 body, 0x0203 item) of a stored location or alarm."""
    alarms, status = _flags(message)
    bits = _bits(status, STATUS_905)
    if "positioned" not in status:
        bits |= 1          # 905 bit 0: NOT positioned
    return _position_905(message["latitude"], message["longitude"], message["time"],
                         alarm=_bits(alarms, ALARM_905), status=bits, speed=message.get("speed", 0),
                         direction=message.get("direction", 0))


def _place_905(place: dict | None, at_ms: int, status: int = 0) -> dict:
    if not place:
        return _position_905(0, 0, f.bcd_time(at_ms), status=status | 1)
    bits = status | (2 if place.get("south") else 0) | (4 if place.get("west") else 0)
    return _position_905(place["latitude"], place["longitude"], place["time"], status=bits)


# --- everything else ---------------------------------------------------------------------------------

def _transparent(message: dict) -> list:
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return [(0x0900, {"type": TAXI_DATA, "data": base64.b64encode(data).decode()})]


def to_808(message: dict, vehicle: Vehicle | None = None) -> list:
    kind = message.get("type")
    if kind in ("location", "alarm"):
        return [(0x0200, location_808(message))]
    if kind in ("trip", "shift", "order", "daily"):
        return _transparent(message)
    return []


def _hhmm(ms: int) -> str:
    minutes = max(0, int(ms)) // 60_000
    return f"{min(minutes // 60, 99):02d}{minutes % 60:02d}"


def _yyyymmddhhmm(epoch_ms: int) -> str:
    t = f.bcd_time(epoch_ms)            # YYMMDDhhmmss, GMT+8
    return "20" + t[:10]


def trip_905(message: dict, vehicle: Vehicle) -> dict:
    record = message["record"]
    order = str(record.get("order_id") or "0")
    board_time = message["board"]["time"] if message.get("board") else f.bcd_time(record["board_ms"])
    alight_time = message["alight"]["time"] if message.get("alight") else f.bcd_time(record["alight_ms"])
    meter = {
        "license_number": _fit(vehicle.plate, 6), "business_license": _fit(vehicle.business_license, 16),
        "certificate": _fit(vehicle.driver_cert, 19),
        "boarding_time": board_time[:10], "alighting_time": alight_time[6:10],
        "distance": _bcd(record["distance_m"] // 100, 6), "empty_distance": _bcd(record["empty_m"] // 100, 4),
        "surcharge": _bcd(record["extras_fen"] // 10, 6), "waiting_time": _hhmm(record["waiting_ms"]),
        "fare": _bcd(record["total_fen"] // 10, 6), "trip_no": int(record["trip_no"]), "trade_type": 0,
    }
    return {"boarding": _place_905(message.get("board"), record["board_ms"], 1 << 5 | 1 << 9),
            "alighting": _place_905(message.get("alight"), record["alight_ms"], 1 << 6),
            "operation_id": int(record["trip_no"]), "evaluation_id": 0, "evaluation": 0, "evaluation_ext": 0,
            "order_id": int(order) if order.isdigit() and int(order) <= 0xFFFFFFFF else 0, "meter": meter}


def shift_905(message: dict, vehicle: Vehicle) -> tuple:
    at = int(message["at_ms"])
    common = {"location": _place_905(None, at), "business_license": _fit(vehicle.business_license, 16),
              "certificate": _fit(message.get("driver_cert") or vehicle.driver_cert, 19),
              "license_number": _fit(vehicle.plate, 6)}
    if message.get("event") == "sign_in":
        return 0x0B03, {**common, "power_on": _yyyymmddhhmm(at)}
    totals = message.get("totals") or {}
    started = int(totals.get("started_ms", at))
    seconds = max(0, at - started) // 1000
    return 0x0B04, {**common, "k_value": "0000", "power_on": _yyyymmddhhmm(started), "power_off": _yyyymmddhhmm(at),
                    "shift_mileage": _bcd(totals.get("distance_m", 0) // 100, 6),
                    "shift_operating_mileage": _bcd(totals.get("loaded_m", 0) // 100, 6),
                    "trips": _bcd(totals.get("trips", 0), 4),
                    "timing": f"{min(seconds // 3600, 99):02d}{seconds // 60 % 60:02d}{seconds % 60:02d}",
                    "total_amount": _bcd(totals.get("total_fen", 0) // 10, 6), "card_amount": "000000",
                    "card_trips": "0000", "between_shift_mileage": "0000", "total_mileage": "00000000",
                    "total_operating_mileage": "00000000", "unit_price": "0000",
                    "total_operations": int(totals.get("trips", 0)), "sign_out_type": 0}


ORDER_905 = {"accepted": 0x0B01, "completed": 0x0B07, "cancelled": 0x0B08}


def order_905(message: dict) -> list:
    msg_id = ORDER_905.get(message.get("event"))
    order = str(message.get("order_id", ""))
    if msg_id == 0x0B08 and str(message.get("reason", "")).startswith("centre"):
        return []     # the centre cancelled it (0x8B09, answered by 0x0001): not a driver's 0x0B08
    if msg_id is None or not order.isdigit() or int(order) > 0xFFFFFFFF:
        return []
    body = {"order_id": int(order)}
    if msg_id == 0x0B08:
        body["reason"] = 0
    return [(msg_id, body)]


def to_905(message: dict, vehicle: Vehicle | None = None) -> list:
    vehicle = vehicle or Vehicle()
    kind = message.get("type")
    if kind in ("location", "alarm"):
        return [(0x0200, location_905(message))]
    if kind == "trip":
        return [(0x0B05, trip_905(message, vehicle))]
    if kind == "shift":
        return [shift_905(message, vehicle)]
    if kind == "order":
        return order_905(message)
    return []


def batch(protocol: str, items: list[dict]) -> tuple:
    """The blind-area message for backlog location bodies: 808 0x0704 type 1, 905 0x0203."""
    if protocol == "jt905":
        return 0x0203, {"location": items}
    return 0x0704, {"type": 1, "location": items}


BATCH_MAX = {"jt808": 20, "jt905": 40}   # items per batch message: under 1,023 body bytes
