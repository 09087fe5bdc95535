"""The JT/T 905.2 meter link (device layer): the taximeter's commands and bodies, as data.

Every body is a list of fields ``(name, kind, size)`` in ``LAYOUTS``; ``encode_body`` and
``decode_body`` walk that list, so the layouts below are the specification and the code is
the same for every command. Field kinds:

  ascii n   ASCII, right-padded with 00 (decoding strips trailing 00 and spaces)
  bcd n     an integer in n BCD digits (n/2 bytes)
  u8 u16 u32  big-endian unsigned integers
  time7     BCD[7] YYYY MM DD hh mm ss  -> (Y, M, D, h, m, s)
  time6     BCD[6] YYYY MM DD hh mm     -> (Y, M, D, h, m)
  ymdh      BCD[5] YYYY MM DD hh        -> (Y, M, D, h)
  yymdhm    BCD[5] YY MM DD hh mm       -> (Y, M, D, h, m)   (years 2000-2099)
  hhmm, mmss  BCD[2] two two-digit numbers -> (a, b)
  raw n     n bytes as they are
  rest      all remaining bytes (may be empty)

Which open implementation each layout follows is in docs/meter-link.md. Pure and
MicroPython-compatible: the meter's own firmware (meter/device/) speaks the same codec.
"""

from drivers.peripheral_frame import DEVICE_METER, Frame, FrameError, bcd, unbcd

UP = "up"      # meter -> terminal
DOWN = "down"  # terminal -> meter

CMD_STATUS = 0x0000
CMD_CLOCK = 0x0001
CMD_TARIFF_QUERY = 0x0004
CMD_TARIFF_SET = 0x0005
CMD_POWER_ON = 0x00E0
CMD_POWER_ON_DONE = 0x00E1
CMD_POWER_OFF = 0x00E3
CMD_POWER_OFF_DONE = 0x00E4
CMD_TRIP_START = 0x00E7
CMD_TRIP_END = 0x00E8
CMD_HEARTBEAT = 0x00E9
CMD_RESEND_AT_OFF = 0x00F1
CMD_RESEND = 0x00F2
CMD_RESEND_REQUEST = 0x00F3   # our extension: the terminal asks for one record again
CMD_DEVICE_ID = 0x00F4        # our extension: software id and event-log head of our firmware
CMD_EVALUATION = 0x00F5       # our extension: a passenger rating relayed with the trip

RESULT_OK = 0x90     # acknowledgement of operation data, power on/off, resend
RESULT_FAIL = 0xFF
TARIFF_OK = 0x00     # answers to a tariff set
TARIFF_BAD = 0x01
TARIFF_SAME = 0x02
TARIFF_UNSUPPORTED = 0xFF

_RESULT = [("result", "u8", 1)]
_OPERATION = [
    ("plate", "ascii", 6), ("licence", "ascii", 16), ("driver", "ascii", 19),
    ("board", "yymdhm", 5), ("alight", "hhmm", 2),
    ("distance_100m", "bcd", 6), ("empty_100m", "bcd", 4), ("extras_jiao", "bcd", 6),
    ("waiting", "hhmm", 2), ("fare_jiao", "bcd", 6), ("trip_no", "u32", 4), ("trade", "u8", 1),
    ("card", "rest", 0),
]
_TARIFF = [
    ("valid_from", "ymdh", 5),
    ("return_day_fen", "bcd", 4), ("return_night_fen", "bcd", 4),
    ("oneway_day_fen", "bcd", 4), ("oneway_night_fen", "bcd", 4),
    ("empty_back_day_fen", "bcd", 4), ("empty_back_night_fen", "bcd", 4),
    ("start_day_fen", "bcd", 4), ("start_night_fen", "bcd", 4),
    ("step_10m", "bcd", 4), ("start_10m", "bcd", 4), ("oneway_10m", "bcd", 4), ("empty_back_10m", "bcd", 4),
    ("wait_day_fen", "bcd", 4), ("wait_night_fen", "bcd", 4),
    ("free_wait", "mmss", 2), ("wait_unit", "mmss", 2),
    ("night_start", "hhmm", 2), ("night_end", "hhmm", 2),
    ("reserved", "raw", 22), ("vendor_area", "rest", 0),
]
_PEOPLE = [("licence", "ascii", 16), ("driver", "ascii", 19), ("plate", "ascii", 6)]
_SHIFT = _PEOPLE + [
    ("k", "bcd", 4), ("on_at", "time6", 6), ("off_at", "time6", 6),
    ("shift_100m", "bcd", 6), ("shift_hired_100m", "bcd", 6), ("shift_trips", "bcd", 4),
    ("shift_waiting", "bcd", 6), ("shift_fares_jiao", "bcd", 6), ("card_jiao", "bcd", 6),
    ("card_trips", "bcd", 4), ("between_shifts_100m", "bcd", 4), ("total_100m", "bcd", 8),
    ("total_hired_100m", "bcd", 8), ("price_fen", "bcd", 4), ("trips", "u32", 4), ("off_mode", "u8", 1),
]
_LOGIN_ANSWER = _PEOPLE + [
    ("at", "time6", 6), ("terminal_state", "u16", 2), ("time_limit", "raw", 5),
    ("count_limit", "bcd", 4), ("result", "u8", 1),
]

