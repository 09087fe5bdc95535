"""The simulated shift's clock: the time every part reads, the schedule of what happens when, the pace.

In the simulator room. Time is a variable (Unix epoch ms) that only moves forward when the
runner takes the next item off the schedule or a driver's key press takes its hold time.
``ShiftClock`` is called like any clock (``clock()``) by every part of the simulated car;
``at(t, fn)`` schedules ``fn`` (never in the past; equal times run in the order scheduled);
``advance_to(t)`` holds the simulated clock to ``speed`` times the wall clock, or runs as
fast as the machine allows with ``speed=None``.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable


class ShiftClock:
    def __init__(self, start_ms: int, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for the virtual clock)")
        self.start_ms = start_ms
        self.speed = speed
        self.now = start_ms
        self._heap: list = []
        self._seq = itertools.count()
        self.wall0: float | None = None

    def __call__(self) -> int:
        return self.now

    def at(self, t_ms: int, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (max(t_ms, self.now), next(self._seq), fn))

    def start(self) -> None:
        """The wall-clock moment the shift's first simulated millisecond is held to."""
        self.wall0 = time.monotonic()

    def pending(self) -> bool:
        return bool(self._heap)

    def pop(self) -> tuple[int, Callable[[], None]]:
        t, _, fn = heapq.heappop(self._heap)
        return t, fn

    def only(self, fn: Callable[[], None]) -> bool:
        """Nothing is scheduled but ``fn`` (the ticks that would go on forever)."""
        return all(f == fn for _, _, f in self._heap)

    def advance_to(self, t_ms: int) -> None:
        self._pace(t_ms)
        self.now = max(self.now, t_ms)

    def _pace(self, t_ms: int) -> None:
        if self.speed is None:
            return
        due = self.wall0 + (t_ms - self.start_ms) / 1000.0 / self.speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
