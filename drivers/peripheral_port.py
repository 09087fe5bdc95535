"""A JT/T 905.2 peripheral on its serial port (device layer): what the sign, the meter on the link and
the passenger evaluator share.

``PeripheralPort`` opens the port, runs the reader thread (``read_forever``: block until bytes
come, hand them on, survive a port that fails under them), decodes frames, and — for a device
that is queried (``query_interval_ms``) — paces the status queries and judges the answers with
``SignHealth``: a silent or garbling device raises a fault event (``fault_kind``), its return
clears it. A subclass says what its query is (``_query_frame``) and what a well-formed frame
means (``_frame``). ``start(pace=False)`` leaves the pacing to the caller's clock (``pace(now)``,
the simulator's virtual time); the reader thread runs either way.

A device that is not there at start (unplugged, its udev link missing) does not stop the start:
the port stays closed, what would be sent is dropped, the silence raises the fault as a device
that does not answer, and the reader looks for the path every second (``REOPEN_S``) until it
opens. A URL no device can appear at (an unknown scheme) is refused at ``start()``. A write that
fails (the device unplugged while running) counts as garbage for the health, not an exception
in the caller.

Against a broken or hostile device (docs/meter-link.md "A faulty or hostile device on the bus"):
a second of silence inside a frame drops that cut frame (``line_quiet``); more than
``max_frames_per_s`` frames a second are dropped and counted; an echo of our own frame is named
as loopback wiring; nothing a frame raises ends the reader thread.
"""

import queue
import threading
from collections.abc import Callable

import serial

from drivers.event import Event
from drivers.peripheral_frame import Frame, FrameDecoder, FrameError, Rejected, encode
from drivers.sign_health import SignHealth

REOPEN_S = 1.0     # a device missing at start is looked for again this often


def read_forever(port, stop, on_data, on_error=None, on_quiet=None) -> None:
    """Bytes from ``port`` to ``on_data`` until ``stop`` (a threading.Event) is set. A failed read
    goes to ``on_error(reason)`` and the loop carries on after a short pause: no port trouble may
    end a reader thread. A read that times out with nothing (the port's read timeout of silence)
    calls ``on_quiet()``."""
    while not stop.is_set():
        try:
            data = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            # TypeError/OSError: pyserial's read on a port closed under it while stopping
            if stop.is_set():
                return
            if on_error is not None:
                on_error(f"read failed: {exc}")
            stop.wait(0.05)
            continue
        try:
            if data:
                on_data(data)
            elif on_quiet is not None:
                on_quiet()
        except Exception as exc:  # noqa: BLE001 - a frame nobody foresaw must not end the reader
            if on_error is not None:
                on_error(f"frame not handled: {exc!r}")


