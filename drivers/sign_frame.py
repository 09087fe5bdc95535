"""The rooftop sign's serial frame (JT/T 905.2 peripheral frame, device layer): its commands and bodies.

    55 AA | length WORD | device type BYTE | vendor BYTE | command WORD | body | XOR | 55 AA

WORDs are big-endian. ``length`` counts device type, vendor, command and body (4 + len(body)).
The XOR covers every byte from the length through the body. Pure code: bytes in, values out.
The framing itself lives in drivers/peripheral_frame.py, shared with the meter link.
See docs/sign.md for where these conclusions come from.
"""

import datetime
from dataclasses import dataclass

from drivers.peripheral_frame import (  # noqa: F401  (re-exported: the sign's callers import them from here)
    DEVICE_METER,
    DEVICE_TOP_LIGHT,
    MAGIC,
    MAX_LENGTH,
    Frame,
    FrameDecoder,
    FrameError,
    Rejected,
    decode,
    encode,
    xor8,
)

CMD_QUERY = 0x0000
CMD_RESET = 0x0001
CMD_SET_BAUD = 0x0003
CMD_SET_STATE = 0x0010
CMD_SET_STARS = 0x0011
CMD_SET_NIGHT = 0x0012
CMD_SET_MARK = 0x0013      # show the anti-counterfeit mark (防伪密标): body = the mark's data
CMD_CLEAR_MARK = 0x0014    # stop showing it: empty body
MARK_MAX = 256             # bytes of mark data we send (the top light's own limit is the vendor's)

# Body byte of CMD_SET_STATE, and the running state a status answer reports.
SIGN_STATES = {
    "vacant": 0x00,
    "occupied": 0x01,
    "out_of_service": 0x02,
    "on_call": 0x03,
    "alarm": 0x04,
    "anti_counterfeit": 0x05,
    "shift_change": 0x06,
}
STATE_NAMES = {code: name for name, code in SIGN_STATES.items()}

ACK_OK = 0x00
ACK_FAIL = 0x01
ACK_UNSUPPORTED = 0x02

# --- bodies -----------------------------------------------------------------------------------

def bcd_time(t_ms: int, utc_offset_min: int = 480) -> bytes:
    """BCD[7] YYYY MM DD hh mm ss of ``t_ms`` at the given UTC offset (GMT+8 by default)."""
    zone = datetime.timezone(datetime.timedelta(minutes=utc_offset_min))
    moment = datetime.datetime.fromtimestamp(t_ms / 1000, zone)
    digits = f"{moment.year:04d}{moment.month:02d}{moment.day:02d}{moment.hour:02d}{moment.minute:02d}{moment.second:02d}"
    return bytes.fromhex(digits)


def parse_bcd_time(body: bytes) -> str:
    """``YYYY-MM-DD hh:mm:ss`` from a BCD[7] timestamp (FrameError if not BCD)."""
    if len(body) < 7:
        raise FrameError(f"BCD time needs 7 bytes, got {len(body)}")
    digits = body[:7].hex()
    if not digits.isdigit():
        raise FrameError(f"not BCD: {body[:7].hex(' ')}")
    return f"{digits[0:4]}-{digits[4:6]}-{digits[6:8]} {digits[8:10]}:{digits[10:12]}:{digits[12:14]}"


@dataclass(frozen=True)
class TopLightStatus:
    """The body a top light answers a status query with."""

    vendor_id: int
    product_id: int
    serial: int  # three bytes
    hw_version: int
    sw_major: int
    sw_minor: int
    device_state: int  # 0 = working
    running_state: int  # the SIGN_STATES code it shows
    night_mode: int

    def to_body(self) -> bytes:
        return (
            bytes((self.vendor_id, self.product_id))
            + self.serial.to_bytes(3, "big")
            + bytes((self.hw_version, self.sw_major, self.sw_minor, self.device_state,
                     self.running_state, self.night_mode))
            + bytes(5)
        )

    @property
    def state(self) -> str | None:
        return STATE_NAMES.get(self.running_state)


STATUS_MIN = 11  # up to and including night mode; five reserved bytes usually follow


def parse_status(body: bytes) -> TopLightStatus:
    if len(body) < STATUS_MIN:
        raise FrameError(f"status answer needs at least {STATUS_MIN} bytes, got {len(body)}")
    return TopLightStatus(
        vendor_id=body[0], product_id=body[1], serial=int.from_bytes(body[2:5], "big"),
        hw_version=body[5], sw_major=body[6], sw_minor=body[7],
        device_state=body[8], running_state=body[9], night_mode=body[10],
    )


def parse_ack(body: bytes) -> int:
    if len(body) != 1:
        raise FrameError(f"an acknowledgement carries one result byte, got {len(body)}")
    return body[0]


def state_frame(state: str, vendor: int = 0) -> Frame:
    if state not in SIGN_STATES:
        raise ValueError(f"unknown sign state {state!r} (known: {', '.join(SIGN_STATES)})")
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_SET_STATE, bytes((SIGN_STATES[state],)))


def stars_frame(stars: int, vendor: int = 0) -> Frame:
    if isinstance(stars, bool) or not isinstance(stars, int) or not 0 <= stars <= 5:
        raise ValueError(f"star rating must be 0..5, got {stars!r}")
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_SET_STARS, bytes((stars,)))


def night_frame(on: bool, vendor: int = 0) -> Frame:
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_SET_NIGHT, bytes((1 if on else 0,)))


def mark_frame(data: bytes, vendor: int = 0) -> Frame:
    data = bytes(data)
    if not 1 <= len(data) <= MARK_MAX:
        raise ValueError(f"anti-counterfeit mark must be 1..{MARK_MAX} bytes, got {len(data)}")
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_SET_MARK, data)


def clear_mark_frame(vendor: int = 0) -> Frame:
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_CLEAR_MARK, b"")


def query_frame(t_ms: int, vendor: int = 0, utc_offset_min: int = 480) -> Frame:
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_QUERY, bcd_time(t_ms, utc_offset_min))


def reset_frame(vendor: int = 0) -> Frame:
    return Frame(DEVICE_TOP_LIGHT, vendor, CMD_RESET, b"")
