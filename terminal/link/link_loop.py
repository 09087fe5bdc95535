"""Platform-link room: a loop that owns nothing but an outbox, for tools, tests and benchmarks.

``run_link_loop`` applies ``link``/``puback`` events to the outbox, hands any other event to
``other`` and pumps after each batch: what ``Terminal.run`` does for the outbox, without a
meter or desks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from drivers.event import Event
from terminal.link.outbox import Outbox


def run_link_loop(
    outbox: Outbox,
    events: queue.Queue,
    stop: threading.Event,
    other: Callable[[Event], None] | None = None,
    tick_s: float = 0.05,
) -> None:
    """A minimal loop that owns nothing but the outbox: for tools and benchmarks without a
    meter. Applies link/puback events, hands other events to ``other``, pumps after each batch."""
    while not stop.is_set():
        try:
            event = events.get(timeout=tick_s)
        except queue.Empty:
            outbox.pump()
            continue
        while True:
            if not outbox.handle(event) and other is not None:
                other(event)
            try:
                event = events.get_nowait()
            except queue.Empty:
                break
        outbox.pump()