# (command, direction) -> fields.  Direction is who sends the frame.
LAYOUTS = {
    (CMD_STATUS, DOWN): [("time", "time7", 7)],
    (CMD_STATUS, UP): [
        ("vendor_id", "u8", 1), ("device_type", "u8", 1), ("serial", "raw", 3),
        ("hw_version", "u8", 1), ("sw_major", "u8", 1), ("sw_minor", "u8", 1),
        ("device_state", "u8", 1), ("work_state", "u8", 1),
        ("plate", "ascii", 6), ("licence", "ascii", 16), ("driver", "ascii", 19), ("trips", "u32", 4),
    ],
    (CMD_CLOCK, DOWN): [("time", "time7", 7)],
    (CMD_CLOCK, UP): _RESULT,
    (CMD_TARIFF_QUERY, DOWN): [],
    (CMD_TARIFF_QUERY, UP): _TARIFF,
    (CMD_TARIFF_SET, DOWN): _TARIFF,
    (CMD_TARIFF_SET, UP): [("result", "u8", 1), ("valid_from", "ymdh", 5)],
    (CMD_POWER_ON, UP): [("mark", "u8", 1)],
    (CMD_POWER_ON, DOWN): _LOGIN_ANSWER,
    (CMD_POWER_ON_DONE, UP): _PEOPLE + [("at", "time6", 6), ("trips", "u32", 4), ("result", "u8", 1)],
    (CMD_POWER_ON_DONE, DOWN): _RESULT,
    (CMD_POWER_OFF, UP): [("mark", "u8", 1)],
    (CMD_POWER_OFF, DOWN): _LOGIN_ANSWER,
    (CMD_POWER_OFF_DONE, UP): _SHIFT,
    (CMD_POWER_OFF_DONE, DOWN): _RESULT,
    (CMD_RESEND_AT_OFF, UP): _SHIFT,
    (CMD_RESEND_AT_OFF, DOWN): _RESULT,
    (CMD_TRIP_START, UP): [("board", "time7", 7)],
    (CMD_TRIP_START, DOWN): _RESULT,
    (CMD_TRIP_END, UP): _OPERATION,
    (CMD_TRIP_END, DOWN): _RESULT,
    (CMD_HEARTBEAT, UP): [("state", "u8", 1), ("licence", "ascii", 16), ("driver", "ascii", 19)],
    (CMD_HEARTBEAT, DOWN): [("terminal_state", "u16", 2), ("time_limit", "raw", 5),
                            ("count_limit", "u8", 1), ("reserved", "u16", 2)],
    (CMD_RESEND, UP): _OPERATION,
    (CMD_RESEND, DOWN): _RESULT,
    (CMD_RESEND_REQUEST, DOWN): [("trip_no", "u32", 4)],
    (CMD_RESEND_REQUEST, UP): [("trip_no", "u32", 4), ("result", "u8", 1)],
    (CMD_DEVICE_ID, DOWN): [],
    (CMD_DEVICE_ID, UP): [("software_id", "raw", 32), ("log_head", "raw", 32), ("log_seq", "u32", 4),
                          ("trip_no", "u32", 4)],
    (CMD_EVALUATION, UP): [("trip_no", "u32", 4), ("rating", "u8", 1)],
    (CMD_EVALUATION, DOWN): _RESULT,
}

# heartbeat state bits (bit 0 = hired, 1 = signed in, 2 = forced on, 3 = forced off)
STATE_HIRED = 0x01
STATE_SIGNED_IN = 0x02

_FIXED = {"u8": 1, "u16": 2, "u32": 4, "time7": 7, "time6": 6, "ymdh": 5, "yymdhm": 5, "hhmm": 2, "mmss": 2}
# digits of each field of the civil-time kinds, and a range for each
_CIVIL = {
    "time7": ((4, 1, 9999), (2, 1, 12), (2, 1, 31), (2, 0, 23), (2, 0, 59), (2, 0, 59)),
    "time6": ((4, 1, 9999), (2, 1, 12), (2, 1, 31), (2, 0, 23), (2, 0, 59)),
    "ymdh": ((4, 0, 9999), (2, 0, 12), (2, 0, 31), (2, 0, 23)),
    "yymdhm": ((2, 0, 99), (2, 1, 12), (2, 1, 31), (2, 0, 23), (2, 0, 59)),
    "hhmm": ((2, 0, 99), (2, 0, 99)),
    "mmss": ((2, 0, 99), (2, 0, 99)),
}


def field_size(kind, size):
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "bcd":
        return size // 2
    if kind in ("ascii", "raw"):
        return size
    return 0  # rest


