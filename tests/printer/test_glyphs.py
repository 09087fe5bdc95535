"""The paper preview draws whole glyphs: descenders (g, y, p) and Chinese characters are not cut (issue 14, item 7)."""

import pytest
from PIL import Image, ImageDraw

from printer.preview.parse import Run
from printer.preview.render import CELL_H, CELL_W, _Fonts, _glyph_row


def inked_rows(image: Image.Image) -> int:
    """How many pixel rows carry ink: a glyph cut at the top or bottom of its cell has fewer."""
    return sum(1 for y in range(image.height) if any(image.getpixel((x, y)) < 160 for x in range(image.width)))


@pytest.mark.parametrize("char", list("gjpqyQ_AbW") + ["中", "票", "元"])
def test_every_glyph_lies_whole_in_its_cell(char):
    row = _glyph_row([(char, CELL_W * (2 if ord(char) > 0x7F else 1), Run(char))])
    free = Image.new("L", (CELL_W * 4, CELL_H * 3), 255)
    ImageDraw.Draw(free).text((CELL_W, CELL_H), char, font=_Fonts.get(), fill=0)
    assert row.height == CELL_H
    assert inked_rows(row) == inked_rows(free), f"{char!r} is cut"


def test_letters_share_one_baseline():
    a, g = (_glyph_row([(c, CELL_W, Run(c))]) for c in "ag")

    def top(image):
        return min(y for y in range(image.height) if any(image.getpixel((x, y)) < 160 for x in range(image.width)))
    assert top(a) == top(g)            # x-height letters start on the same row
