"""The receipt queue against the emulator on a real pty: held while the printer cannot print,
nothing lost, printed once it can."""

import queue

import pytest

from printer.device import open_printer
from printer.receipt import build_receipt
from printer.spooler import MemoryJobStore, PrintJob, Spooler, SpoolerError

from .conftest import SOFTWARE_ID


class Clock:
    def __init__(self) -> None:
        self.ms = 1795000960000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def spooled(pty_printer):
    emulator, pty = pty_printer
    events: queue.Queue = queue.Queue()
    store = MemoryJobStore()
    spooler = Spooler(store, connect=lambda: open_printer(pty.path), events=events, clock=Clock(),
                      status_timeout_s=0.2)
    yield emulator, spooler, store, events
    spooler.stop()


def drain(events: queue.Queue) -> list:
    out = []
    while not events.empty():
        out.append(events.get_nowait())
    return out


def receipts_of(emulator) -> list[str]:
    return [next(line.split()[-1] for line in emulator.text(i).splitlines() if line.startswith("车次"))
            for i in range(len(emulator.receipts))]


@pytest.mark.parametrize("state,reason", [({"paper_out": True}, "paper_out"),
                                          ({"cover_open": True}, "cover_open"),
                                          ({"offline": True}, "offline"),
                                          ({"silent": True}, "no_reply")])
def test_job_waits_while_the_printer_cannot_print_then_prints_once(spooled, trip, vehicle, state, reason):
    emulator, spooler, store, events = spooled
    emulator.set_state(**state)
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    assert spooler.run_once() == "held"
    assert spooler.run_once() == "held"
    reported = drain(events)
    assert len(reported) == 1  # reported once, not on every retry
    assert reported[0].kind == "printer_status" and reported[0].data["reason"] == reason
    assert reported[0].t_ms == 1795000960000
    assert store.peek() is not None and emulator.receipts == [] and emulator.parser.dropped == 0

    emulator.set_state(**{name: False for name in state})
    assert spooler.run_once() == "printed"
    assert emulator.wait_for_receipts(1)
    assert spooler.run_once() == "idle"
    assert store.peek() is None
    assert [e.data["reason"] for e in drain(events)] == [None]
    assert receipts_of(emulator) == ["12"]


def test_event_data_says_what_the_driver_must_fix(spooled, trip, vehicle):
    emulator, spooler, _, events = spooled
    emulator.set_state(paper_out=True)
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    spooler.run_once()
    (event,) = drain(events)
    assert event.data == {"online": False, "paper_out": True, "cover_open": False, "paper_near_end": False,
                          "reason": "paper_out", "detail": ""}


@pytest.mark.parametrize("garbage", [b"\xff", b"\x00", b"\x80\x81", b"\x13"])
def test_malformed_status_replies_never_crash_and_keep_the_job(spooled, trip, vehicle, garbage):
    emulator, spooler, store, events = spooled
    emulator.reply_override = garbage
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    assert spooler.run_once() == "held"
    assert drain(events)[0].data["reason"] == "malformed_reply"
    emulator.reply_override = None
    assert spooler.run_once() == "printed"
    assert emulator.wait_for_receipts(1)


def test_jobs_print_in_order_and_reprint_is_marked(spooled, trip, vehicle):
    emulator, spooler, _, _ = spooled
    emulator.set_state(cover_open=True)
    for n in (12, 13, 14):
        spooler.submit_receipt(build_receipt(dict(trip, trip_no=n), vehicle, SOFTWARE_ID))
    spooler.reprint_last()
    assert spooler.run_once() == "held"
    emulator.set_state(cover_open=False)
    while spooler.run_once() == "printed":
        pass
    assert emulator.wait_for_receipts(4)
    assert receipts_of(emulator) == ["12", "13", "14", "14"]
    assert "补打 (副本)" not in emulator.text(2) and "补打 (副本)" in emulator.text(3)


def test_worker_thread_prints_after_paper_is_back(spooled, trip, vehicle):
    emulator, spooler, store, events = spooled
    emulator.set_state(paper_out=True)
    spooler.retry_s = 0.05
    spooler.start()
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    first = events.get(timeout=10)
    assert first.data["reason"] == "paper_out"
    emulator.set_state(paper_out=False)
    spooler.kick()
    assert emulator.wait_for_receipts(1)
    # a status read while the paper went back in may be torn (offline bit from before, paper bits
    # from after): what matters is that ready is reported once it prints
    reasons = [events.get(timeout=10).data["reason"]]
    while reasons[-1] is not None:
        reasons.append(events.get(timeout=10).data["reason"])
    spooler.stop()
    assert store.peek() is None and len(emulator.receipts) == 1


def test_unopenable_printer_keeps_the_job_and_says_why(trip, vehicle):
    events: queue.Queue = queue.Queue()
    store = MemoryJobStore()
    spooler = Spooler(store, connect=lambda: open_printer("/dev/nonexistent-printer"), events=events,
                      clock=Clock())
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    assert spooler.run_once() == "held"
    event = events.get_nowait()
    assert event.data["reason"] == "link_error" and "/dev/nonexistent-printer" in event.data["detail"]
    assert store.peek() is not None


def test_reprint_without_a_receipt_and_empty_jobs_are_refused():
    spooler = Spooler(MemoryJobStore(), connect=lambda: None, events=queue.Queue(), clock=Clock())
    with pytest.raises(SpoolerError, match="no receipt"):
        spooler.reprint_last()
    with pytest.raises(SpoolerError):
        MemoryJobStore().add(PrintJob("empty", b""))
    with pytest.raises(SpoolerError, match="no print job 7"):
        MemoryJobStore().remove(7)


def test_paper_near_end_prints_but_is_reported(spooled, trip, vehicle):
    emulator, spooler, _, events = spooled
    emulator.set_state(paper_near_end=True)
    spooler.submit_receipt(build_receipt(trip, vehicle, SOFTWARE_ID))
    assert spooler.run_once() == "printed"
    (event,) = drain(events)
    assert event.data["paper_near_end"] is True and event.data["reason"] is None
    assert emulator.wait_for_receipts(1)


def test_paper_out_is_reported_while_idle_from_the_printers_real_time_status(spooled):
    """Issue 14, item 2: the driver learns of paper out when the printer says so, not at the next receipt."""
    emulator, spooler, store, events = spooled
    assert spooler.run_once() == "idle" and drain(events) == []  # not in the rush of the start
    spooler._clock.ms += int(spooler.idle_poll_s * 1000)
    assert spooler.run_once() == "idle"
    first = drain(events)
    assert first and first[-1].data["reason"] is None          # asked after idle_poll_s: ready
    emulator.set_state(paper_out=True)
    spooler._clock.ms += 1000
    assert spooler.run_once() == "idle" and drain(events) == []  # not asked again before idle_poll_s
    spooler._clock.ms += int(spooler.idle_poll_s * 1000)
    assert spooler.run_once() == "idle"
    reported = drain(events)
    assert [e.data["reason"] for e in reported] == ["paper_out"] and reported[0].data["paper_out"]
    emulator.set_state(paper_out=False)
    spooler._clock.ms += int(spooler.idle_poll_s * 1000)
    spooler.run_once()
    assert [e.data["reason"] for e in drain(events)] == [None]
