"""The virtual clock's in-process adapters say what the real ones say: printer status and receipts over the
loopback port, NMEA times cut from milliseconds, the spooler stepped only when its worker would wake."""

import datetime
import queue

from hypothesis import given, settings
from hypothesis import strategies as st

from printer.spooler import MemoryJobStore, Spooler
from printer.status import query_status
from sim.gnss_emulator import _stamp
from sim.loopback_port import open_loopback_printer
from sim.printer_emulator import PrinterEmulator

RECEIPT = b"\x1b@" + "车费 12.00 元\n".encode("gb18030") + b"\x1dV\x00"


def test_loopback_printer_reports_ready_paper_out_and_silence_like_the_pty():
    emulator = PrinterEmulator(out_dir=None)
    conn = open_loopback_printer("sim://printer", emulator.feed)
    assert query_status(conn).ready
    emulator.set_state(paper_out=True)
    status = query_status(conn)
    assert not status.ready and status.reason == "paper_out"
    emulator.set_state(paper_out=False, silent=True)
    assert not query_status(conn).ready          # no answer at all, as from a switched-off printer
    emulator.set_state(silent=False)
    assert query_status(conn).ready


def test_loopback_printer_prints_a_receipt_whole():
    emulator = PrinterEmulator(out_dir=None)
    conn = open_loopback_printer("sim://printer", emulator.feed)
    conn.write(RECEIPT)
    assert len(emulator.receipts) == 1
    assert "12.00" in emulator.text(0)


def test_spooler_over_loopback_holds_on_paper_out_and_prints_when_it_is_back():
    emulator = PrinterEmulator(out_dir=None)
    events: queue.Queue = queue.Queue()
    spooler = Spooler(MemoryJobStore(), lambda: open_loopback_printer("sim://printer", emulator.feed), events,
                      lambda: 0)
    emulator.set_state(paper_out=True)
    from printer.spooler import PrintJob
    spooler.store.add(PrintJob("receipt 1", RECEIPT))
    assert spooler.run_once() == "held"
    assert events.get_nowait().data["reason"] == "paper_out"
    emulator.set_state(paper_out=False)
    assert spooler.run_once() == "printed"
    assert len(emulator.receipts) == 1 and spooler.run_once() == "idle"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=4_102_444_800_000), st.sampled_from(["ublox", "mtk", "beidou"]))
def test_nmea_time_fields_cut_from_milliseconds_match_the_calendar(epoch_ms, style):
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC)
    hms = moment.strftime("%H%M%S") + (f".{moment.microsecond // 10000:02d}" if style == "ublox"
                                       else f".{moment.microsecond // 1000:03d}")
    got_hms, got_dmy, day = _stamp(epoch_ms, style, {})
    assert (got_hms, got_dmy) == (hms, moment.strftime("%d%m%y"))
    assert (day.year, day.month, day.day) == (moment.year, moment.month, moment.day)
