"""NMEA framing: raw receiver bytes in, checked sentence bodies out.

Pure and incremental: ``feed(chunk)`` may be called with any split of the byte stream
(a sentence cut across two reads comes out whole). Lines may end in CR LF, LF, CR or
LF CR. A ``$`` always starts a sentence, so garbage before it (line noise, a binary
protocol burst, a truncated sentence) is skipped and counted; a line longer than
``max_length`` is dropped. The checksum (two hex digits, either case) is checked; a
sentence without one is rejected unless ``allow_missing_checksum``.

What comes out is the body between ``$`` and ``*``, e.g. ``"GNRMC,083559.00,A,..."``.
"""

from gps.stats import GnssStats

# NMEA 0183 allows 82 characters including "$" and CR LF; receivers exceed it a little
# (proprietary and long TXT sentences), so the default bound is generous but finite.
DEFAULT_MAX_LENGTH = 120

_HEX = frozenset("0123456789ABCDEFabcdef")
# Every two-digit checksum as written (either case, mixed too) -> its value: one look-up per sentence.
_HEX_PAIRS = {(a + b).encode("ascii"): int(a + b, 16) for a in _HEX for b in _HEX}
_MASKS = tuple((1 << bits) - 1 for bits in (512, 256, 128, 64, 32, 16))


def nmea_checksum(body: bytes) -> int:
    """XOR of all bytes of ``body`` (the text between ``$`` and ``*``)."""
    if len(body) > 128:
        value = 0
        for byte in body:
            value ^= byte
        return value
    # Fold the line as one integer: much faster in CPython than a loop over bytes.
    x = int.from_bytes(body, "little")
    x = (x ^ (x >> 512)) & _MASKS[0]
    x = (x ^ (x >> 256)) & _MASKS[1]
    x = (x ^ (x >> 128)) & _MASKS[2]
    x = (x ^ (x >> 64)) & _MASKS[3]
    x = (x ^ (x >> 32)) & _MASKS[4]
    x = (x ^ (x >> 16)) & _MASKS[5]
    return (x ^ (x >> 8)) & 0xFF


def with_checksum(body: str) -> bytes:
    """A complete sentence line for ``body``: ``$body*HH\\r\\n`` (used by emulators and tests)."""
    raw = body.encode("ascii")
    return b"$" + raw + b"*%02X\r\n" % nmea_checksum(raw)


class NmeaFramer:
    """Splits a byte stream into checksum-verified sentence bodies, counting what it drops."""

    def __init__(self, stats: GnssStats | None = None, *, max_length: int = DEFAULT_MAX_LENGTH,
                 allow_missing_checksum: bool = False) -> None:
        if max_length < 16:
            raise ValueError(f"max_length {max_length} is too small for any NMEA sentence")
        self.stats = stats if stats is not None else GnssStats()
        self.max_length = max_length
        self.allow_missing_checksum = allow_missing_checksum
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """Sentence bodies completed by ``chunk``, in order."""
        data = self._pending + chunk
        if b"\r" in data:
            data = data.replace(b"\r", b"\n")
        lines = data.split(b"\n")
        tail = lines.pop()
        out: list[str] = []
        check = self._check
        for line in lines:
            if line:
                body = check(line)
                if body is not None:
                    out.append(body)
        self._pending = self._trim_tail(tail)
        return out

    def flush(self) -> list[str]:
        """End of input: an unterminated last line is still checked (a log without final newline)."""
        tail, self._pending = self._pending, b""
        if not tail:
            return []
        if b"*" not in tail:  # cut off mid-sentence by the end of input
            self.stats.sentences += 1
            self.stats.malformed += 1
            return []
        body = self._check(tail)
        return [] if body is None else [body]

    def _trim_tail(self, tail: bytes) -> bytes:
        stats = self.stats
        start = tail.rfind(b"$")
        if start < 0:
            stats.garbage_bytes += len(tail)
            return b""
        if start:
            self._drop_before(tail, start)
            tail = tail[start:]
        if len(tail) > self.max_length:
            stats.sentences += 1
            stats.overlong += 1
            return b""
        return tail

    def _drop_before(self, line: bytes, start: int) -> None:
        """Bytes before the last ``$`` of a line: an earlier cut-off sentence or plain garbage."""
        stats = self.stats
        first = line.find(b"$", 0, start)
        if first < 0:
            stats.garbage_bytes += start
        else:
            stats.garbage_bytes += first
            # each earlier "$" started a sentence that never ended properly
            cut = line.count(b"$", first, start)
            stats.sentences += cut
            stats.malformed += cut

    def _check(self, line: bytes) -> str | None:
        stats = self.stats
        if line[0] != 36:  # "$"
            start = line.rfind(b"$")
            if start < 0:
                stats.garbage_bytes += len(line)
                return None
            self._drop_before(line, start)
            line = line[start:]
        elif line.find(b"$", 1) >= 0:
            start = line.rfind(b"$")
            self._drop_before(line, start)
            line = line[start:]
        stats.sentences += 1
        if len(line) > self.max_length:
            stats.overlong += 1
            return None
        star = line.find(b"*")
        if star < 0:
            if not self.allow_missing_checksum:
                stats.missing_checksum += 1
                return None
            body = line[1:]
            stats.unchecked += 1
        else:
            body = line[1:star]
            given = line[star + 1:]
            if len(given) != 2:
                # trailing text after the two digits or fewer than two: not a valid sentence
                if len(given) > 2 and given[2:].strip(b" \t") == b"":
                    given = given[:2]
                else:
                    stats.checksum_rejected += 1
                    return None
            if _HEX_PAIRS.get(given) != nmea_checksum(body):
                stats.checksum_rejected += 1
                return None
        try:
            decoded = body.decode("ascii")
        except UnicodeDecodeError:
            stats.malformed += 1
            return None
        if not decoded.isprintable() or len(decoded) < 6:
            stats.malformed += 1
            return None
        return decoded
