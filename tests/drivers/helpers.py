"""Shared helpers for the driver tests."""

import queue
import time


def wait_until(predicate, timeout: float = 5.0, step: float = 0.005) -> bool:
    """Poll ``predicate`` until true; False after ``timeout`` s (a deadline against hangs, not a speed check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def next_event(events: queue.Queue, kind: str, timeout: float = 5.0):
    """The next event of ``kind`` on the queue (others are skipped), or None."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            return None
        if event.kind == kind:
            return event


class VirtualClock:
    """A clock the test moves by hand (Unix epoch ms)."""

    def __init__(self, t_ms: int = 1_700_000_000_000) -> None:
        self.t_ms = t_ms

    def __call__(self) -> int:
        return self.t_ms

    def advance(self, ms: int) -> int:
        self.t_ms += ms
        return self.t_ms
