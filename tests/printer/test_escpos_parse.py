"""The emulator's ESC/POS parser and renderer, fed by python-escpos's own byte stream."""

from escpos.printer import Dummy
from hypothesis import given, settings
from hypothesis import strategies as st

from printer.preview.parse import EscposParser, QrLine, TextLine
from printer.preview.render import PAPER_DOTS, render_png, render_text


def parse(data: bytes, **kw) -> EscposParser:
    parser = EscposParser(**kw)
    parser.feed(data)
    return parser


def test_styles_alignment_and_size_from_python_escpos():
    p = Dummy()
    p.hw("INIT")
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln("BIG")
    p.set(align="right", bold=False, normal_textsize=True)
    p.textln("right")
    p.set(custom_size=True, width=3, height=2)
    p.textln("W")
    p.cut()
    parser = parse(p.output)
    lines = [line for line in parser.receipts[0].lines if isinstance(line, TextLine) and line.text]
    big, right, wide = lines
    assert (big.align, big.runs[0].bold, big.runs[0].width, big.runs[0].height) == ("center", True, 2, 2)
    assert (right.align, right.runs[0].bold, right.runs[0].width) == ("right", False, 1)
    assert (wide.runs[0].width, wide.runs[0].height) == (3, 2)
    text = render_text(parser.receipts[0]).splitlines()
    assert text[0] == " " * 13 + "BIG" and text[1] == " " * 27 + "right"


def test_code_page_text_cp437_and_others_through_magic_encode():
    p = Dummy()
    p.hw("INIT")
    p._raw(b"\x1c.")  # Chinese mode off: single-byte code pages
    p.textln("Grüße, Señor ½ €")
    p.cut()
    parser = parse(p.output)
    assert render_text(parser.receipts[0]).splitlines()[0] == "Grüße, Señor ½ €"
    assert parser.decode_errors == 0


def test_cp437_box_drawing_bytes_directly():
    parser = parse(b"\x1b@\x1c.\x1bt\x00\xc9\xcd\xbb\x0a\x1dV\x00")
    assert render_text(parser.receipts[0]) == "╔═╗\n"


def test_gb18030_two_and_four_byte_characters_in_chinese_mode():
    text = "车费 ¥31 𠀀"  # ¥ and U+20000 are four-byte GB18030 sequences
    parser = parse(b"\x1b@\x1c&" + text.encode("gb18030") + b"\n\x1dV\x00")
    assert render_text(parser.receipts[0]) == text + "\n"


def test_unknown_commands_are_skipped_and_counted():
    parser = parse(b"\x1b@\x1b\x99AB\n\x1d\xeeC\n\x1c\xf0D\n\x05E\n\x1dV\x00")
    assert [line.text for line in parser.receipts[0].lines] == ["AB", "C", "D", "E"]
    assert parser.unknown == {"ESC 0x99": 1, "GS 0xee": 1, "FS 0xf0": 1, "CTL 0x05": 1}


def test_status_queries_are_answered_in_the_middle_of_print_data():
    parser = EscposParser(status_reply=lambda n: bytes([0x10 + n]))
    replies = parser.feed(b"abc\x10\x04\x01de\x10\x04\x04f\x10\x04\x07")
    assert replies == [b"\x11", b"\x14"]
    assert parser.unknown == {"DLE EOT 7": 1}


def test_qr_with_a_chinese_payload_and_raster_image():
    p = Dummy()
    p.hw("INIT")
    p.set(align="center")
    p.qr("TAXI1|粤A12345|1|100|" + "0" * 64, native=True, size=4)
    p.image(_checker(16, 8))
    p.cut()
    parser = parse(p.output)
    qr = [line for line in parser.receipts[0].lines if isinstance(line, QrLine)]
    assert [(q.payload, q.module, q.align) for q in qr] == [("TAXI1|粤A12345|1|100|" + "0" * 64, 4, "center")]
    assert "[image 16x8]" in render_text(parser.receipts[0])
    image = render_png(parser.receipts[0])
    assert image.width == PAPER_DOTS and image.getextrema() == (0, 255)


def _checker(width, height):
    from PIL import Image
    image = Image.new("1", (width, height), 1)
    for x in range(0, width, 2):
        image.putpixel((x, 0), 0)
    return image


def test_held_printer_drops_print_data_but_answers_status():
    parser = EscposParser(status_reply=lambda n: b"\x12", hold=lambda: "paper_out")
    assert parser.feed(b"\x1b@lost text\n\x10\x04\x01\x1dV\x00") == [b"\x12"]
    assert parser.receipts == [] and parser.dropped > 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash_the_parser_or_renderer(data):
    parser = EscposParser(status_reply=lambda n: b"\x12")
    parser.feed(data + b"\x1dV\x00")
    for receipt in parser.receipts:
        render_text(receipt)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([b"\x1dv0\x00\x01\x00\x02\x00", b"\x1d(k\x03\x001Q0", b"\x1d!\x11",
                                 b"\x1b!\x38", b"\x1ba\x01", "车".encode("gb18030"), b"\n", b"\xff", b"x"]),
                max_size=30))
def test_command_soup_always_renders_to_a_png(pieces):
    parser = EscposParser()
    parser.feed(b"".join(pieces) + b"\n\x1dV\x00")
    image = render_png(parser.receipts[-1] if parser.receipts else parser.pending)
    assert image.width == PAPER_DOTS


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(codec="gb18030", exclude_categories=("Cc", "Cs")), max_size=40),
       st.lists(st.integers(1, 50), max_size=8))
def test_gb18030_text_survives_any_chunking(text, cuts):
    data = b"\x1b@\x1c&\x1b!\x08" + text.encode("gb18030") + b"\n\x1dV\x00"
    whole = parse(data)
    split = EscposParser()
    at = 0
    for n in cuts:
        split.feed(data[at:at + n])
        at += n
    split.feed(data[at:])
    assert [line.text for line in split.receipts[0].lines] == [line.text for line in whole.receipts[0].lines]
    assert "".join(line.text for line in whole.receipts[0].lines) == text
