"""Rooftop sign driver: sends the sign its state over a serial port and watches that it answers.

The port is anything pyserial opens (``/dev/ttyUSB0``, a pseudo-terminal, ``socket://``, ``loop://``).
Commands go out at once from the caller's thread (the loop); a reader thread decodes what comes back
and a pacer thread sends the periodic status query. The only thing either thread hands the loop is a
``sign_fault`` event on its queue. What to show is decided elsewhere (``SignFollower``).
"""

import queue
import threading
from collections.abc import Callable

import serial

from drivers.peripheral_port import read_forever
from drivers.sign_follower import SignFollower
from drivers.sign_frame import (
    ACK_OK,
    CMD_CLEAR_MARK,
    CMD_QUERY,
    CMD_RESET,
    CMD_SET_BAUD,
    CMD_SET_MARK,
    CMD_SET_NIGHT,
    CMD_SET_STARS,
    CMD_SET_STATE,
    DEVICE_TOP_LIGHT,
    Frame,
    FrameDecoder,
    FrameError,
    Rejected,
    TopLightStatus,
    clear_mark_frame,
    encode,
    mark_frame,
    night_frame,
    parse_ack,
    parse_status,
    query_frame,
    reset_frame,
    stars_frame,
    state_frame,
)
from drivers.sign_health import SignHealth

__all__ = ["SignDriver", "SignFollower"]

_ACKED = (CMD_RESET, CMD_SET_BAUD, CMD_SET_STATE, CMD_SET_STARS, CMD_SET_NIGHT, CMD_SET_MARK, CMD_CLEAR_MARK)


