"""Platform-link room, JT/T codec: JT/T 905 (taxi) message bodies as tables.

The JT/T 905.4 text was not available to us; the layouts follow the published open
implementation SmallChi/JT905 (C#, MIT; files ``MessageBody/JT905_0x....cs`` and
``SerialPort/Taximeter/Taximeter_0x00E8_Up.cs``) and the frames in its tests. Every
layout is a table: correct it here if a platform or the standard says otherwise.
JSON keys reuse the EMQX JT/T 808 names where the meaning is the same.
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt import layout as lay
from terminal.link.jtt.errors import EncodeError
from terminal.link.jtt.tlv import Counted, Param

# The 25-byte location of JT/T 905: coordinates in 1/10,000 minute (degrees x 600,000),
# speed in 1/10 km/h, direction one byte in 2-degree steps (0-179), time BCD GMT+8.
LOCATION_BASE = (
    ("alarm", "dword"), ("status", "dword"),
    ("latitude", "dword"), ("longitude", "dword"),
    ("speed", "word"), ("direction", "byte"),
    ("time", "bcd", 6),
)
LOCATION_SIZE = 25


class Location(lay.Part):
    """0x0200 body: the 25 bytes, then any additional items kept raw (``extra``: id -> base64)."""

    def decode(self, reader):
        body = lay.decode(LOCATION_BASE, reader)
        if reader.remaining():
            extra = {}
            while reader.remaining():
                item_id, size = reader.byte(), reader.byte()
                extra[str(item_id)] = f.b64_decode_field(reader.take(size))
            body["extra"] = extra
        return body

    def encode(self, value, name):
        raw = lay.encode(LOCATION_BASE, value, name)
        for key, data in (value.get("extra") or {}).items():
            item = f.b64_encode_field(data, f"{name}.extra.{key}")
            valid = isinstance(key, str) and key.isascii() and key.isdigit() and int(key) <= 255
            if not valid or len(item) > 255:
                raise EncodeError(f"{name}.extra.{key}: decimal id 0-255 and at most 255 bytes")
            raw += bytes((int(key), len(item))) + item
        return raw


class Inline(lay.Merge):
    def __init__(self, part):
        self.part = part

    def decode(self, reader):
        return self.part.decode(reader)

    def encode(self, body, name):
        return self.part.encode(body, name)


POSITION = lay.Sub(LOCATION_BASE)  # the fixed 25 bytes embedded in other messages

# Meter operation record appended to 0x0B05: the taximeter's own "after each trip"
# record (JT/T 905.2 serial message 0x00E8), as SmallChi/JT905 reads it. BCD money is
# in 1/10 yuan, BCD distances in 1/10 km, times hhmm.
METER_RECORD = (
    ("license_number", "str", 6), ("business_license", "str", 16), ("certificate", "str", 19),
    ("boarding_time", "bcd", 5),      # YYMMDDhhmm
    ("alighting_time", "bcd", 2),     # hhmm
    ("distance", "bcd", 3),           # 1/10 km
    ("empty_distance", "bcd", 2),     # 1/10 km
    ("surcharge", "bcd", 3),          # 1/10 yuan
    ("waiting_time", "bcd", 2),       # hhmm
    ("fare", "bcd", 3),               # 1/10 yuan
    ("trip_no", "dword"),
    ("trade_type", "byte"),           # 0 cash, 1 M1 card, 3 CPU card, 9 other
    ("card_data", "b64opt"),
)
METER_FIXED = 6 + 16 + 19 + 5 + 2 + 3 + 2 + 3 + 2 + 3 + 4 + 1


class MeterRecord(lay.Merge):
    """The trailing meter record of 0x0B05: parsed if complete, else kept as ``meter_raw``."""

    def decode(self, reader):
        if reader.remaining() >= METER_FIXED:
            return {"meter": lay.decode(METER_RECORD, reader)}
        raw = reader.rest()
        return {"meter_raw": f.b64_decode_field(raw)} if raw else {}

    def encode(self, body, name):
        if "meter" in body:
            return lay.encode(METER_RECORD, body["meter"], f"{name}.meter")
        if "meter_raw" in body:
            return f.b64_encode_field(body["meter_raw"], f"{name}.meter_raw")
        return b""


# Parameter ids and value types as SmallChi/JT905 (JT905Constants, MessageBody/JT905_0x8103_0x....cs);
# unlike 808, 905 has its own ids for the vacant / occupied intervals (0x0025 / 0x0026).
D, S = "dword", "str"
PARAM_TYPES = {
    0x0001: D,  # ISU heartbeat interval, s
    0x0002: D, 0x0003: D, 0x0004: D, 0x0005: D,  # TCP / SMS reply timeout, s, and retransmissions
    0x0010: S, 0x0011: S, 0x0012: S, 0x0013: S,  # APN, user, password, main server address
    0x0014: S, 0x0015: S, 0x0016: S, 0x0017: S,  # backup
    0x0018: D, 0x0019: D,  # main / backup server TCP port
    0x001A: S, 0x001B: D, 0x001C: S, 0x001D: D,  # card / payment platform server and port, main and backup
    0x0020: D,  # report strategy: 0 time, 1 distance, 2 both
    0x0021: D,  # report scheme: 0 ACC, 1 vacant/occupied, 2 login + ACC, 3 login + vacant/occupied
    0x0022: D, 0x0023: D, 0x0024: D,  # interval not logged in, ACC off, ACC on, s
    0x0025: D, 0x0026: D,  # interval vacant, occupied, s
    0x0027: D, 0x0028: D,  # interval sleeping, emergency alarm, s
    0x0029: D, 0x002A: D, 0x002B: D, 0x002C: D, 0x002D: D, 0x002E: D, 0x002F: D,  # the same as distances, m
    0x0030: D,  # turn angle for a corner report, degrees
    0x0040: S, 0x0041: S, 0x0042: S, 0x0043: S, 0x0044: S,  # centre, reset, factory reset, SMS, alarm SMS phones
    0x0045: D, 0x0046: D, 0x0047: D,  # call answering strategy, longest call, longest calls per month, s
    0x0049: S,  # listen-in phone
    0x0050: D, 0x0051: D, 0x0052: D, 0x0053: D,  # alarm mask, SMS, photo, photo storage switches
    0x0055: D,  # maximum speed, km/h
    0x0056: D,  # overspeed duration, s
    0x0057: D, 0x0058: D, 0x0059: D, 0x005A: D,  # continuous driving, rest, parking, daily driving, s
    0x0080: D, 0x0081: D, 0x0082: D,  # odometer 1/10 km, province, city
    0x0090: S, 0x0091: S, 0x0094: S,  # as SmallChi's test frame carries them (operation limits, plate)
    0x0092: S, 0x0093: S,  # company operating licence, company short name
}
PARAM = Param(PARAM_TYPES, 2)


class ParamIds(lay.Merge):
    """0x8104 (SmallChi JT905_0x8104): parameter ids (WORD) up to the end of the body, no count.
    ``{"ids": []}`` (an empty body) asks for every parameter."""

    def decode(self, reader):
        ids = []
        while reader.remaining():
            ids.append(reader.word())
        return {"ids": ids}

    def encode(self, body, name):
        ids = body.get("ids") or []
        if not isinstance(ids, list):
            raise EncodeError(f"{name}.ids: list expected")
        return b"".join(f.uint(i, 2, f"{name}.ids[{n}]") for n, i in enumerate(ids))


class Tracking(lay.Merge):
    """0x8202 (SmallChi JT905_0x8202): control BYTE (0x00 time interval and duration, 0x11 distance
    interval and distance, 0x01 time interval and distance, 0x10 distance interval and duration, 0xFF
    stop), interval WORD (s or m), duration or distance DWORD (s or m). Encode takes a missing
    ``control`` as 0x00, the 808 meaning of ``period`` and ``expiry``."""

    layout = (("control", "byte"), ("period", "word"), ("expiry", "dword"))

    def decode(self, reader):
        return lay.decode(self.layout, reader)

    def encode(self, body, name):
        return lay.encode(self.layout, body if "control" in body else dict(body, control=0), name)


GENERAL_REPLY = (("seq", "word"), ("id", "word"), ("result", "byte"))
ORDER = (("order_id", "dword"),)
EMPTY: tuple = ()

MESSAGES = {
    0x0001: ("ISU general reply", GENERAL_REPLY),
    0x8001: ("centre general reply", GENERAL_REPLY),
    0x0002: ("heartbeat", EMPTY),
    0x0200: ("location report", ((None, Inline(Location())),)),
    0x0203: ("location supplement (blind area)", (("location", lay.Rest(POSITION)),)),
    0x8201: ("location query", EMPTY),
    0x0201: ("location query reply", (("seq", "word"), ("params", Location()))),
    0x8202: ("tracking control", ((None, Tracking()),)),
    0x8103: ("set parameters", ((None, Counted("length", "params", "byte", PARAM)),)),
    0x8104: ("query parameters", ((None, ParamIds()),)),
    0x0104: ("parameters reply", (("seq", "word"), ("params", lay.Rest(PARAM)))),  # no count (SmallChi)
    0x8300: ("text notice", (("flag", "byte"), ("text", "strz"))),
    0x0B03: ("driver sign-in", (
        ("location", POSITION), ("business_license", "str", 16), ("certificate", "str", 19),
        ("license_number", "str", 6), ("power_on", "bcd", 6),  # YYYYMMDDhhmm
        ("ext", "b64opt"))),
    0x0B04: ("driver sign-out", (
        ("location", POSITION), ("business_license", "str", 16), ("certificate", "str", 19),
        ("license_number", "str", 6), ("k_value", "bcd", 2),
        ("power_on", "bcd", 6), ("power_off", "bcd", 6),  # YYYYMMDDhhmm
        ("shift_mileage", "bcd", 3), ("shift_operating_mileage", "bcd", 3),  # 1/10 km
        ("trips", "bcd", 2), ("timing", "bcd", 3),  # count; hhmmss
        ("total_amount", "bcd", 3), ("card_amount", "bcd", 3), ("card_trips", "bcd", 2),  # 1/10 yuan
        ("between_shift_mileage", "bcd", 2),  # 1/10 km
        ("total_mileage", "bcd", 4), ("total_operating_mileage", "bcd", 4),  # 1/10 km
        ("unit_price", "bcd", 2),  # 1/100 yuan per km
        ("total_operations", "dword"), ("sign_out_type", "byte"),
        ("ext", "b64opt"))),
    0x0B05: ("operation data", (
        ("boarding", POSITION), ("alighting", POSITION),  # vacant->occupied, occupied->vacant
        ("operation_id", "dword"), ("evaluation_id", "dword"),
        ("evaluation", "byte"), ("evaluation_ext", "word"),
        ("order_id", "dword"),  # on-call order id, 0 for a street hail
        (None, MeterRecord()))),
    0x8B00: ("order dispatch", (
        ("order_id", "dword"), ("type", "byte"),  # 0 immediate, 1 reservation, 2 assignment
        ("time", "bcd", 6), ("description", "strz"))),
    0x0B01: ("driver grabs order", ORDER),
    0x8B01: ("order assigned (grab result)", (
        ("order_id", "dword"), ("type", "byte"), ("time", "bcd", 6),
        ("passenger_longitude", "dword"), ("passenger_latitude", "dword"),  # 1/10,000 minute
        ("destination_longitude", "dword"), ("destination_latitude", "dword"),
        ("fee", "bcd", 2),  # on-call service fee, 1/10 yuan
        ("passenger_phone", "strz"), ("description", "strz"))),
    0x0B07: ("order completed", ORDER),
    0x0B08: ("driver cancels order", (("order_id", "dword"), ("reason", "byte"))),
    0x8B09: ("centre cancels order", ORDER),
    0x8B0A: ("centre confirms alarm", EMPTY),
    0x8B0B: ("centre releases alarm", EMPTY),
}

# Alarm bits (JT/T 905 0x0200), as SmallChi/JT905's JT905Alarm enum.
ALARM_BITS = {
    "emergency": 0, "pre_alarm": 1, "gnss_fault": 2, "antenna_open": 3, "antenna_short": 4,
    "undervoltage": 5, "power_lost": 6, "lcd_isu_fault": 7, "tts_fault": 8, "camera_fault": 9,
    "meter_fault": 10, "evaluator_fault": 11, "led_ad_fault": 12, "lcd_fault": 13,
    "top_light_fault": 15, "overspeed": 16, "continuous_driving": 17, "daily_driving": 18,
    "parking_overtime": 19, "area_route": 20, "route_time": 21, "forbidden_road": 22,
    "speed_sensor_fault": 23, "illegal_ignition": 24, "illegal_move": 25, "storage_fault": 26,
    "recorder_fault": 27, "meter_clock_error": 28,
}
# Status bits, as SmallChi/JT905's JT905Status enum (note bit 0 means NOT positioned).
STATUS_BITS = {
    "not_positioned": 0, "south": 1, "west": 2, "out_of_service": 3, "reservation": 4,
    "vacant_to_occupied": 5, "occupied_to_vacant": 6, "acc_on": 8, "occupied": 9,
    "oil_cut": 10, "circuit_cut": 11, "doors_locked": 12, "vehicle_locked": 13, "operation_limit": 14,
}
# 0x0B08 cancel reasons (SmallChi JT905CancellationReasons): see docs/jtt.md.


def layout_for(msg_id: int):
    entry = MESSAGES.get(msg_id)
    return None if entry is None else entry[1]