def _encode_field(name, kind, size, value):
    if kind == "ascii":
        data = value.encode() if isinstance(value, str) else bytes(value)
        if len(data) > size:
            raise ValueError("%s: %r longer than %d bytes" % (name, value, size))
        return data + bytes(size - len(data))
    if kind == "bcd":
        return bcd(value, size)
    if kind in ("u8", "u16", "u32"):
        width = _FIXED[kind]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << (8 * width):
            raise ValueError("%s: %r is not a %s" % (name, value, kind))
        return value.to_bytes(width, "big")
    if kind in _CIVIL:
        parts = _CIVIL[kind]
        if kind == "yymdhm":
            value = (value[0] - 2000,) + tuple(value[1:])
        if len(value) != len(parts):
            raise ValueError("%s: %r needs %d parts" % (name, value, len(parts)))
        out = b""
        for i in range(len(parts)):
            part, (digits, low, high) = value[i], parts[i]
            if not isinstance(part, int) or not low <= part <= high:
                raise ValueError("%s: %r out of range" % (name, value))
            out += bcd(part, digits)
        return out
    if kind == "raw":
        data = bytes(value)
        if len(data) != size:
            raise ValueError("%s: needs %d bytes, got %d" % (name, size, len(data)))
        return data
    return bytes(value)  # rest


def _decode_field(name, kind, data):
    if kind == "ascii":
        end = len(data)
        while end and data[end - 1] in (0, 0x20):
            end -= 1
        try:
            return bytes(data[:end]).decode()
        except UnicodeError:
            return bytes(data[:end])  # GBK plates etc.: kept as bytes (lenient, docs/meter-link.md)
    if kind == "bcd":
        return unbcd(data)
    if kind in ("u8", "u16", "u32"):
        return int.from_bytes(data, "big")
    if kind in _CIVIL:
        out = []
        pos = 0
        for digits, low, high in _CIVIL[kind]:
            part = unbcd(data[pos:pos + digits // 2])
            pos += digits // 2
            if not low <= part <= high:
                raise FrameError("%s: %d out of %d..%d" % (name, part, low, high))
            out.append(part)
        if kind == "yymdhm":
            out[0] += 2000
        return tuple(out)
    return bytes(data)


def layout(command, direction, layouts=None):
    try:
        return (layouts or LAYOUTS)[(command, direction)]
    except KeyError:
        raise FrameError("command 0x%04x is not a %s command %s" % (
            command, "meter" if layouts is None else "known", direction))


def encode_body(command, direction, values, layouts=None):
    """The body bytes of ``command`` sent in ``direction`` from a dict of field values.

    ``layouts`` (default: the meter's) lets other peripherals of the bus reuse the walk."""
    out = b""
    for name, kind, size in layout(command, direction, layouts):
        if name not in values:
            raise ValueError("0x%04x %s lacks %s" % (command, direction, name))
        out += _encode_field(name, kind, size, values[name])
    return out


def decode_body(command, direction, body, layouts=None, trailing_ok=None):
    """A dict of field values; FrameError if the body does not fit the layout.

    Strict: every fixed field must be there and well-formed, and without a ``rest`` field
    the body may not be longer (except the lenient cases in ``_TRAILING_OK``)."""
    fields = layout(command, direction, layouts)
    values = {}
    pos = 0
    for name, kind, size in fields:
        if kind == "rest":
            values[name] = bytes(body[pos:])
            pos = len(body)
            continue
        width = field_size(kind, size)
        if pos + width > len(body):
            raise FrameError("0x%04x %s: body of %d bytes ends inside %s" % (command, direction, len(body), name))
        values[name] = _decode_field(name, kind, body[pos:pos + width])
        pos += width
    if pos != len(body) and (command, direction) not in (_TRAILING_OK if trailing_ok is None else trailing_ok):
        raise FrameError("0x%04x %s: %d bytes after the last field" % (command, direction, len(body) - pos))
    return values


# Answers real meters pad or extend (docs/meter-link.md "Lenient"): trailing bytes ignored.
_TRAILING_OK = {(CMD_STATUS, UP), (CMD_HEARTBEAT, UP), (CMD_HEARTBEAT, DOWN), (CMD_POWER_ON_DONE, UP)}


def meter_frame(command, direction, values, vendor=0):
    return Frame(DEVICE_METER, vendor, command, encode_body(command, direction, values))


def parse(frame, direction):
    """(command, values) of a meter frame; FrameError if it is not one."""
    if frame.device != DEVICE_METER:
        raise FrameError("device type 0x%02x is not the meter (0x02)" % frame.device)
    return frame.command, decode_body(frame.command, direction, frame.body)


def ack(command, ok=True, vendor=0):
    """The one-byte acknowledgement of ``command`` (0x90 done, 0xFF failed) sent to the meter."""
    return meter_frame(command, DOWN, {"result": RESULT_OK if ok else RESULT_FAIL}, vendor)
