"""Passenger service evaluator driver (device layer): asks for a rating, hands ratings to the loop.

The port is anything pyserial opens. ``ask(trip_no)`` goes out from the loop's thread when a trip
is settling; a reader thread decodes what the evaluator sends and puts one ``evaluation`` event
({"trip_no", "evaluation_id", "rating", "extended"}) on the loop's queue per rating, which it
acknowledges at once: a rating is not legal data, and one lost on the way is reported as
"no evaluation" (0). Frames: drivers/evaluator_codec.py, docs/meter-link.md.
"""

import queue
import threading
from collections.abc import Callable

import serial

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.event import Event
from drivers.peripheral_frame import FrameDecoder, FrameError, Rejected, encode
from drivers.peripheral_port import read_forever


class EvaluatorDriver:
    def __init__(self, url: str, events: queue.Queue, clock: Callable[[], int], *, vendor: int = 0,
                 baudrate: int = 9600, timeout_s: int = 30) -> None:
        self.url = url
        self._events = events
        self._clock = clock
        self.vendor = vendor
        self._baudrate = baudrate
        self.timeout_s = timeout_s
        self._decoder = FrameDecoder()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port = None
        self.rejected = 0

    def start(self) -> "EvaluatorDriver":
        try:
            self._port = serial.serial_for_url(self.url, baudrate=self._baudrate, timeout=0.05)
        except (serial.SerialException, ValueError) as exc:
            raise serial.SerialException(f"service evaluator: cannot open {self.url}: {exc}") from exc
        self._thread = threading.Thread(target=self._read_loop, name="evaluator-reader", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._port is not None and hasattr(self._port, "cancel_read"):
            self._port.cancel_read()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._port is not None:
            self._port.close()

    def ask(self, trip_no: int) -> None:
        self._send(ev.frame(ev.CMD_ASK, ml.DOWN, {"trip_no": trip_no, "timeout_s": self.timeout_s}, self.vendor))

    def _send(self, frame) -> None:
        if self._port is None:
            raise RuntimeError("service evaluator driver not started")
        with self._write_lock:
            self._port.write(encode(frame))

    def _read_loop(self) -> None:
        read_forever(self._port, self._stop, self.received)

    def received(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            if isinstance(item, Rejected):
                self.rejected += 1
                continue
            try:
                command, values = ev.parse(item, ml.UP)
            except FrameError:
                self.rejected += 1
                continue
            if command == ev.CMD_RATING:
                self._events.put(Event("evaluation", self._clock(), values))
                self._send(ev.frame(ev.CMD_RATING, ml.DOWN, {"result": ml.RESULT_OK}, self.vendor))
