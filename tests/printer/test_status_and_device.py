"""Real-time status parsing, printer URLs, and the network (TCP 9100-style) path to the emulator."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printer.device import PrinterOpenError, open_printer
from printer.escpos_out import write_receipt
from printer.receipt import build_receipt
from printer.status import query_status, summarise
from sim.printer_emulator import PrinterEmulator

from .conftest import SOFTWARE_ID

OK = {1: b"\x12", 2: b"\x12", 3: b"\x12", 4: b"\x12"}


def test_status_bits():
    assert summarise(OK).ready
    assert summarise({**OK, 1: b"\x1a"}).reason == "offline"
    assert summarise({**OK, 1: b"\x1a", 2: b"\x16"}).reason == "cover_open"
    assert summarise({**OK, 4: b"\x72"}).reason == "paper_out"
    assert summarise({**OK, 2: b"\x32"}).paper_out
    near = summarise({**OK, 4: b"\x1e"})
    assert near.ready and near.paper_near_end
    assert summarise({**OK, 3: b"\x1a"}).reason == "error"
    assert summarise({**OK, 3: b""}).reason == "no_reply"


@given(st.dictionaries(st.integers(1, 4), st.binary(max_size=3)))
def test_any_replies_give_a_status_and_only_well_formed_ones_can_be_ready(replies):
    status = summarise(replies)
    if status.ready:
        assert all(len(replies[n]) == 1 and replies[n][0] & 0x93 == 0x12 for n in (1, 2, 3, 4))
        assert status.online and not (status.paper_out or status.cover_open)


@pytest.mark.parametrize("url,needle", [
    ("/dev/does-not-exist", "/dev/does-not-exist"),
    ("tcp://127.0.0.1:1", "tcp://127.0.0.1:1"),
    ("tcp://:9100", "no host"),
    ("usb://zz:1", "usb://VID:PID"),
    ("lpt://printer", "unknown scheme"),
    ("", "empty"),
])
def test_unopenable_urls_name_the_url(url, needle):
    with pytest.raises(PrinterOpenError, match=needle.replace(".", r"\.")):
        open_printer(url)


def test_dummy_printer_collects_bytes_and_never_reports_ready(trip, vehicle):
    with open_printer("dummy://") as printer:
        write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID))
        assert printer.escpos.output.startswith(b"\x1b@\x1c&")
        assert query_status(printer, 0.01).reason == "no_reply"


def test_network_printer_path_prints_and_reports_status(trip, vehicle, signed_link):
    with PrinterEmulator() as emulator:
        port = emulator.serve_tcp("127.0.0.1", 0)
        with open_printer(f"tcp://127.0.0.1:{port}") as printer:
            assert query_status(printer).ready
            emulator.set_state(cover_open=True)
            assert query_status(printer).reason == "cover_open"
            emulator.set_state(cover_open=False)
            write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID, "en", e_receipt_link=signed_link))
            assert emulator.wait_for_receipts(1)
        assert "TOTAL  CNY 42.00" in emulator.text(0)
        assert emulator.receipts[0].qr_payloads == [signed_link]


def test_emulator_listens_on_loopback_only():
    with PrinterEmulator() as emulator, pytest.raises(ValueError, match="loopback"):
        emulator.serve_tcp("0.0.0.0", 0)


def test_emulator_writes_text_and_png_per_receipt(tmp_path, pty_printer, trip, vehicle):
    emulator, pty = pty_printer
    emulator.out_dir = tmp_path
    with open_printer(pty.path) as printer:
        write_receipt(printer.escpos, build_receipt(trip, vehicle, SOFTWARE_ID))
        assert emulator.wait_for_receipts(1)
    emulator.flush_files()
    assert (tmp_path / "receipt_0001.txt").read_text(encoding="utf-8") == emulator.text(0)
    from PIL import Image
    with Image.open(tmp_path / "receipt_0001.png") as image:
        assert image.width == 384 and image.height > 600


@pytest.mark.parametrize("argv, says", [
    (["--tcp", "99999"], "--tcp 99999: must be 0..65535"),
    (["--tcp", "-1"], "--tcp -1: must be 0..65535"),
])
def test_the_emulator_module_refuses_a_bad_port_in_one_line(tmp_path, capsys, argv, says):
    """docs/printer.md starts the emulator as `python -m sim.printer_emulator`: a port that cannot
    be is a usage error (exit 2, one line), not a traceback."""
    from sim.printer_emulator import main
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path / "receipts")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


def test_the_emulator_module_refuses_a_receipts_folder_it_cannot_make(tmp_path, capsys):
    from sim.printer_emulator import main
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as stop:
        main(["--pty", "--out", str(tmp_path / "file" / "receipts")])
    assert stop.value.code == 2
    assert "cannot make the receipts folder" in capsys.readouterr().err