class SignDriver:
    def __init__(
        self,
        url: str,
        events: queue.Queue,
        clock: Callable[[], int],
        *,
        vendor: int = 0x00,
        baudrate: int = 9600,
        query_interval_ms: int = 5000,
        answer_timeout_ms: int = 500,
        fault_after: int = 3,
        utc_offset_min: int = 480,
    ) -> None:
        if answer_timeout_ms >= query_interval_ms:
            raise ValueError("answer_timeout_ms must be shorter than query_interval_ms")
        self.url = url
        self._events = events
        self._clock = clock
        self.vendor = vendor
        self._baudrate = baudrate
        self.query_interval_ms = query_interval_ms
        self._utc_offset_min = utc_offset_min
        self.health = SignHealth(answer_timeout_ms, fault_after)
        self._decoder = FrameDecoder()
        self._lock = threading.Lock()  # health and the fields below
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a query went out: the pacer's next deadline moved
        self._threads: list[threading.Thread] = []
        self._port = None
        self.wanted: str | None = None
        self._unacked = 0  # state commands sent and not yet acknowledged
        self._shown_at = 0
        self.status: TopLightStatus | None = None
        self.acks: dict[int, int] = {}  # command -> last result byte
        self.rejected = 0  # malformed answers seen

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> "SignDriver":
        try:
            # A long read timeout: the reader blocks until the sign speaks, and close() ends
            # the wait at once with cancel_read(); polling at 20 Hz cost CPU for nothing.
            self._port = serial.serial_for_url(self.url, baudrate=self._baudrate, timeout=1.0)
        except (serial.SerialException, ValueError) as exc:
            raise serial.SerialException(f"rooftop sign: cannot open {self.url}: {exc}") from exc
        for target, name in ((self._read_loop, "sign-reader"), (self._pace_loop, "sign-pacer")):
            thread = threading.Thread(target=target, name=name, daemon=True)
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

    def __enter__(self) -> "SignDriver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- commands (called from the loop) ---------------------------------------------------------

    def show(self, state: str) -> None:
        """Show ``state`` (vacant, occupied, out_of_service, on_call, alarm, ...)."""
        frame = state_frame(state, self.vendor)
        with self._lock:
            self.wanted = state
            self._unacked += 1
            self._shown_at = self._clock()
        self._send(frame)

    def night(self, on: bool) -> None:
        self._send(night_frame(on, self.vendor))

    def stars(self, stars: int) -> None:
        self._send(stars_frame(stars, self.vendor))

    def show_mark(self, data: bytes) -> None:
        """Show the anti-counterfeit mark (0x0013) the platform issued; ``clear_mark`` stops it."""
        self._send(mark_frame(data, self.vendor))

    def clear_mark(self) -> None:
        self._send(clear_mark_frame(self.vendor))

    def reset(self) -> None:
        self._send(reset_frame(self.vendor))

    def query(self) -> None:
        """Send a status query now (the pacer also sends one every ``query_interval_ms``)."""
        t = self._clock()
        with self._lock:
            events = self.health.asked(t)
        self._emit(events)
        self._send(query_frame(t, self.vendor, self._utc_offset_min))
        self._wake.set()

    def _send(self, frame: Frame) -> None:
        if self._port is None:
            raise RuntimeError("rooftop sign driver not started")
        data = encode(frame)
        with self._write_lock:
            self._port.write(data)

    def _emit(self, events: list) -> None:
        for event in events:
            self._events.put(event)

    # --- threads -------------------------------------------------------------------------------

    def _pace_loop(self) -> None:
        """Sleeps until the next thing due (the next query, or the answer deadline of the
        one outstanding), woken early when a query goes out: not a fixed-rate poll."""
        next_query = self._clock()
        while not self._stop.is_set():
            self._wake.clear()  # before reading the deadline: a query after this still wakes us
            t = self._clock()
            with self._lock:
                events = self.health.due(t)
            self._emit(events)
            if t >= next_query:
                next_query = t + self.query_interval_ms
                try:
                    self.query()
                except serial.SerialException as exc:
                    if self._stop.is_set():
                        return
                    with self._lock:
                        self.health.garbage(t, f"write failed: {exc}")
            until = next_query
            with self._lock:
                deadline = self.health.deadline()
            if deadline is not None:
                until = min(until, deadline)
            self._wake.wait(min(max(until - self._clock(), 5), 1000) / 1000)

    def _read_loop(self) -> None:
        read_forever(self._port, self._stop, self._received, self._read_failed)

    def _read_failed(self, reason: str) -> None:
        with self._lock:
            self.health.garbage(self._clock(), reason)

    def _received(self, data: bytes) -> None:
        t = self._clock()
        events: list = []
        resend = None
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, Rejected):
                    self.rejected += 1
                    events += self.health.garbage(t, item.reason)
                    continue
                try:
                    resend = self._answer(item, t, events) or resend
                except FrameError as exc:
                    self.rejected += 1
                    events += self.health.garbage(t, str(exc))
        self._emit(events)
        if resend is not None:
            self.show(resend)

    def _answer(self, frame: Frame, t: int, events: list) -> str | None:
        """Handle one well-formed frame; returns a state to send again if the sign shows another."""
        if frame.device != DEVICE_TOP_LIGHT:
            raise FrameError(f"frame from device type {frame.device:#04x}, not the top light")
        if frame.command == CMD_QUERY:
            self.status = parse_status(frame.body)
            events += self.health.answered(t)
            if self._unacked and t - self._shown_at >= self.health.answer_timeout_ms:
                self._unacked = 0  # those acknowledgements are lost; trust this answer
            # While a state command is unacknowledged this answer may predate it: the line is ordered.
            if self.wanted is not None and not self._unacked and self.status.state != self.wanted:
                return self.wanted
            return None
        if frame.command in _ACKED:
            result = parse_ack(frame.body)
            self.acks[frame.command] = result
            if frame.command == CMD_SET_STATE and self._unacked:
                self._unacked -= 1
            if frame.command == CMD_SET_STATE and result != ACK_OK:
                raise FrameError(f"sign refused the state command (result {result})")
            return None
        raise FrameError(f"unexpected command {frame.command:#06x} from the top light")
