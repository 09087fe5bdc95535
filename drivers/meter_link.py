"""Meter link driver (device layer): the JT/T 905.2 serial line to a taximeter.

The port is anything pyserial opens (``/dev/ttyS0``, a pseudo-terminal, ``loop://``). A reader
thread decodes what the meter sends and puts one ``meter_link`` event per well-formed frame on the
loop's queue ({"command": int, "values": dict}); a pacer thread sends the status query. It answers
the heartbeat itself (nothing to persist), but never acknowledges operation data: the loop does,
with ``ack``, once the trip is stored (exactly once across power cuts and lost frames).
A meter that stops answering or answers garbage raises a ``meter_fault`` event, its return clears it.
"""

import queue
from collections.abc import Callable

from drivers import meter_link_codec as ml
from drivers.event import Event
from drivers.peripheral_frame import Frame
from drivers.peripheral_port import PeripheralPort


def civil(t_ms: int, utc_offset_min: int) -> tuple:
    """(Y, M, D, h, m, s) local time of an epoch ms."""
    from meter.civil import civil_from_days
    secs = t_ms // 1000 + utc_offset_min * 60
    y, m, d = civil_from_days(secs // 86400)
    rest = secs % 86400
    return (y, m, d, rest // 3600, rest // 60 % 60, rest % 60)


class MeterLinkDriver(PeripheralPort):
    name = "meter link"
    fault_kind = "meter_fault"

    def __init__(self, url: str, events: queue.Queue, clock: Callable[[], int], *, vendor: int = 0,
                 baudrate: int = 9600, query_interval_ms: int = 2000, answer_timeout_ms: int = 1000,
                 fault_after: int = 3, utc_offset_min: int = 480) -> None:
        super().__init__(url, events, clock, vendor=vendor, baudrate=baudrate, query_interval_ms=query_interval_ms,
                         answer_timeout_ms=answer_timeout_ms, fault_after=fault_after)
        self.utc_offset_min = utc_offset_min
        self.sent: list = []          # commands sent, newest last (bounded; for diagnostics)

    # --- commands (from the loop) --------------------------------------------------------------
    def send(self, frame: Frame) -> None:
        self._send(frame)
        self.sent = (self.sent + [frame.command])[-32:]

    def ack(self, command: int, ok: bool = True) -> None:
        self.send(ml.ack(command, ok, self.vendor))

    def request_resend(self, trip_no: int) -> None:
        self.send(ml.meter_frame(ml.CMD_RESEND_REQUEST, ml.DOWN, {"trip_no": trip_no}, self.vendor))

    def query_status(self) -> None:
        self.query()

    def _query_frame(self, t: int) -> Frame:
        return ml.meter_frame(ml.CMD_STATUS, ml.DOWN, {"time": civil(t, self.utc_offset_min)}, self.vendor)

    def set_clock(self) -> None:
        self.send(ml.meter_frame(ml.CMD_CLOCK, ml.DOWN, {"time": civil(self._clock(), self.utc_offset_min)},
                                 self.vendor))

    def query_tariff(self) -> None:
        self.send(ml.meter_frame(ml.CMD_TARIFF_QUERY, ml.DOWN, {}, self.vendor))

    def query_device_id(self) -> None:
        self.send(ml.meter_frame(ml.CMD_DEVICE_ID, ml.DOWN, {}, self.vendor))

    # --- what the meter sends (the reader thread) ----------------------------------------------
    def _frame(self, frame: Frame, t: int, events: list):
        command, values = ml.parse(frame, ml.UP)
        if command == ml.CMD_STATUS:
            events += self.health.answered(t)
        events.append(Event("meter_link", t, {"command": command, "values": values}))
        if command == ml.CMD_HEARTBEAT:
            return self._answer_heartbeat
        return None

    def _answer_heartbeat(self) -> None:
        self.send(ml.meter_frame(ml.CMD_HEARTBEAT, ml.DOWN, {
            "terminal_state": 0, "time_limit": bytes(5), "count_limit": 0, "reserved": 0}, self.vendor))
