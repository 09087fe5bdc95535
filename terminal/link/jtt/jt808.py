"""Platform-link room, JT/T codec: JT/T 808-2013 / 2019 message bodies as tables.

JSON keys follow EMQX's JT/T 808 gateway data-exchange documentation (see
docs/jtt.md for where we deviate and why). ``MESSAGES`` maps a message id to
``(name, layout_2013, layout_2019)``; ``None`` for 2019 means "same as 2013". To
correct a field, edit the tuple; the kinds are described in ``layout.py``.
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt import layout as lay
from terminal.link.jtt.errors import EncodeError
from terminal.link.jtt.tlv import Bits, Counted, Extras, Overspeed, Param

# --- location (0x0200 and everything that embeds it) ---------------------------------

SIGNAL_BITS = ("low_beam", "high_beam", "right_turn", "left_turn", "brake", "reverse", "fog",
               "side_marker", "horn", "air_conditioner", "neutral", "retarder", "abs", "heater",
               "cluth")  # sic: EMQX's spelling

EXTRA_ITEMS = {
    0x01: ("mileage", "dword"),        # 1/10 km
    0x02: ("fuel_meter", "word"),      # 1/10 L
    0x03: ("speed", "word"),           # 1/10 km/h, from the driving recorder (pulse sensor)
    0x04: ("alarm_id", "word"),        # id of an alarm event needing manual confirmation
    0x05: ("tire_pressure", "b64"),    # 2019
    0x06: ("carriage_temp", "int16"),  # 2019, degrees C
    0x11: ("overspeed_alarm", Overspeed()),
    0x12: ("in_out_alarm", lay.Sub((("type", "byte"), ("id", "dword"), ("direction", "byte")))),
    0x13: ("path_time_alarm", lay.Sub((("id", "dword"), ("time", "word"), ("result", "byte")))),
    0x25: ("signal", Bits(4, SIGNAL_BITS)),
    0x2A: ("io_status", Bits(2, ("deep_sleep", "sleep"))),
    0x2B: ("analog", lay.Sub((("ad1", "word"), ("ad0", "word")))),  # bits 16-31 AD1, 0-15 AD0
    0x30: ("rssi", "byte"),
    0x31: ("gnss_sat_num", "byte"),
}
# JT/T 808-2013 reserves 0x05-0x10: in a 2013 frame 0x05 / 0x06 are kept raw under their ids.
EXTRA_ITEMS_2013 = {item: entry for item, entry in EXTRA_ITEMS.items() if item not in (0x05, 0x06)}

LOCATION_BASE = (
    ("alarm", "dword"), ("status", "dword"),
    ("latitude", "dword"), ("longitude", "dword"),  # 1e-6 degree
    ("altitude", "word"),                           # metre
    ("speed", "word"),                              # 1/10 km/h
    ("direction", "word"),                          # 0-359, north 0, clockwise
    ("time", "bcd", 6),                             # YYMMDDhhmmss, GMT+8
)


class Location(lay.Part):
    """The 0x0200 body: 28 fixed bytes, then additional items as ``extra`` (if any)."""

    def __init__(self, items: dict):
        self.extras = Extras(items, range(0xE1, 0x100))

    def decode(self, reader):
        body = lay.decode(LOCATION_BASE, reader)
        if reader.remaining():
            body["extra"] = self.extras.decode(reader)
        return body

    def encode(self, value, name):
        raw = lay.encode(LOCATION_BASE, value, name)
        if value.get("extra"):
            raw += self.extras.encode(value["extra"], f"{name}.extra")
        return raw


class Inline(lay.Merge):
    """A Part whose dict is merged into the body (the 0x0200 body is a location)."""

    def __init__(self, part: lay.Part):
        self.part = part

    def decode(self, reader):
        return self.part.decode(reader)

    def encode(self, body, name):
        return self.part.encode(body, name)


LOCATION = Location(EXTRA_ITEMS_2013)
LOCATION_2019 = Location(EXTRA_ITEMS)


class BatchLocation(lay.Merge):
    """0x0704: count WORD, type BYTE (0 normal, 1 blind-area resend), items WORD length + location."""

    def __init__(self, location: Location):
        self.item = lay.Sized(location, "word")

    def decode(self, reader):
        count, kind = reader.word(), reader.byte()
        return {"length": count, "type": kind, "location": [self.item.decode(reader) for _ in range(count)]}

    def encode(self, body, name):
        items = body.get("location")
        if not isinstance(items, list):
            raise EncodeError(f"{name}.location: list expected")
        out = bytearray(f.uint(len(items), 2, f"{name}.length"))
        out += f.uint(body.get("type", 0), 1, f"{name}.type")
        for i, item in enumerate(items):
            out += self.item.encode(item, f"{name}.location[{i}]")
        return bytes(out)


class Auth2019(lay.Merge):
    """0x0102 (2019): BYTE code length, code, IMEI BYTE[15], software version BYTE[20]."""

    def decode(self, reader):
        size = reader.byte()
        code = f.text_decode(reader.take(size))
        imei = f.fixed_text_decode(reader.take(15))
        version = f.fixed_text_decode(reader.take(20))
        return {"code_len": size, "code": code, "imei": imei, "sw_version": version}

    def encode(self, body, name):
        if "code" not in body:
            raise EncodeError(f"{name}.code is missing")
        code = f.text_encode(body["code"], f"{name}.code")
        if len(code) > 255:
            raise EncodeError(f"{name}.code: at most 255 bytes")
        version = body.get("sw_version", body.get("software_version", ""))
        return (bytes((len(code),)) + code + f.fixed_text_encode(body.get("imei", ""), 15, f"{name}.imei")
                + f.fixed_text_encode(version, 20, f"{name}.sw_version"))


REGISTRATION_TAIL = (("color", "byte"), ("license_number", "text"))
REGISTRATION_2011 = (("province", "word"), ("city", "word"), ("manufacture", "str", 5), ("model", "str", 8),
                     ("dev_id", "str", 7)) + REGISTRATION_TAIL
REGISTRATION_2013 = (("province", "word"), ("city", "word"), ("manufacture", "str", 5), ("model", "str", 20),
                     ("dev_id", "str", 7)) + REGISTRATION_TAIL
REGISTRATION_2019 = (("province", "word"), ("city", "word"), ("manufacture", "str", 11), ("model", "str", 30),
                     ("dev_id", "str", 30)) + REGISTRATION_TAIL
MIN_2013_REGISTRATION = 37  # 2 + 2 + 5 + 20 + 7 + 1, empty plate


class Registration(lay.Merge):
    """0x0100 under a 2013 header: the 2013 layout, or the JT/T 808-2011 one (terminal model BYTE[8])
    when the body is too short for 2013, as SmallChi/JT808 and go-jt808 read it. The 2011 reading is
    marked ``"version": 2011`` so that encode writes the same widths back."""

    def decode(self, reader):
        if reader.remaining() >= MIN_2013_REGISTRATION:
            return lay.decode(REGISTRATION_2013, reader)
        return dict(lay.decode(REGISTRATION_2011, reader), version=2011)

    def encode(self, body, name):
        return lay.encode(REGISTRATION_2011 if body.get("version") == 2011 else REGISTRATION_2013, body, name)


# --- terminal parameters (0x8103 / 0x0104) ---------------------------------------------

D, W, B, S = "dword", "word", "byte", "str"
PARAM_TYPES = {
    0x0001: D,  # heartbeat interval, s
    0x0002: D, 0x0003: D, 0x0004: D, 0x0005: D, 0x0006: D, 0x0007: D,  # TCP/UDP/SMS timeouts, retries
    0x0010: S, 0x0011: S, 0x0012: S,  # APN, user, password
    0x0013: S,  # main server address (IP or domain; 2019: "host:port" allowed)
    0x0014: S, 0x0015: S, 0x0016: S, 0x0017: S,  # backup APN, user, password, server address
    0x0018: D, 0x0019: D,  # server TCP / UDP port
    0x001A: S, 0x001B: D, 0x001C: D, 0x001D: S,  # IC card auth server
    0x0020: D,  # report strategy: 0 time, 1 distance, 2 both
    0x0021: D,  # report scheme: 0 by ACC, 1 by login and ACC
    0x0022: D,  # interval when the driver is not logged in, s
    0x0023: S, 0x0024: S, 0x0025: S, 0x0026: S,  # 2019: slave server APN, user, password, backup address
    0x0027: D,  # interval while sleeping, s
    0x0028: D,  # interval during an emergency alarm, s
    0x0029: D,  # default interval, s
    0x002C: D, 0x002D: D, 0x002E: D, 0x002F: D,  # distance intervals, m
    0x0030: D,  # turn angle for a corner report, degrees
    0x0031: W,  # electronic fence radius, m
    0x0040: S, 0x0041: S, 0x0042: S, 0x0043: S, 0x0044: S,  # monitoring platform, reset, ... phones
    0x0045: D, 0x0046: D, 0x0047: D,  # call answering strategy, max call time
    0x0048: S, 0x0049: S,  # listen-in phone, privileged SMS phone
    0x0050: D, 0x0051: D, 0x0052: D, 0x0053: D, 0x0054: D,  # alarm masks
    0x0055: D,  # maximum speed, km/h
    0x0056: D,  # overspeed duration, s
    0x0057: D, 0x0058: D, 0x0059: D, 0x005A: D,  # fatigue: continuous, daily, rest, parking, s
    0x005B: W, 0x005C: W, 0x005D: W, 0x005E: W,  # overspeed warning delta, fatigue delta, collision, rollover
    0x0064: D, 0x0065: D,  # timed / distance photo control
    0x0070: D, 0x0071: D, 0x0072: D, 0x0073: D, 0x0074: D,  # picture quality, brightness, ...
    0x0080: D,  # odometer, 1/10 km
    0x0081: W, 0x0082: W,  # province, city
    0x0083: S,  # licence plate
    0x0084: B,  # plate colour
    0x0090: B, 0x0091: B, 0x0092: B, 0x0093: D, 0x0094: B, 0x0095: D,  # GNSS mode, baud, rates
    0x0100: D, 0x0101: W, 0x0102: D, 0x0103: W,  # CAN sampling / upload intervals
}
PARAM = Param(PARAM_TYPES, 4)

GENERAL_REPLY = (("seq", "word"), ("id", "word"), ("result", "byte"))
EMPTY: tuple = ()

MESSAGES = {
    0x0001: ("terminal general reply", GENERAL_REPLY, None),
    0x8001: ("platform general reply", GENERAL_REPLY, None),
    0x0002: ("heartbeat", EMPTY, None),
    0x0003: ("deregistration", EMPTY, None),
    0x0004: ("query server time (2019)", EMPTY, None),
    0x8004: ("server time (2019)", (("time", "bcd", 6),), None),  # UTC, YYMMDDhhmmss
    0x0005: ("terminal re-send request (2019)",
             (("seq", "word"), (None, Counted("length", "ids", "word", "word"))), None),
    0x8003: ("platform re-send request",
             (("seq", "word"), (None, Counted("length", "ids", "byte", "word"))),
             (("seq", "word"), (None, Counted("length", "ids", "word", "word")))),
    0x0100: ("registration", ((None, Registration()),), REGISTRATION_2019),
    0x8100: ("registration reply", (("seq", "word"), ("result", "byte"), ("auth_code", "textopt")), None),
    0x0102: ("authentication", (("code", "text"),), ((None, Auth2019()),)),
    0x8103: ("set parameters", ((None, Counted("length", "params", "byte", PARAM)),), None),
    0x8104: ("query all parameters", EMPTY, None),
    0x8106: ("query parameters", ((None, Counted("length", "ids", "byte", "dword")),), None),
    0x0104: ("parameters reply", (("seq", "word"), (None, Counted("length", "params", "byte", PARAM))), None),
    0x0200: ("location report", ((None, Inline(LOCATION)),), ((None, Inline(LOCATION_2019)),)),
    0x8201: ("location query", EMPTY, None),
    0x0201: ("location query reply", (("seq", "word"), ("params", LOCATION)),
             (("seq", "word"), ("params", LOCATION_2019))),
    0x8202: ("temporary tracking", (("period", "word"), ("expiry", "dword")), None),
    0x8203: ("manual alarm confirmation", (("seq", "word"), ("type", "dword")), None),
    0x8204: ("link check (2019)", EMPTY, None),
    0x8300: ("text message", (("flag", "byte"), ("text", "text")),
             (("flag", "byte"), ("text_type", "byte"), ("text", "text"))),
    0x0704: ("batch location", ((None, BatchLocation(LOCATION)),), ((None, BatchLocation(LOCATION_2019)),)),
    0x0900: ("data uplink (transparent)", (("type", "byte"), ("data", "b64")), None),
    0x8900: ("data downlink (transparent)", (("type", "byte"), ("data", "b64")), None),
}

# Multimedia (JT/T 808-2013 8.53-8.55; keys as EMQX's data-exchange guide). The 0x0801 location is
# the 28-byte base of 0x0200, without additional items.
MULTIMEDIA = (("id", "dword"), ("type", "byte"), ("format", "byte"), ("event", "byte"), ("channel", "byte"))
MESSAGES[0x0800] = ("multimedia event", MULTIMEDIA, None)
MESSAGES[0x0801] = ("multimedia data upload",
                    MULTIMEDIA + (("location", lay.Sized(lay.Sub(LOCATION_BASE), 28)), ("multimedia", "b64")), None)
MESSAGES[0x8800] = ("multimedia upload reply",
                    (("mm_id", "dword"), (None, Counted("length", "retx_ids", "byte", "word"))), None)

# The driving recorder (docs/recorder.md): the data block is a whole GB/T 19056 frame
# (AA 75 ... down, 55 7A ... up), built and read by terminal/recorder/blocks.py.
MESSAGES[0x8700] = ("recorder data collection", (("command", "byte"), ("param", "b64")), None)
MESSAGES[0x0700] = ("recorder data upload", (("seq", "word"), ("command", "byte"), ("data", "b64")), None)
MESSAGES[0x8701] = ("recorder parameter download", (("command", "byte"), ("param", "b64")), None)

# Keys EMQX's gateway code uses where its documentation (which we follow) says otherwise;
# accepted on encode so JSON from either side builds the same frame.
ALIASES = {0x0100: {"manufacturer": "manufacture"}, 0x0102: {"software_version": "sw_version"}}

# 0x0001 / 0x8001 result codes
RESULT_OK, RESULT_FAILED, RESULT_BAD_MESSAGE, RESULT_NOT_SUPPORTED, RESULT_ALARM_CONFIRMED = 0, 1, 2, 3, 4
# 0x8100 result codes
REGISTER_OK, REGISTER_VEHICLE_TAKEN, REGISTER_NO_VEHICLE, REGISTER_TERMINAL_TAKEN, REGISTER_NO_TERMINAL = \
    0, 1, 2, 3, 4


def layout_for(msg_id: int, proto_ver):
    """The body layout of a message id for a header's version, or None if unknown."""
    entry = MESSAGES.get(msg_id)
    if entry is None:
        return None
    if proto_ver is not None and entry[2] is not None:
        return entry[2]
    return entry[1]
