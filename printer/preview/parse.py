"""ESC/POS parser of the printer preview (printer room), used by the emulator and `receipt render`: bytes in, printed receipts (lines, styles, QR) out.

Incremental: ``feed()`` takes whatever chunk arrived (a command may be split across
chunks) and returns the replies a printer would send (real-time status, DLE EOT n).
It understands what python-escpos and common Chinese 58 mm printers use: init, text
in GB18030 (Chinese mode, FS & / FS .) or a single-byte code page (ESC t: CP437,
CP850, CP1252, ...), alignment, bold, underline, size (ESC !, GS !), feeds, cut
(GS V; a cut ends a receipt), QR (GS ( k), raster images (GS v 0), barcodes (GS k).
Unknown commands are skipped (their two command bytes) and counted; malformed bytes
never raise.

Longer than 400 lines because ESC/POS is one state machine over one command table; its
parts (text, QR, raster, status) share the parser's state and are read together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
MAX_BLOCK = 1 << 20  # a declared data length beyond this is treated as garbage

# ESC t n (Epson numbering, as python-escpos's default profile uses)
CODE_PAGES = {
    0: "cp437", 1: "cp932", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 13: "cp857", 14: "cp737",
    15: "iso8859_7", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858", 21: "cp874", 32: "cp720",
    33: "cp775", 34: "cp855", 35: "cp861", 36: "cp862", 37: "cp864", 38: "cp869", 39: "iso8859_2",
    40: "iso8859_15", 45: "cp1250", 46: "cp1251", 47: "cp1253", 48: "cp1254", 49: "cp1255",
    50: "cp1256", 51: "cp1257", 52: "cp1258",
}
QR_EC = {48: "L", 49: "M", 50: "Q", 51: "H"}
ALIGN = {0: "left", 48: "left", 1: "center", 49: "center", 2: "right", 50: "right"}

# ESC / GS / FS commands handled only by skipping their fixed number of argument bytes
_ESC_SKIP = {ord(c): n for c, n in {"G": 1, "M": 1, "3": 1, "2": 0, "R": 1, "{": 1, "V": 1, "r": 1, "U": 1,
                                    " ": 1, "=": 1, "p": 3, "B": 2, "e": 1, "K": 1, "$": 2, "\\": 2,
                                    "A": 1, "+": 1, "f": 2, "L": 0, "S": 0, "T": 1, "W": 8, "<": 0,
                                    "c": 2}.items()}
_GS_SKIP = {ord(c): n for c, n in {"B": 1, "b": 1, "|": 1, "H": 1, "h": 1, "w": 1, "f": 1, "a": 1,
                                   "I": 1, "r": 1, "L": 2, "W": 2, "P": 2, "$": 2, "\\": 2, "^": 3,
                                   ":": 0}.items()}
_FS_SKIP = {ord(c): n for c, n in {"!": 1, "-": 1, "C": 1, "S": 2, "W": 1, "p": 2}.items()}


@dataclass
class Run:
    text: str
    bold: bool = False
    width: int = 1
    height: int = 1
    underline: bool = False
    chinese: bool = False  # printed in Chinese mode: every non-ASCII character is double width

    def cells(self) -> list[tuple[str, int]]:
        """Each character with its width in half-width columns (before the size multiplier)."""
        return [(c, 2 if self.chinese and ord(c) >= 0x80 else 1) for c in self.text]


@dataclass
class TextLine:
    align: str
    runs: list[Run] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass
class QrLine:
    align: str
    payload: str
    module: int
    ec: str


@dataclass
class ImageLine:
    align: str
    width: int    # dots
    height: int   # dots
    bits: bytes   # raster rows, MSB first, (width + 7) // 8 bytes a row


@dataclass
class BarcodeLine:
    align: str
    data: str


@dataclass
class FeedLine:
    dots: int


@dataclass
class PrintedReceipt:
    lines: list = field(default_factory=list)
    cut: bool = False

    @property
    def qr_payloads(self) -> list[str]:
        return [line.payload for line in self.lines if isinstance(line, QrLine)]


class EscposParser:
    """Parses an ESC/POS stream into ``receipts`` (each ended by a cut).

    ``status_reply(n)`` gives the byte to answer DLE EOT n (None: stay silent).
    ``hold()`` returns a reason (paper out, cover open, offline) while the printer
    cannot print; print data arriving then is dropped and counted in ``dropped``.
    """

    def __init__(self, status_reply: Callable[[int], bytes | None] | None = None,
                 chinese_default: bool = True, hold: Callable[[], str | None] | None = None,
                 on_receipt: Callable[[PrintedReceipt], None] | None = None) -> None:
        self.status_reply = status_reply or (lambda n: None)
        self.hold = hold or (lambda: None)
        self.on_receipt = on_receipt
        self.chinese_default = chinese_default
        self.receipts: list[PrintedReceipt] = []
        self.unknown: Counter[str] = Counter()
        self.decode_errors = 0
        self.dropped = 0
        self.status_queries = 0
        self._buf = bytearray()
        self._current = PrintedReceipt()
        self._reset()

    # ---------------------------------------------------------------- state
    def _reset(self) -> None:
        self.align = "left"
        self.bold = False
        self.width = 1
        self.height = 1
        self.underline = False
        self.chinese = self.chinese_default
        self.codepage = 0
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data = b""
        self._runs: list[Run] = []
        self._column = 0

    @property
    def pending(self) -> PrintedReceipt:
        """What has been printed since the last cut (a receipt not cut yet)."""
        return self._current

    # ---------------------------------------------------------------- input
    def feed(self, data: bytes) -> list[bytes]:
        """Parse a chunk; returns the replies to send back (in order)."""
        self._buf += data
        replies: list[bytes] = []
        pos = 0
        buf = self._buf
        while pos < len(buf):
            used = self._step(buf, pos, replies)
            if used == 0:
                break  # an incomplete command: wait for more bytes
            pos += used
        del buf[:pos]
        return replies

    def _step(self, buf: bytearray, pos: int, replies: list[bytes]) -> int:
        b = buf[pos]
        avail = len(buf) - pos
        if 0x20 <= b < 0x7F:
            end = pos
            while end < len(buf) and 0x20 <= buf[end] < 0x7F:
                end += 1
            self._text(buf[pos:end].decode("ascii"))
            return end - pos
        if b >= 0x80:
            return self._high_byte(buf, pos, avail)
        if b == 0x0A:
            self._end_line(blank_ok=True)
            return 1
        if b == 0x09:
            self._text(" " * (8 - self._column % 8))
            return 1
        if b in (0x0D, 0x00, 0x7F, 0x0C):
            return 1
        if b == DLE:
            return self._dle(buf, pos, avail, replies)
        if b == ESC:
            return self._esc(buf, pos, avail)
        if b == GS:
            return self._gs(buf, pos, avail)
        if b == FS:
            return self._fs(buf, pos, avail)
        self.unknown[f"CTL {b:#04x}"] += 1
        return 1

    # ---------------------------------------------------------------- text
    def _high_byte(self, buf: bytearray, pos: int, avail: int) -> int:
        b = buf[pos]
        if not self.chinese:
            name = CODE_PAGES.get(self.codepage)
            if name is None:
                self.decode_errors += 1
                self._text("?")
                return 1
            try:
                self._text(bytes([b]).decode(name))
            except UnicodeDecodeError:
                self.decode_errors += 1
                self._text("?")
            return 1
        if not 0x81 <= b <= 0xFE:
            return self._bad_text(1)
        if avail < 2:
            return 0
        b2 = buf[pos + 1]
        if 0x30 <= b2 <= 0x39:
            if avail < 4:
                return 0
            chunk = bytes(buf[pos:pos + 4])
            if not (0x81 <= chunk[2] <= 0xFE and 0x30 <= chunk[3] <= 0x39):
                return self._bad_text(1)
        elif 0x40 <= b2 <= 0xFE and b2 != 0x7F:
            chunk = bytes(buf[pos:pos + 2])
        else:
            return self._bad_text(1)
        try:
            self._text(chunk.decode("gb18030"))
        except UnicodeDecodeError:
            return self._bad_text(len(chunk))
        return len(chunk)

    def _bad_text(self, used: int) -> int:
        self.decode_errors += 1
        self._text("\ufffd")
        return used

    def _text(self, text: str) -> None:
        if not self._printing():
            return
        last = self._runs[-1] if self._runs else None
        style = (self.bold, self.width, self.height, self.underline, self.chinese)
        if last is not None and (last.bold, last.width, last.height, last.underline, last.chinese) == style:
            last.text += text
        else:
            self._runs.append(Run(text, *style))
        self._column += len(text)

    def _printing(self) -> bool:
        if self.hold() is not None:
            self.dropped += 1
            return False
        return True

    def _end_line(self, blank_ok: bool) -> None:
        if not self._runs and not blank_ok:
            return
        if not self._printing():
            self._runs = []
            return
        self._current.lines.append(TextLine(self.align, self._runs))
        self._runs = []
        self._column = 0

    def _emit(self, line) -> None:
        self._end_line(blank_ok=False)
        if self._printing():
            self._current.lines.append(line)

    def _cut(self) -> None:
        self._end_line(blank_ok=False)
        if not self._printing():
            return
        self._current.cut = True
        receipt, self._current = self._current, PrintedReceipt()
        self.receipts.append(receipt)
        if self.on_receipt is not None:
            self.on_receipt(receipt)

    # ---------------------------------------------------------------- commands
    def _dle(self, buf: bytearray, pos: int, avail: int, replies: list[bytes]) -> int:
        if avail < 2:
            return 0
        c = buf[pos + 1]
        if c == 0x04:  # DLE EOT n
            if avail < 3:
                return 0
            n = buf[pos + 2]
            self.status_queries += 1
            if 1 <= n <= 4:
                reply = self.status_reply(n)
                if reply:
                    replies.append(reply)
            else:
                self.unknown[f"DLE EOT {n}"] += 1
            return 3
        if c == 0x05:  # DLE ENQ n
            return 3 if avail >= 3 else 0
        if c == 0x14:  # DLE DC4 fn a b
            return 5 if avail >= 5 else 0
        self.unknown[f"DLE {c:#04x}"] += 1
        return 2

    def _esc(self, buf: bytearray, pos: int, avail: int) -> int:
        if avail < 2:
            return 0
        c = buf[pos + 1]
        if c == ord("@"):
            self._runs = []
            self._reset()
            return 2
        if c in (ord("i"), ord("m")):  # old partial-cut commands
            self._cut()
            return 2
        if c == ord("D"):  # tab stops, NUL terminated
            end = buf.find(b"\x00", pos + 2)
            if end < 0:
                return 0 if avail < 40 else self._unknown_cmd("ESC D (unterminated)")
            return end - pos + 1
        if c == ord("*"):  # bit image: m nL nH d1..dk
            if avail < 5:
                return 0
            m, cols = buf[pos + 2], buf[pos + 3] + 256 * buf[pos + 4]
            size = 5 + cols * (1 if m in (0, 1) else 3)
            return size if avail >= size else 0
        one_arg = {ord("!"), ord("E"), ord("-"), ord("a"), ord("d"), ord("J"), ord("t")}
        if c in one_arg:
            if avail < 3:
                return 0
            n = buf[pos + 2]
            if c == ord("!"):
                self.bold = bool(n & 0x08)
                self.height = 2 if n & 0x10 else 1
                self.width = 2 if n & 0x20 else 1
                self.underline = bool(n & 0x80)
            elif c == ord("E"):
                self.bold = bool(n & 1)
            elif c == ord("-"):
                self.underline = n in (1, 2, 49, 50)
            elif c == ord("a"):
                if n in ALIGN:
                    self.align = ALIGN[n]
                else:
                    self.unknown[f"ESC a {n}"] += 1
            elif c == ord("d"):
                self._end_line(blank_ok=False)
                for _ in range(n):
                    self._end_line(blank_ok=True)
            elif c == ord("J"):
                self._emit(FeedLine(n))
            elif c == ord("t"):
                if n not in CODE_PAGES:
                    self.unknown[f"ESC t {n}"] += 1
                self.codepage = n
            return 3
        if c in _ESC_SKIP:
            size = 2 + _ESC_SKIP[c]
            return size if avail >= size else 0
        return self._unknown_cmd(f"ESC {c:#04x}")

    def _gs(self, buf: bytearray, pos: int, avail: int) -> int:
        if avail < 2:
            return 0
        c = buf[pos + 1]
        if c == ord("!"):
            if avail < 3:
                return 0
            n = buf[pos + 2]
            self.width, self.height = (n >> 4 & 7) + 1, (n & 7) + 1
            return 3
        if c == ord("V"):
            if avail < 3:
                return 0
            m = buf[pos + 2]
            if m in (0, 1, 48, 49):
                self._cut()
                return 3
            if m in (65, 66, 97, 98, 103, 104):
                if avail < 4:
                    return 0
                self._cut()
                return 4
            return self._unknown_cmd(f"GS V {m}")
        if c == ord("("):
            if avail < 5:
                return 0
            fn, length = buf[pos + 2], buf[pos + 3] + 256 * buf[pos + 4]
            if avail < 5 + length:
                return 0
            body = bytes(buf[pos + 5:pos + 5 + length])
            if fn == ord("k"):
                self._two_d_code(body)
            return 5 + length
        if c == ord("8"):  # GS 8 L p1..p4 m fn ...
            if avail < 7:
                return 0
            length = int.from_bytes(buf[pos + 3:pos + 7], "little")
            if length > MAX_BLOCK:
                return self._unknown_cmd("GS 8 (oversized)")
            return 7 + length if avail >= 7 + length else 0
        if c == ord("v"):  # GS v 0 m xL xH yL yH d...
            if avail < 8:
                return 0
            width_bytes = buf[pos + 4] + 256 * buf[pos + 5]
            height = buf[pos + 6] + 256 * buf[pos + 7]
            size = 8 + width_bytes * height
            if width_bytes * height > MAX_BLOCK:
                return self._unknown_cmd("GS v 0 (oversized)")
            if avail < size:
                return 0
            self._emit(ImageLine(self.align, width_bytes * 8, height, bytes(buf[pos + 8:pos + size])))
            return size
        if c == ord("k"):
            return self._barcode(buf, pos, avail)
        if c in _GS_SKIP:
            size = 2 + _GS_SKIP[c]
            return size if avail >= size else 0
        return self._unknown_cmd(f"GS {c:#04x}")

    def _fs(self, buf: bytearray, pos: int, avail: int) -> int:
        if avail < 2:
            return 0
        c = buf[pos + 1]
        if c == ord("&"):
            self.chinese = True
            return 2
        if c == ord("."):
            self.chinese = False
            return 2
        if c in _FS_SKIP:
            size = 2 + _FS_SKIP[c]
            return size if avail >= size else 0
        return self._unknown_cmd(f"FS {c:#04x}")

    def _unknown_cmd(self, name: str) -> int:
        self.unknown[name] += 1
        return 2

    def _two_d_code(self, body: bytes) -> None:
        if len(body) < 2:
            self.unknown["GS ( k (short)"] += 1
            return
        cn, fn, rest = body[0], body[1], body[2:]
        if cn != 49:  # only QR (cn = '1'); PDF417 and others are skipped
            self.unknown[f"GS ( k cn={cn}"] += 1
            return
        if fn == 65:
            return  # model: rendered as model 2 regardless
        if fn == 67 and rest:
            self.qr_module = max(1, min(rest[0], 16))
        elif fn == 69 and rest:
            self.qr_ec = QR_EC.get(rest[0], "L")
        elif fn == 80 and rest:
            self.qr_data = rest[1:]  # m = '0'
        elif fn == 81:
            try:
                payload = self.qr_data.decode("utf-8")
            except UnicodeDecodeError:
                self.decode_errors += 1
                payload = self.qr_data.decode("gb18030", errors="replace")
            self._emit(QrLine(self.align, payload, self.qr_module, self.qr_ec))
        else:
            self.unknown[f"GS ( k fn={fn}"] += 1

    def _barcode(self, buf: bytearray, pos: int, avail: int) -> int:
        if avail < 3:
            return 0
        m = buf[pos + 2]
        if m <= 6:
            end = buf.find(b"\x00", pos + 3)
            if end < 0:
                return 0 if avail < 260 else self._unknown_cmd("GS k (unterminated)")
            data, size = bytes(buf[pos + 3:end]), end - pos + 1
        else:
            if avail < 4:
                return 0
            n = buf[pos + 3]
            size = 4 + n
            if avail < size:
                return 0
            data = bytes(buf[pos + 4:pos + size])
        self._emit(BarcodeLine(self.align, data.decode("latin-1")))
        return size

