"""Rendering of the printer preview (printer room): a parsed receipt to plain text and to a PNG of the paper.

Paper: 58 mm, 384 dots a line, font A cells 12 x 24 dots (32 half-width columns; a
double-byte character takes two), 30-dot line pitch. Lines longer than the paper wrap
as on a printer. Bold is drawn double-struck; sizes scale the cells. QR codes are
drawn as real QR symbols (qrcode package) from the payload the printer decoded.
In the text rendering a QR code is the line ``[QR <payload>]``, an image
``[image WxH]``, a barcode ``[barcode DATA]``; trailing blank lines are dropped.
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from printer.preview.parse import BarcodeLine, FeedLine, ImageLine, PrintedReceipt, QrLine, Run, TextLine

PAPER_DOTS = 384
CELL_W, CELL_H = 12, 24
LINE_PITCH = 30
MARGIN = 8
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
_QR_EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}


def _rows(line: TextLine, max_dots: int) -> list[list[tuple[str, int, Run]]]:
    """The line's characters as (char, dots wide, run), wrapped to ``max_dots``."""
    rows: list[list[tuple[str, int, Run]]] = [[]]
    used = 0
    for run in line.runs:
        for char, cols in run.cells():
            dots = cols * CELL_W * run.width
            if used + dots > max_dots and rows[-1]:
                rows.append([])
                used = 0
            rows[-1].append((char, dots, run))
            used += dots
    return rows


def _aligned(text: str, width: int, columns: int, align: str) -> str:
    if align == "center":
        return " " * max((columns - width) // 2, 0) + text
    if align == "right":
        return " " * max(columns - width, 0) + text
    return text


def render_text(receipt: PrintedReceipt, paper_dots: int = PAPER_DOTS) -> str:
    columns = paper_dots // CELL_W
    out: list[str] = []
    for line in receipt.lines:
        if isinstance(line, TextLine):
            for row in _rows(line, paper_dots):
                text = "".join(c for c, _, _ in row)
                width = sum(d for _, d, _ in row) // CELL_W
                out.append(_aligned(text, width, columns, line.align))
        elif isinstance(line, QrLine):
            text = f"[QR {line.payload}]"
            out.append(_aligned(text, len(text), columns, line.align))
        elif isinstance(line, ImageLine):
            text = f"[image {line.width}x{line.height}]"
            out.append(_aligned(text, len(text), columns, line.align))
        elif isinstance(line, BarcodeLine):
            text = f"[barcode {line.data}]"
            out.append(_aligned(text, len(text), columns, line.align))
        elif isinstance(line, FeedLine):
            out.extend([""] * (line.dots // LINE_PITCH))
    out = [text.rstrip() for text in out]
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n"


class _Fonts:
    _cache: dict[int, ImageFont.FreeTypeFont] = {}

    @classmethod
    def get(cls, size: int = 22) -> ImageFont.FreeTypeFont:
        if size not in cls._cache:
            cls._cache[size] = ImageFont.truetype(CJK_FONT, size)
        return cls._cache[size]


# Glyphs that reach lowest (descenders, the underscore) and highest (tall Chinese strokes).
_LOW, _HIGH = "gjpqy_Q", "中国票"


def _baseline_shift(font) -> int:
    """Where every glyph is drawn in its cell: one offset for all, so letters share a baseline,
    chosen so the descenders of g, j, p, q, y end inside the 24-dot cell and Chinese is not cut
    at the top (the font's ascent + descent is taller than the cell)."""
    bottom = max(font.getbbox(c)[3] for c in _LOW)
    top = min(font.getbbox(c)[1] for c in _HIGH)
    return max(min(1, CELL_H - bottom), -top)


def _glyph_row(row: list[tuple[str, int, Run]]) -> Image.Image:
    """One printed row: each character drawn in its cell, scaled by its run's size."""
    height = max(CELL_H * run.height for _, _, run in row)
    image = Image.new("L", (sum(d for _, d, _ in row), height), 255)
    font = _Fonts.get()
    dy = _baseline_shift(font)
    x = 0
    for char, dots, run in row:
        cell_w = dots // run.width
        left, _, right, _ = font.getbbox(char)
        # a glyph wider than its cell (the font's "m", "W") is drawn wider and squeezed in
        draw_w = max(cell_w, right - left + 2)
        cell = Image.new("L", (draw_w, CELL_H), 255)
        draw = ImageDraw.Draw(cell)
        gx = (draw_w - (right - left)) // 2 - left
        for dx in ((0, 1) if run.bold else (0,)):
            draw.text((gx + dx, dy), char, font=font, fill=0)
        if draw_w != cell_w:
            cell = cell.resize((cell_w, CELL_H), Image.LANCZOS)
            draw = ImageDraw.Draw(cell)
        if run.underline:
            draw.line([(0, CELL_H - 1), (cell_w, CELL_H - 1)], fill=0)
        if run.width != 1 or run.height != 1:
            cell = cell.resize((cell_w * run.width, CELL_H * run.height), Image.NEAREST)
        image.paste(cell, (x, height - cell.height))
        x += dots
    return image


def _qr_image(line: QrLine, paper_dots: int) -> Image.Image:
    module = line.module
    while True:
        qr = qrcode.QRCode(error_correction=_QR_EC[line.ec], box_size=module, border=0)
        qr.add_data(line.payload.encode("utf-8"))
        qr.make(fit=True)
        image = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
        if image.width <= paper_dots or module == 1:
            return image
        module -= 1  # a printer shrinks nothing, but a too-wide symbol must stay on the paper here


def _x(width: int, paper_dots: int, align: str) -> int:
    if align == "center":
        return max((paper_dots - width) // 2, 0)
    if align == "right":
        return max(paper_dots - width, 0)
    return 0


def render_png(receipt: PrintedReceipt, path: str | Path | None = None, paper_dots: int = PAPER_DOTS) -> Image.Image:
    """The paper as a grey-scale image (white paper, black dots); saved as PNG if ``path``."""
    pieces: list[tuple[Image.Image | None, int, int]] = []  # (image, x, height)
    for line in receipt.lines:
        if isinstance(line, TextLine):
            for row in _rows(line, paper_dots):
                if not row:
                    pieces.append((None, 0, LINE_PITCH))
                    continue
                image = _glyph_row(row)
                pieces.append((image, _x(image.width, paper_dots, line.align),
                               image.height + LINE_PITCH - CELL_H))
        elif isinstance(line, QrLine):
            image = _qr_image(line, paper_dots)
            pieces.append((image, _x(image.width, paper_dots, line.align), image.height + 6))
        elif isinstance(line, ImageLine):
            raster = Image.frombytes("1", (line.width, line.height), line.bits).convert("L")
            image = Image.eval(raster, lambda v: 255 - v)  # a set bit is a black dot
            pieces.append((image, _x(image.width, paper_dots, line.align), image.height))
        elif isinstance(line, BarcodeLine):
            text = TextLine(line.align, [Run(f"[barcode {line.data}]")])
            image = _glyph_row(_rows(text, paper_dots)[0])
            pieces.append((image, _x(image.width, paper_dots, line.align), LINE_PITCH))
        elif isinstance(line, FeedLine):
            pieces.append((None, 0, line.dots))
    while pieces and pieces[-1][0] is None:
        pieces.pop()
    height = 2 * MARGIN + sum(h for _, _, h in pieces)
    paper = Image.new("L", (paper_dots, max(height, 2 * MARGIN)), 255)
    y = MARGIN
    for image, x, h in pieces:
        if image is not None:
            paper.paste(image, (x, y))
        y += h
    if path is not None:
        paper.save(path, format="PNG")
    return paper
