"""Passenger service evaluator driver (device layer): asks for a rating, hands ratings to the loop.

The port is anything pyserial opens. ``ask(trip_no)`` goes out from the loop's thread when a trip
is settling; a reader thread decodes what the evaluator sends and puts one ``evaluation`` event
({"trip_no", "evaluation_id", "rating", "extended"}) on the loop's queue per rating, which it
acknowledges at once: a rating is not legal data, and one lost on the way is reported as
"no evaluation" (0). Frames: drivers/evaluator_codec.py, docs/meter-link.md.
"""

import queue
from collections.abc import Callable

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.event import Event
from drivers.peripheral_frame import Frame
from drivers.peripheral_port import PeripheralPort


class EvaluatorDriver(PeripheralPort):
    name = "service evaluator"

    def __init__(self, url: str, events: queue.Queue, clock: Callable[[], int], *, vendor: int = 0,
                 baudrate: int = 9600, timeout_s: int = 30) -> None:
        super().__init__(url, events, clock, vendor=vendor, baudrate=baudrate)
        self.timeout_s = timeout_s

    def ask(self, trip_no: int) -> None:
        self._send(ev.frame(ev.CMD_ASK, ml.DOWN, {"trip_no": trip_no, "timeout_s": self.timeout_s}, self.vendor))

    def _frame(self, frame: Frame, t: int, events: list):
        command, values = ev.parse(frame, ml.UP)
        if command != ev.CMD_RATING:
            return None
        events.append(Event("evaluation", t, values))
        return lambda: self._send(ev.frame(ev.CMD_RATING, ml.DOWN, {"result": ml.RESULT_OK}, self.vendor))
