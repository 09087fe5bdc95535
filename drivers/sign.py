"""Rooftop sign driver: sends the sign its state over a serial port and watches that it answers.

The port is anything pyserial opens (``/dev/ttyUSB0``, a pseudo-terminal, ``socket://``, ``loop://``).
Commands go out at once from the caller's thread (the loop); a reader thread decodes what comes back
and a pacer thread sends the periodic status query. The only thing either thread hands the loop is a
``sign_fault`` event on its queue. What to show is decided elsewhere (``SignFollower``).
"""

import queue
from collections.abc import Callable

from drivers.peripheral_port import PeripheralPort
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
    FrameError,
    TopLightStatus,
    clear_mark_frame,
    mark_frame,
    night_frame,
    parse_ack,
    parse_status,
    query_frame,
    reset_frame,
    stars_frame,
    state_frame,
)

__all__ = ["SignDriver", "SignFollower"]

_ACKED = (CMD_RESET, CMD_SET_BAUD, CMD_SET_STATE, CMD_SET_STARS, CMD_SET_NIGHT, CMD_SET_MARK, CMD_CLEAR_MARK)


class SignDriver(PeripheralPort):
    name = "rooftop sign"
    fault_kind = "sign_fault"

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
        super().__init__(url, events, clock, vendor=vendor, baudrate=baudrate, query_interval_ms=query_interval_ms,
                         answer_timeout_ms=answer_timeout_ms, fault_after=fault_after)
        self._utc_offset_min = utc_offset_min
        self.wanted: str | None = None
        self._unacked = 0  # state commands sent and not yet acknowledged
        self._shown_at = 0
        self.status: TopLightStatus | None = None
        self.acks: dict[int, int] = {}  # command -> last result byte
        self._awaiting: dict[int, int] = {}  # command -> sent and not yet acknowledged (bounded)

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

    def _query_frame(self, t: int) -> Frame:
        return query_frame(t, self.vendor, self._utc_offset_min)

    def _send(self, frame: Frame) -> bool:
        acked = frame.command in _ACKED
        if acked:       # counted before the write: the sign may acknowledge before write() returns
            with self._lock:
                self._awaiting[frame.command] = min(self._awaiting.get(frame.command, 0) + 1, 16)
        sent = super()._send(frame)
        if acked and not sent:      # never reached a sign: an acknowledgement of it would be a replay
            with self._lock:
                self._awaiting[frame.command] = max(self._awaiting.get(frame.command, 0) - 1, 0)
        return sent

    # --- what comes back (the reader thread) -----------------------------------------------------

    def _frame(self, frame: Frame, t: int, events: list):
        resend = self._answer(frame, t, events)
        if resend is not None:
            return lambda: self.show(resend)
        return None

    def _answer(self, frame: Frame, t: int, events: list) -> str | None:
        """Handle one well-formed frame; returns a state to send again if the sign shows another."""
        if frame.device != DEVICE_TOP_LIGHT:
            raise FrameError(f"frame from device type {frame.device:#04x}, not the top light")
        if frame.command == CMD_QUERY:
            status = parse_status(frame.body)
            if status.device_state != 0:
                # the sign answers but says it is broken: that query failed, as a garbled answer does
                events += self.health.garbage(t, f"the top light reports a fault (device state {status.device_state})")
                return None
            self.status = status
            events += self.health.answered(t)
            if self._unacked and t - self._shown_at >= self.health.answer_timeout_ms:
                self._unacked = 0  # those acknowledgements are lost; trust this answer
            # While a state command is unacknowledged this answer may predate it: the line is ordered.
            if self.wanted is not None and not self._unacked and self.status.state != self.wanted:
                return self.wanted
            return None
        if frame.command in _ACKED:
            result = parse_ack(frame.body)
            if not self._awaiting.get(frame.command):
                raise FrameError(f"acknowledgement of {frame.command:#06x}, which was not sent (a replay?)")
            self._awaiting[frame.command] -= 1
            self.acks[frame.command] = result
            if frame.command == CMD_SET_STATE and self._unacked:
                self._unacked -= 1
            if frame.command == CMD_SET_STATE and result != ACK_OK:
                raise FrameError(f"sign refused the state command (result {result})")
            return None
        raise FrameError(f"unexpected command {frame.command:#06x} from the top light")
