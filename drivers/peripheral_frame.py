"""The JT/T 905.2 peripheral frame (device layer): the 55 AA framing every peripheral speaks.

    55 AA | length WORD | device type BYTE | vendor BYTE | command WORD | body | XOR | 55 AA

WORDs are big-endian. ``length`` counts device type, vendor, command and body (4 + len(body)).
The XOR covers every byte from the length through the body. The rooftop sign
(drivers/sign_frame.py), the meter link (drivers/meter_link_codec.py) and the meter's own
firmware (meter/device/) share this module, so it is pure and MicroPython-compatible: no
dataclasses, no typing, %-formatting. See docs/sign.md and docs/meter-link.md.
"""

MAGIC = b"\x55\xaa"
DEVICE_METER = 0x02
DEVICE_EVALUATOR = 0x04
DEVICE_TOP_LIGHT = 0x05

MAX_LENGTH = 4 + 1024  # peripherals' frames are small; a longer length field is line noise
_OVERHEAD = 7  # magic, length, xor, magic around the counted part


class FrameError(ValueError):
    """Bytes that are not one well-formed frame; the message says what is wrong."""


class Frame:
    """One frame: device type, vendor, command word and body (immutable by convention)."""

    __slots__ = ("device", "vendor", "command", "body")

    def __init__(self, device, vendor, command, body=b""):
        for name, value, top in (("device", device, 0xFF), ("vendor", vendor, 0xFF),
                                 ("command", command, 0xFFFF)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise FrameError("%s %r out of range 0..0x%x" % (name, value, top))
        body = bytes(body)
        if len(body) > MAX_LENGTH - 4:
            raise FrameError("body of %d bytes exceeds %d" % (len(body), MAX_LENGTH - 4))
        self.device = device
        self.vendor = vendor
        self.command = command
        self.body = body

    def __eq__(self, other):
        return (isinstance(other, Frame) and self.device == other.device and self.vendor == other.vendor
                and self.command == other.command and self.body == other.body)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash((self.device, self.vendor, self.command, self.body))

    def __repr__(self):
        return "Frame(device=%d, vendor=%d, command=0x%04x, body=%r)" % (
            self.device, self.vendor, self.command, self.body)


def xor8(data):
    result = 0
    for byte in data:
        result ^= byte
    return result


def encode(frame):
    counted = (
        (4 + len(frame.body)).to_bytes(2, "big")
        + bytes((frame.device, frame.vendor))
        + frame.command.to_bytes(2, "big")
        + frame.body
    )
    return MAGIC + counted + bytes((xor8(counted),)) + MAGIC


def _hex(data):
    return " ".join("%02x" % b for b in data)


def _check(raw):
    """``raw`` holds exactly one candidate frame (length already matched)."""
    if raw[-2:] != MAGIC:
        raise FrameError("frame does not end with 55 AA (got %s)" % _hex(raw[-2:]))
    counted = raw[2:-3]
    if xor8(counted) != raw[-3]:
        raise FrameError("XOR mismatch: frame says %02x, bytes give %02x" % (raw[-3], xor8(counted)))
    return Frame(raw[4], raw[5], int.from_bytes(raw[6:8], "big"), raw[8:-3])


def _length(raw):
    length = int.from_bytes(raw[2:4], "big")
    if not 4 <= length <= MAX_LENGTH:
        raise FrameError("length field %d outside 4..%d" % (length, MAX_LENGTH))
    return length


def decode(raw):
    """Exactly one frame; FrameError for anything else."""
    raw = bytes(raw)
    if len(raw) < 4 + _OVERHEAD or raw[:2] != MAGIC:
        raise FrameError("not a frame: %s" % _hex(raw[:16]))
    length = _length(raw)
    if len(raw) != length + _OVERHEAD:
        raise FrameError("length field says %d bytes, got %d" % (length + _OVERHEAD, len(raw)))
    return _check(raw)


class Rejected:
    """Bytes the decoder threw away, and why."""

    __slots__ = ("reason", "skipped")

    def __init__(self, reason, skipped):
        self.reason = reason
        self.skipped = skipped

    def __eq__(self, other):
        return isinstance(other, Rejected) and (self.reason, self.skipped) == (other.reason, other.skipped)

    def __repr__(self):
        return "Rejected(reason=%r, skipped=%d)" % (self.reason, self.skipped)


class FrameDecoder:
    """Turns a byte stream into frames, resynchronising on the next 55 AA after anything malformed."""

    def __init__(self):
        self._buf = b""

    def feed(self, data):
        """Frames (``Frame``) and discarded noise (``Rejected``) in stream order."""
        buf = self._buf + bytes(data)
        out = []
        while True:
            start = buf.find(MAGIC)
            if start < 0:
                keep = 1 if buf[-1:] == MAGIC[:1] else 0  # a 55 that may start the next header
                if len(buf) - keep:
                    out.append(Rejected("no frame header", len(buf) - keep))
                    buf = buf[len(buf) - keep:]
                break
            if start:
                out.append(Rejected("bytes before a frame header", start))
                buf = buf[start:]
            if len(buf) < 4:
                break
            try:
                total = _length(buf) + _OVERHEAD
            except FrameError as exc:
                out.append(Rejected(str(exc), 1))
                buf = buf[1:]
                continue
            if len(buf) < total:
                break
            try:
                frame = _check(buf[:total])
            except FrameError as exc:
                out.append(Rejected(str(exc), 1))
                buf = buf[1:]
                continue
            out.append(frame)
            buf = buf[total:]
        self._buf = buf
        return out

    def line_quiet(self):
        """The line went quiet with a frame unfinished: that frame was cut (a device reset mid-frame,
        a loose plug). Its header is dropped and the bytes after it are decoded again, so a frame
        that followed the cut one is not held back until enough other bytes arrive to fill the
        length the cut one announced."""
        if not self._buf:
            return []
        buf = self._buf
        self._buf = b""
        out = [Rejected("frame cut: the line went quiet after %d of its bytes" % len(buf), 1)]
        return out + self.feed(buf[1:])

    @property
    def pending(self):
        return len(self._buf)


def bcd(value, digits):
    """``value`` (a non-negative int) as ``digits`` BCD digits (digits even); ValueError if it does not fit."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 10 ** digits:
        raise ValueError("%r does not fit %d BCD digits" % (value, digits))
    text = "%0*d" % (digits, value)
    return bytes(int(text[i:i + 2], 16) for i in range(0, digits, 2))


def unbcd(data):
    """The integer a run of BCD bytes spells; FrameError if a nibble is not a decimal digit."""
    value = 0
    for byte in data:
        high, low = byte >> 4, byte & 0x0F
        if high > 9 or low > 9:
            raise FrameError("not BCD: %s" % _hex(data))
        value = value * 100 + high * 10 + low
    return value
