"""Meter link driver (device layer): the JT/T 905.2 serial line to a taximeter.

The port is anything pyserial opens (``/dev/ttyS0``, a pseudo-terminal, ``loop://``). A reader
thread decodes what the meter sends and puts one ``meter_link`` event per well-formed frame on the
loop's queue ({"command": int, "values": dict}); a pacer thread sends the status query. It answers
the heartbeat itself (nothing to persist), but never acknowledges operation data: the loop does,
with ``ack``, once the trip is stored (exactly once across power cuts and lost frames).
A meter that stops answering or answers garbage raises a ``meter_fault`` event, its return clears it.
"""

import queue
import threading
from collections.abc import Callable

import serial

from drivers import meter_link_codec as ml
from drivers.event import Event
from drivers.peripheral_frame import Frame, FrameDecoder, FrameError, Rejected, encode
from drivers.peripheral_port import read_forever
from drivers.sign_health import SignHealth


def civil(t_ms: int, utc_offset_min: int) -> tuple:
    """(Y, M, D, h, m, s) local time of an epoch ms."""
    from meter.civil import civil_from_days
    secs = t_ms // 1000 + utc_offset_min * 60
    y, m, d = civil_from_days(secs // 86400)
    rest = secs % 86400
    return (y, m, d, rest // 3600, rest // 60 % 60, rest % 60)


class MeterLinkDriver:
    def __init__(self, url: str, events: queue.Queue, clock: Callable[[], int], *, vendor: int = 0,
                 baudrate: int = 9600, query_interval_ms: int = 2000, answer_timeout_ms: int = 1000,
                 fault_after: int = 3, utc_offset_min: int = 480) -> None:
        self.url = url
        self._events = events
        self._clock = clock
        self.vendor = vendor
        self._baudrate = baudrate
        self.query_interval_ms = query_interval_ms
        self.utc_offset_min = utc_offset_min
        self.health = SignHealth(answer_timeout_ms, fault_after)
        self._decoder = FrameDecoder()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list = []
        self._port = None
        self.rejected = 0
        self.sent: list = []          # commands sent, newest last (bounded; for diagnostics)

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> "MeterLinkDriver":
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self._baudrate, timeout=0.05)
        except (serial.SerialException, ValueError) as exc:
            raise serial.SerialException(f"meter link: cannot open {self.url}: {exc}") from exc
        for target, name in ((self._read_loop, "meter-reader"), (self._pace_loop, "meter-pacer")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self._stop.set()
        if self._port is not None and hasattr(self._port, "cancel_read"):
            self._port.cancel_read()
        for thread in self._threads:
            thread.join(timeout=2)
        if self._port is not None:
            self._port.close()

    # --- commands (from the loop) --------------------------------------------------------------
    def send(self, frame: Frame) -> None:
        if self._port is None:
            raise RuntimeError("meter link driver not started")
        with self._write_lock:
            self._port.write(encode(frame))
        self.sent = (self.sent + [frame.command])[-32:]

    def ack(self, command: int, ok: bool = True) -> None:
        self.send(ml.ack(command, ok, self.vendor))

    def request_resend(self, trip_no: int) -> None:
        self.send(ml.meter_frame(ml.CMD_RESEND_REQUEST, ml.DOWN, {"trip_no": trip_no}, self.vendor))

    def query_status(self) -> None:
        t = self._clock()
        with self._lock:
            events = self.health.asked(t)
        self._emit(events)
        self.send(ml.meter_frame(ml.CMD_STATUS, ml.DOWN, {"time": civil(t, self.utc_offset_min)}, self.vendor))

    def set_clock(self) -> None:
        self.send(ml.meter_frame(ml.CMD_CLOCK, ml.DOWN, {"time": civil(self._clock(), self.utc_offset_min)},
                                 self.vendor))

    def query_tariff(self) -> None:
        self.send(ml.meter_frame(ml.CMD_TARIFF_QUERY, ml.DOWN, {}, self.vendor))

    def query_device_id(self) -> None:
        self.send(ml.meter_frame(ml.CMD_DEVICE_ID, ml.DOWN, {}, self.vendor))

    # --- threads -------------------------------------------------------------------------------
    def _emit(self, events: list) -> None:
        for event in events:
            if event.kind == "sign_fault":        # the same bookkeeping as the top light's
                event = Event("meter_fault", event.t_ms, event.data)
            self._events.put(event)

    def _pace_loop(self) -> None:
        next_query = self._clock()
        while not self._stop.is_set():
            t = self._clock()
            with self._lock:
                events = self.health.due(t)
            self._emit(events)
            if t >= next_query:
                next_query = t + self.query_interval_ms
                try:
                    self.query_status()
                except (serial.SerialException, OSError) as exc:
                    if self._stop.is_set():
                        return
                    with self._lock:
                        self.health.garbage(t, f"write failed: {exc}")
            self._stop.wait(0.05)

    def _read_loop(self) -> None:
        read_forever(self._port, self._stop, self.received, self._read_failed)

    def _read_failed(self, reason: str) -> None:
        with self._lock:
            self.health.garbage(self._clock(), reason)

    def received(self, data: bytes) -> None:
        """Decode bytes from the meter (the reader thread; tests call it directly)."""
        t = self._clock()
        events: list = []
        heartbeat = False
        with self._lock:
            for item in self._decoder.feed(data):
                if isinstance(item, Rejected):
                    self.rejected += 1
                    events += self.health.garbage(t, item.reason)
                    continue
                try:
                    command, values = ml.parse(item, ml.UP)
                except FrameError as exc:
                    self.rejected += 1
                    events += self.health.garbage(t, str(exc))
                    continue
                if command == ml.CMD_STATUS:
                    events += self.health.answered(t)
                heartbeat = heartbeat or command == ml.CMD_HEARTBEAT
                events.append(Event("meter_link", t, {"command": command, "values": values}))
        self._emit(events)
        if heartbeat:
            self.send(ml.meter_frame(ml.CMD_HEARTBEAT, ml.DOWN, {
                "terminal_state": 0, "time_limit": bytes(5), "count_limit": 0, "reserved": 0}, self.vendor))
