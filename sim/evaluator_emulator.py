"""A passenger service evaluator on a pseudo-terminal (simulator room).

It acknowledges each request for a rating and, ``delay_s`` later, sends the next rating of its
script (cycling; 0 = the passenger did not choose before the timeout), resending it until the
terminal acknowledges it. Frames: drivers/evaluator_codec.py.
"""

from __future__ import annotations

import threading
import time

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.peripheral_frame import FrameDecoder, FrameError, Rejected, encode
from sim.pty import PtyDevice


class EvaluatorEmulator:
    def __init__(self, ratings=(1, 2, 1, 3, 0), delay_s: float = 0.05, resend_s: float = 0.5) -> None:
        self.ratings = list(ratings)
        self.delay_s = delay_s
        self.resend_s = resend_s
        self.pty = PtyDevice()
        self.path = self.pty.path
        self.asked: list[int] = []
        self.unacked: list[dict] = []
        self.acked = 0
        self._next_id = 1
        self._decoder = FrameDecoder()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> EvaluatorEmulator:
        self._thread = threading.Thread(target=self._run, name="evaluator-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.pty.close()

    def _run(self) -> None:
        last_sent = 0.0
        while not self._stop.is_set():
            data = self.pty.read(timeout=0.02)
            for item in self._decoder.feed(data) if data else []:
                if isinstance(item, Rejected):
                    continue
                try:
                    command, values = ev.parse(item, ml.DOWN)
                except FrameError:
                    continue
                if command == ev.CMD_ASK:
                    self.pty.write(encode(ev.frame(ev.CMD_ASK, ml.UP, {"result": ml.RESULT_OK})))
                    rating = self.ratings[len(self.asked) % len(self.ratings)]
                    self.asked.append(values["trip_no"])
                    with self._lock:
                        self.unacked.append({"trip_no": values["trip_no"], "evaluation_id": self._next_id,
                                             "rating": rating, "extended": 0, "due": time.monotonic() + self.delay_s})
                        self._next_id += 1
                elif command == ev.CMD_RATING and values["result"] == ml.RESULT_OK:
                    with self._lock:
                        if self.unacked:
                            self.unacked.pop(0)
                            self.acked += 1
            with self._lock:
                head = self.unacked[0] if self.unacked else None
            now = time.monotonic()
            if head is not None and now >= head["due"] and now - last_sent >= self.resend_s:
                last_sent = now
                values = {k: head[k] for k in ("trip_no", "evaluation_id", "rating", "extended")}
                self.pty.write(encode(ev.frame(ev.CMD_RATING, ml.UP, values)))
