"""Platform-link room, JT/T links: what wakes a link's thread: its timers and its wake-up.

The timers are those a link keeps for the loop (a tracking's end, 0x8202).

``add(delay_ms, data, key)`` asks for ``data`` back after ``delay_ms`` on the link's clock,
one timer per ``key`` (a newer one replaces it); ``due()`` takes what is due now;
``next_in_s()`` says how long until the next one, so the link's thread can sleep until then.
``Wakeup`` ends that sleep early: something was queued for the platform, or a timer added.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable


class LinkTimers:
    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._timers: list[tuple[int, dict, str | None]] = []   # (due ms, data, key)

    def __len__(self) -> int:
        return len(self._timers)

    def add(self, delay_ms: int, data: dict, key: str | None = None) -> None:
        with self._lock:
            self._timers = [t for t in self._timers if key is None or t[2] != key]
            self._timers.append((self._clock() + delay_ms, data, key))

    def due(self) -> list[dict]:
        now = self._clock()
        with self._lock:
            due = [data for at, data, _ in self._timers if at <= now]
            self._timers = [t for t in self._timers if t[0] > now]
        return due

    def next_in_s(self) -> float | None:
        with self._lock:
            if not self._timers:
                return None
            return (min(t[0] for t in self._timers) - self._clock()) / 1000


class Wakeup:
    """Wakes the link's thread from its ``select``: ``set()`` from any thread, ``clear()`` on the
    link's thread once woken; ``fileno()`` is what ``select`` waits on."""

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    def fileno(self) -> int:
        return self._r.fileno()

    def set(self) -> None:
        try:
            self._w.send(b"\0")
        except OSError:             # BlockingIOError too: already awake (the buffer is full), or closed
            pass

    def clear(self) -> None:
        try:
            while self._r.recv(4096):
                pass
        except OSError:            # BlockingIOError too: drained
            pass
