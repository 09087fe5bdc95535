"""The receipt queue: jobs print in order, and a job leaves the queue only once written whole.

Before each job the spooler asks the printer's real-time status, and while the queue is
empty it asks every ``idle_poll_s`` too, so the driver sees paper out (缺纸) from the
moment the printer reports it, not only when the next receipt is due. Offline, no reply,
paper out, cover open or a printer error keep the job in the queue; the reason goes to
the one loop as ``Event("printer_status", t_ms, {...})`` (whenever it changes) and the
job is tried again later. The trip itself was stored before its receipt was queued, so
nothing is lost; a write that fails half way keeps the job, which then prints whole
again (a torn copy is possible, a lost receipt is not).

Storage is injected (``JobStore``: add / peek / remove); ``MemoryJobStore`` is the
in-memory one, the terminal supplies a durable one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from drivers.event import Event
from printer.device import DEFAULT_COLUMNS, PrinterConnection, PrinterLinkError, PrinterOpenError
from printer.status import PrinterStatus, query_status

if TYPE_CHECKING:   # the receipt layout and its ESC/POS rendering load at the first receipt
    from printer.receipt import Receipt


@dataclass(frozen=True)
class PrintJob:
    label: str   # e.g. "receipt 12", shown to the driver and in logs
    data: bytes  # the complete ESC/POS byte stream


class JobStore(Protocol):
    def add(self, job: PrintJob) -> int: ...
    def peek(self) -> tuple[int, PrintJob] | None: ...
    def remove(self, job_id: int) -> None: ...


class SpoolerError(Exception):
    pass


class MemoryJobStore:
    """Jobs in memory, first in first out; ids increase."""

    def __init__(self) -> None:
        self._jobs: dict[int, PrintJob] = {}
        self._next = 1
        self._lock = threading.Lock()

    def add(self, job: PrintJob) -> int:
        if not isinstance(job, PrintJob) or not job.data:
            raise SpoolerError("a print job needs a label and non-empty data")
        with self._lock:
            job_id = self._next
            self._next += 1
            self._jobs[job_id] = job
            return job_id

    def peek(self) -> tuple[int, PrintJob] | None:
        with self._lock:
            if not self._jobs:
                return None
            job_id = min(self._jobs)
            return job_id, self._jobs[job_id]

    def remove(self, job_id: int) -> None:
        with self._lock:
            if job_id not in self._jobs:
                raise SpoolerError(f"no print job {job_id}")
            del self._jobs[job_id]

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)


class Spooler:
    """Prints queued jobs on the printer that ``connect()`` opens (re-opened after a link error)."""

    def __init__(self, store: JobStore, connect: Callable[[], PrinterConnection], events,
                 clock: Callable[[], int], status_timeout_s: float = 0.5, retry_s: float = 2.0,
                 columns: int = DEFAULT_COLUMNS, idle_poll_s: float = 5.0) -> None:
        self.store = store
        self._connect = connect
        self._events = events
        self._clock = clock
        self.status_timeout_s = status_timeout_s
        self.retry_s = retry_s
        self.idle_poll_s = idle_poll_s
        self._polled_ms = clock()         # the first idle ask comes idle_poll_s after start, not in the boot rush
        self.columns = columns
        self._connection: PrinterConnection | None = None
        self._last_reported: dict | None = None
        self._last_receipt: Receipt | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status: PrinterStatus | None = None

    # -- queueing (called from the terminal's loop)
    def submit_receipt(self, receipt: Receipt) -> int:
        from printer.escpos_out import receipt_bytes
        job_id = self.store.add(PrintJob(f"receipt {receipt.trip_no}", receipt_bytes(receipt, self.columns)))
        with self._lock:
            self._last_receipt = receipt
        self._wake.set()
        return job_id

    def reprint_last(self) -> int:
        """Queue a copy of the last receipt, marked as a reprint."""
        with self._lock:
            receipt = self._last_receipt
        if receipt is None:
            raise SpoolerError("no receipt to reprint yet")
        from printer.escpos_out import receipt_bytes
        from printer.receipt import as_reprint
        job_id = self.store.add(PrintJob(f"reprint {receipt.trip_no}",
                                         receipt_bytes(as_reprint(receipt), self.columns)))
        self._wake.set()
        return job_id

    def kick(self) -> None:
        """Try again now (e.g. the driver says the paper is back)."""
        self._wake.set()

    # -- one step (the worker thread, or a test, calls this)
    def run_once(self) -> str:
        """Print the job at the head of the queue if the printer is ready.

        Returns "idle" (nothing queued), "held" (job kept; reason reported) or "printed".
        Idle, it asks the printer's status once ``idle_poll_s`` has passed on the clock.
        """
        head = self.store.peek()
        if head is None:
            now = self._clock()
            if now - self._polled_ms >= self.idle_poll_s * 1000:
                self._report(self._status())
            return "idle"
        job_id, job = head
        status = self._status()
        if not status.ready:
            self._report(status)
            return "held"
        try:
            self._connection.write(job.data)
        except PrinterLinkError as exc:
            self._drop_connection()
            self._report(PrinterStatus(online=False, reason="link_error", detail=str(exc)))
            return "held"
        self.store.remove(job_id)
        self._report(status)
        return "printed"

    def _status(self) -> PrinterStatus:
        self._polled_ms = self._clock()
        if self._connection is None:
            try:
                self._connection = self._connect()
            except PrinterOpenError as exc:
                return PrinterStatus(online=False, reason="link_error", detail=str(exc))
        status = query_status(self._connection, self.status_timeout_s)
        if status.reason == "link_error":
            self._drop_connection()
        return status

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except OSError:
                pass  # the link is already broken; reopening is what matters
            self._connection = None

    def _report(self, status: PrinterStatus) -> None:
        self.status = status
        data = status.event_data()
        if data != self._last_reported:
            self._last_reported = data
            self._events.put(Event("printer_status", self._clock(), data))

    # -- the worker thread
    def start(self) -> None:
        if self._thread is not None:
            raise SpoolerError("spooler already started")
        self._thread = threading.Thread(target=self._run, name="receipt-spooler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._drop_connection()

    def _run(self) -> None:
        while not self._stop.is_set():
            outcome = self.run_once()
            if outcome == "printed":
                continue
            self._wake.wait(self.idle_poll_s if outcome == "idle" else self.retry_s)
            self._wake.clear()
