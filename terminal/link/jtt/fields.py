"""Platform-link room, JT/T codec: field types shared by JT/T 808 and JT/T 905.

All integers are big-endian (BYTE, WORD, DWORD). Text is GBK, read and written as
GB18030 (a superset, so every GBK byte sequence decodes); bytes that are not valid
GB18030 survive a decode/encode round trip (surrogate escapes) instead of failing.
BCD fields become strings of digits; a nibble above 9 is kept as a hex letter so a
device's odd padding (0xF) also round-trips. Times are BCD ``YYMMDDhhmmss`` in GMT+8.
"""

import base64
import binascii
import calendar

from terminal.link.jtt.errors import BodyError, EncodeError

TEXT = "gb18030"
GMT8_S = 8 * 3600


class Reader:
    """A cursor over a message body; running past the end raises BodyError."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise BodyError(f"body too short: {n} byte(s) wanted at offset {self.pos}, "
                            f"{len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def rest(self) -> bytes:
        return self.take(self.remaining())

    def byte(self) -> int:
        return self.take(1)[0]

    def word(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def dword(self) -> int:
        return int.from_bytes(self.take(4), "big")


def uint(value, size: int, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeError(f"{name}: integer expected, got {value!r}")
    if not 0 <= value < 1 << (8 * size):
        raise EncodeError(f"{name}: {value} does not fit in {size} byte(s)")
    return value.to_bytes(size, "big")


def sint(value, size: int, name: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EncodeError(f"{name}: integer expected, got {value!r}")
    limit = 1 << (8 * size - 1)
    if not -limit <= value < limit:
        raise EncodeError(f"{name}: {value} does not fit in a signed {size}-byte field")
    return value.to_bytes(size, "big", signed=True)


# --- BCD ---------------------------------------------------------------------------

def bcd_decode(data: bytes) -> str:
    return data.hex()


def bcd_encode(value, size: int, name: str) -> bytes:
    """Digits -> BCD[size], left-padded with 0; an int is taken as its decimal digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        raise EncodeError(f"{name}: BCD digits expected, got {value!r}")
    if len(value) > 2 * size:
        raise EncodeError(f"{name}: {value!r} has more than {2 * size} digits")
    text = value.rjust(2 * size, "0")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise EncodeError(f"{name}: {value!r} is not BCD digits") from None


# --- text --------------------------------------------------------------------------

def text_decode(data: bytes) -> str:
    return data.decode(TEXT, "surrogateescape")


def text_encode(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{name}: string expected, got {value!r}")
    return value.encode(TEXT, "surrogateescape")


def fixed_text_decode(data: bytes) -> str:
    """Fixed-width field: trailing NUL padding removed (spaces are kept as sent)."""
    return text_decode(data.rstrip(b"\x00"))


def fixed_text_encode(value, size: int, name: str) -> bytes:
    raw = text_encode(value, name)
    if len(raw) > size:
        raise EncodeError(f"{name}: {value!r} is {len(raw)} bytes, the field holds {size}")
    return raw.ljust(size, b"\x00")


# --- binary carried as base64 (EMQX's convention) -----------------------------------

def b64_decode_field(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64_encode_field(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise EncodeError(f"{name}: base64 string expected, got {value!r}")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise EncodeError(f"{name}: {value!r} is not base64") from None


# --- times ---------------------------------------------------------------------------

def bcd_time(epoch_ms: int) -> str:
    """Unix epoch ms -> ``YYMMDDhhmmss`` in GMT+8 (fractions dropped; years 2000-2099)."""
    seconds = epoch_ms // 1000 + GMT8_S
    days, rem = divmod(seconds, 86400)
    y, m, d = _civil(days)
    if not 2000 <= y <= 2099:
        raise EncodeError(f"time {epoch_ms} ms is outside 2000-2099")
    return f"{y - 2000:02d}{m:02d}{d:02d}{rem // 3600:02d}{rem // 60 % 60:02d}{rem % 60:02d}"


def epoch_ms(bcd: str) -> int:
    """``YYMMDDhhmmss`` in GMT+8 -> Unix epoch ms; BodyError if it is not a valid time."""
    if not (isinstance(bcd, str) and len(bcd) == 12 and bcd.isascii() and bcd.isdigit()):
        raise BodyError(f"time {bcd!r} is not YYMMDDhhmmss")
    y, mo, d, h, mi, s = (int(bcd[i:i + 2]) for i in range(0, 12, 2))
    y += 2000
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60 and s < 60):
        raise BodyError(f"time {bcd!r} is not a valid date and time")
    return (calendar.timegm((y, mo, d, h, mi, s)) - GMT8_S) * 1000


def _civil(days: int) -> tuple:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian (H. Hinnant)."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


# --- JT/T 905 units --------------------------------------------------------------------

def deg_to_905(deg: float) -> int:
    """Degrees (sign dropped; south/west go in the status bits) -> 1/10,000 minute."""
    return int(abs(deg) * 600000 + 0.5)


def deg_from_905(value: int) -> float:
    return value / 600000


def e6_to_905(value_1e6: int) -> int:
    """JT/T 808 units (1e-6 degree) -> JT/T 905 units (1e-4 minute), rounded half up."""
    return (value_1e6 * 6 + 5) // 10


def e6_from_905(value_905: int) -> int:
    """JT/T 905 units -> JT/T 808 units, rounded half up."""
    return (value_905 * 10 + 3) // 6


def direction_to_905(degrees: int) -> int:
    """0-359 degrees -> the one-byte 905 direction (2-degree steps, 0-179)."""
    return (degrees % 360) // 2
