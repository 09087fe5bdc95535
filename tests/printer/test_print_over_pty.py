"""A receipt printed through python-escpos over a real pseudo-terminal, read back by the emulator."""

from printer.device import open_printer
from printer.escpos_out import write_receipt
from printer.receipt import build_receipt, parse_qr_payload

from .conftest import DATA, SOFTWARE_ID, VERIFY_URL


def test_chinese_receipt_prints_over_a_pty_exactly_as_the_golden_text(pty_printer, trip, vehicle, signed_link):
    emulator, pty = pty_printer
    receipt = build_receipt(trip, vehicle, SOFTWARE_ID, "zh", e_receipt_link=signed_link)
    with open_printer(pty.path) as printer:
        write_receipt(printer.escpos, receipt)
        assert emulator.wait_for_receipts(1)
    text = emulator.text(0)
    assert text == (DATA / "trip_12_zh.txt").read_text(encoding="utf-8")
    assert "以计价器显示为准" in text
    assert "  燃油附加费              1.00元" in text.splitlines()
    assert emulator.parser.unknown == {} and emulator.parser.decode_errors == 0


def test_qr_payload_decoded_by_the_printer_is_the_e_receipt(pty_printer, trip, vehicle, signed_link):
    emulator, pty = pty_printer
    with open_printer(pty.path) as printer:
        write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID, e_receipt_link=signed_link))
        assert emulator.wait_for_receipts(1)
    payloads = emulator.receipts[0].qr_payloads
    assert payloads == [signed_link] and payloads[0].startswith(VERIFY_URL + "?")
    assert parse_qr_payload(payloads[0])["digest"] == trip["digest"]


def test_english_receipt_matches_its_golden_text(pty_printer, trip, vehicle, signed_link):
    emulator, pty = pty_printer
    with open_printer(pty.path) as printer:
        write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID, "en", e_receipt_link=signed_link))
        assert emulator.wait_for_receipts(1)
    assert emulator.text(0) == (DATA / "trip_12_en.txt").read_text(encoding="utf-8")


def test_two_receipts_are_two_cuts(pty_printer, trip, vehicle):
    emulator, pty = pty_printer
    second = dict(trip, trip_no=13)
    with open_printer(pty.path) as printer:
        write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID))
        write_receipt(printer.escpos, build_receipt(second, vehicle, SOFTWARE_ID))
        assert emulator.wait_for_receipts(2)
    rows = [next(line for line in emulator.text(i).splitlines() if line.startswith("车次")) for i in (0, 1)]
    assert rows[0].split()[-1] == "12" and rows[1].split()[-1] == "13"