class PeripheralPort:
    name = "905.2 peripheral"     # in messages and thread names
    fault_kind = "sign_fault"     # the event a silent or garbling device raises
    # A 9600-baud line carries at most ~87 of the smallest frames a second; more than this many
    # in one second of the caller's clock is a runaway or hostile device. The excess is dropped
    # and counted (``dropped``), never queued: memory stays bounded and every frame the standard
    # wants answered is sent again by the device (records stay unacknowledged until handed on).
    max_frames_per_s = 100

    def __init__(self, url: str, events: queue.Queue, clock: Callable[[], int], *, vendor: int = 0,
                 baudrate: int = 9600, query_interval_ms: int | None = None, answer_timeout_ms: int = 500,
                 fault_after: int = 3) -> None:
        if query_interval_ms is not None and answer_timeout_ms >= query_interval_ms:
            raise ValueError("answer_timeout_ms must be shorter than query_interval_ms")
        self.url = url
        self._events = events
        self._clock = clock
        self.vendor = vendor
        self._baudrate = baudrate
        self.query_interval_ms = query_interval_ms
        self.health = SignHealth(answer_timeout_ms, fault_after)
        self._decoder = FrameDecoder()
        self._lock = threading.Lock()        # health, the decoder and the subclass's fields
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()       # a query went out: the pacer's next deadline moved
        self._threads: list[threading.Thread] = []
        self._port = None
        self.error: str | None = None        # why the port is not open (the device missing at start)
        self._next_query: int | None = None
        self.rejected = 0                    # malformed frames seen
        self.dropped = 0                     # well-formed frames over max_frames_per_s, not handed on
        self._window = (0, 0)                # (second of the caller's clock, frames handed on in it)
        self._recent_out: list = []          # our last frames on the wire: an echo is loopback wiring
        self.bytes_in = 0                    # bytes decoded, and bytes written: the simulator waits
        self.bytes_out = 0                   # for every byte to have crossed before its clock moves

    # --- life cycle --------------------------------------------------------------------------
    def _open(self):
        # A long read timeout: the reader blocks until the device speaks, and close() ends
        # the wait at once with cancel_read(); polling at 20 Hz cost CPU for nothing.
        return serial.serial_for_url(self.url, baudrate=self._baudrate, timeout=1.0)

    def start(self, pace: bool = True):
        try:
            self._port = self._open()
        except ValueError as exc:
            raise serial.SerialException(f"{self.name}: cannot open {self.url}: {exc}") from exc
        except (serial.SerialException, OSError) as exc:
            self.error = f"{self.name}: cannot open {self.url}: {exc}"    # not there yet: looked for
        loops = [(self._read_loop, "reader")]
        if pace and self.query_interval_ms is not None:
            loops.append((self._pace_loop, "pacer"))
        for target, role in loops:
            thread = threading.Thread(target=target, name=f"{self.name}-{role}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._port is not None and hasattr(self._port, "cancel_read"):
            self._port.cancel_read()
        for thread in self._threads:
            thread.join(timeout=2)
        if self._port is not None:
            self._port.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- sending -------------------------------------------------------------------------------
    def _send(self, frame: Frame) -> bool:
        """Write ``frame``; False if it did not reach the line (the device missing or gone)."""
        data = encode(frame)
        with self._write_lock:
            port = self._port
            if port is None:
                return False    # the device is missing: its silence is the fault the health raises
            try:
                port.write(data)
            except (serial.SerialException, OSError, TypeError) as exc:
                if not self._stop.is_set():
                    with self._lock:
                        events = self.health.garbage(self._clock(), f"write failed: {exc}")
                    self._emit(events)
                return False
            self.bytes_out += len(data)
            self._recent_out = (self._recent_out + [frame])[-8:]
            return True

    def _emit(self, events: list) -> None:
        for event in events:
            if event.kind == "sign_fault" and self.fault_kind != "sign_fault":
                event = Event(self.fault_kind, event.t_ms, event.data)
            self._events.put(event)

    def _query_frame(self, t: int) -> Frame:
        raise NotImplementedError

    def query(self) -> None:
        """Send a status query now (the pacer also sends one every ``query_interval_ms``)."""
        t = self._clock()
        with self._lock:
            events = self.health.asked(t)
        self._emit(events)
        self._send(self._query_frame(t))
        self._wake.set()

    # --- pacing --------------------------------------------------------------------------------
    def pace(self, now: int) -> int:
        """One pacing step at ``now``: an overdue answer counts as failed, a due query goes out.
        Returns when the next thing is due."""
        with self._lock:
            events = self.health.due(now)
        self._emit(events)
        if self._next_query is None or now >= self._next_query:
            self._next_query = now + self.query_interval_ms
            try:
                self.query()
            except (serial.SerialException, OSError) as exc:
                if not self._stop.is_set():
                    with self._lock:
                        self.health.garbage(now, f"write failed: {exc}")
        with self._lock:
            deadline = self.health.deadline()
        return self._next_query if deadline is None else min(self._next_query, deadline)

    def _pace_loop(self) -> None:
        """Sleeps until the next thing due (the next query, or the answer deadline of the
        one outstanding), woken early when a query goes out: not a fixed-rate poll."""
        while not self._stop.is_set():
            self._wake.clear()  # before reading the deadline: a query after this still wakes us
            until = self.pace(self._clock())
            if self._stop.is_set():
                return
            self._wake.wait(min(max(until - self._clock(), 5), 1000) / 1000)

    # --- reading -------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while self._port is None:
            if self._stop.wait(REOPEN_S):
                return
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.error = f"{self.name}: cannot open {self.url}: {exc}"
                continue
            with self._write_lock:
                self._port = port
            self.error = None
        read_forever(self._port, self._stop, self.received, self._read_failed, self.line_quiet)

    def line_quiet(self) -> None:
        """A second of silence (the read timeout): a frame still unfinished was cut."""
        with self._lock:
            if not self._decoder.pending:
                return
            items = self._decoder.line_quiet()
        self._take(items, self._clock())

    def _read_failed(self, reason: str) -> None:
        with self._lock:
            self._emit(self.health.garbage(self._clock(), reason))

    def _frame(self, frame: Frame, t: int, events: list):
        """A well-formed frame (under the lock): FrameError if it makes no sense here; may return a
        callable to run once the events are on the queue (an answer to send)."""
        raise NotImplementedError

    def received(self, data: bytes) -> None:
        """Decode bytes from the device (the reader thread; tests call it directly)."""
        t = self._clock()
        with self._lock:
            items = self._decoder.feed(data)
        self._take(items, t)
        with self._lock:
            self.bytes_in += len(data)

    def _take(self, items: list, t: int) -> None:
        """Decoded frames and rejected bytes, in stream order, to events and answers."""
        events: list = []
        after = []
        with self._lock:
            for item in items:
                if isinstance(item, Rejected):
                    self.rejected += 1
                    events += self.health.garbage(t, item.reason)
                    continue
                if not self._within_rate(t):
                    self.dropped += 1
                    continue
                try:
                    then = self._frame(item, t, events)
                except FrameError as exc:
                    self.rejected += 1
                    reason = str(exc)
                    if item in self._recent_out:
                        reason = "echo of the terminal's own frame (TX wired to RX?): " + reason
                    events += self.health.garbage(t, reason)
                    continue
                except Exception as exc:  # noqa: BLE001 - one unforeseen frame must not cost the next ones
                    self.rejected += 1
                    events += self.health.garbage(t, f"frame not handled: {exc!r}")
                    continue
                if then is not None:
                    after.append(then)
        self._emit(events)
        for then in after:
            try:
                then()
            except (serial.SerialException, OSError) as exc:
                if not self._stop.is_set():
                    self._read_failed(f"answer not sent: {exc}")

    def _within_rate(self, t: int) -> bool:
        second, count = self._window
        if t // 1000 != second:
            second, count = t // 1000, 0
        self._window = (second, count + 1)
        return count < self.max_frames_per_s
