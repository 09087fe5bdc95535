"""Platform-link room, JT/T codec: 0x7E framing, 0x7D escaping, XOR check, stream decoding.

JT/T 808 and JT/T 905 share this layer: ``7E | escaped(header + body + check) | 7E``,
where 0x7E inside the frame is sent as ``7D 02`` and 0x7D as ``7D 01`` (the check byte
too), and the check is the XOR of every header and body byte.

``StreamDecoder`` turns TCP reads into frames. Every 0x7E closes whatever was collected
and opens a new frame, so adjacent frames (``7E..7E 7E..7E``), empty frames (``7E 7E``),
junk before the first flag and junk between frames all resynchronise at the next flag.
A frame longer than ``max_frame`` is dropped and reported, so junk without flags cannot
grow memory.
"""

from terminal.link.jtt.errors import ChecksumError, FramingError

FLAG = 0x7E
ESC = 0x7D
MAX_FRAME = 4096  # unescaped bytes: a 21-byte header + 1023-byte body + check fits easily


def checksum(data: bytes) -> int:
    """XOR of all bytes (the JT/T check code)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo the escapes; strict: 0x7D must be followed by 0x01 or 0x02, and no bare 0x7E."""
    if b"\x7e" in data:
        raise FramingError("0x7E inside a frame")
    if b"\x7d" not in data:
        return bytes(data)
    parts = bytes(data).split(b"\x7d")
    out = [parts[0]]
    for part in parts[1:]:
        if not part:
            raise FramingError("0x7D not followed by 01 or 02" if out else "frame ends inside an escape")
        follow = part[0]
        if follow == 0x01:
            out.append(b"\x7d")
        elif follow == 0x02:
            out.append(b"\x7e")
        else:
            raise FramingError(f"invalid escape 7D {follow:02X}")
        out.append(part[1:])
    return b"".join(out)


def wrap(payload: bytes) -> bytes:
    """header+body -> a complete frame with check byte, escapes and flags."""
    return b"\x7e" + escape(payload + bytes((checksum(payload),))) + b"\x7e"


def check_payload(content: bytes) -> bytes:
    """Unescaped frame content (payload + check byte) -> payload, or ChecksumError."""
    if len(content) < 2:
        raise FramingError(f"frame of {len(content)} byte(s) is too short")
    payload, check = content[:-1], content[-1]
    expected = checksum(payload)
    if check != expected:
        raise ChecksumError(f"check byte {check:02X}, computed {expected:02X}")
    return payload


def unwrap(frame: bytes) -> bytes:
    """Exactly one frame ``7E ... 7E`` -> payload (header + body), check verified."""
    frame = bytes(frame)
    if len(frame) < 2 or frame[0] != FLAG or frame[-1] != FLAG:
        raise FramingError("a frame starts and ends with 0x7E")
    return check_payload(unescape(frame[1:-1]))


class StreamDecoder:
    """Feed bytes as they arrive; get back payloads (``bytes``) and errors, in stream order.

    ``feed(data) -> list`` where each item is either the payload of one good frame
    (header + body, escapes undone, check byte verified and removed) or a
    ``FramingError``/``ChecksumError`` instance describing a frame that was skipped.
    Errors are returned, never raised. A partial frame (even one ending in 0x7D) carries
    over between calls, so frames may be split anywhere. ``max_frame`` bounds the bytes
    held between two flags (as received, escapes included).
    """

    def __init__(self, max_frame: int = 2 * MAX_FRAME):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._in_frame = False  # False until the first 0x7E (bytes before it are junk)
        self._too_long = False  # set: discard until the next 0x7E
        self.junk_bytes = 0  # bytes dropped before the first flag, for diagnostics

    def feed(self, data: bytes) -> list:
        out: list = []
        data = bytes(data)
        pos, n = 0, len(data)
        while pos < n:
            flag = data.find(b"\x7e", pos)
            end = n if flag < 0 else flag
            if not self._in_frame:
                self.junk_bytes += end - pos
            elif not self._too_long:
                self._buf += data[pos:end]
                if len(self._buf) > self.max_frame:
                    self._too_long = True
                    self._buf = bytearray()
            if flag < 0:
                break
            self._close(out)
            pos = flag + 1
        return out

    def _close(self, out: list) -> None:
        if self._too_long:
            out.append(FramingError(f"frame longer than {self.max_frame} bytes"))
        elif self._buf:
            try:
                out.append(check_payload(unescape(self._buf)))
            except FramingError as exc:
                out.append(exc)
        self._buf = bytearray()
        self._too_long = False
        self._in_frame = True

    @property
    def pending(self) -> int:
        """Bytes held for a frame not yet closed (bounded by max_frame)."""
        return len(self._buf)
