"""ESC/POS output: a receipt model turned into printer commands through python-escpos.

Chinese thermal printers print double-byte text in their Chinese mode (FS &) with
GB18030/GBK resident fonts. python-escpos 3.1's magic encoder only sends GB18030 for
strings that happen to contain CJK ideographs (no FS &, and full-width punctuation
falls back to code pages), so text goes out as raw GB18030 bytes after FS &, while
alignment, emphasis, size, the printer-rendered QR code (``qr(native=True)``), feed and
cut use python-escpos's own commands.
"""

from __future__ import annotations

from printer.device import DEFAULT_COLUMNS, DEFAULT_PROFILE
from printer.receipt import Note, QrCode, Receipt, Row, Rule, Title, layout_row

CHINESE_MODE_ON = b"\x1c&"   # FS &
TEXT_ENCODING = "gb18030"
QR_MODULE_DOTS = 5


def write_receipt(p, receipt: Receipt, columns: int = DEFAULT_COLUMNS, cut: bool = True) -> None:
    """Send a receipt to a python-escpos printer object."""
    p.hw("INIT")
    p._raw(CHINESE_MODE_ON)
    for block in receipt.blocks:
        if isinstance(block, Title):
            p.set(align="center", bold=True, double_width=True, double_height=True)
            _line(p, block.text)
            p.set(align="left", bold=False, normal_textsize=True)
        elif isinstance(block, Rule):
            p.set(align="left")
            _line(p, "-" * columns)
        elif isinstance(block, Row):
            if block.emphasis:
                # Double width halves the columns; the total keeps label and value apart.
                p.set(align="left", bold=True, double_width=True, double_height=True)
                for text in layout_row(block.label, block.value, columns // 2):
                    _line(p, text)
                p.set(bold=False, normal_textsize=True)
            else:
                p.set(align="left")
                for text in layout_row(block.label, block.value, columns):
                    _line(p, text)
        elif isinstance(block, Note):
            p.set(align=block.align)
            _line(p, block.text)
            p.set(align="left")
        elif isinstance(block, QrCode):
            p.set(align="center")
            from escpos.constants import QR_ECLEVEL_M

            p.qr(block.payload, ec=QR_ECLEVEL_M, size=QR_MODULE_DOTS, native=True)
            _line(p, "")
            p.set(align="left")
        else:
            raise TypeError(f"unknown receipt block {block!r}")
    if cut:
        p.cut()


def receipt_bytes(receipt: Receipt, columns: int = DEFAULT_COLUMNS, profile: str = DEFAULT_PROFILE) -> bytes:
    """The complete ESC/POS byte stream of a receipt (python-escpos's Dummy printer).

    The spooler sends these bytes in one write, so a job is either written whole or
    kept for a retry.
    """
    from escpos.printer import Dummy  # python-escpos is loaded when the first receipt is rendered

    dummy = Dummy(profile=profile)
    write_receipt(dummy, receipt, columns=columns)
    return dummy.output


def _line(p, text: str) -> None:
    p._raw(text.encode(TEXT_ENCODING) + b"\n")

