"""The terminal's loop as the simulator steps it, and the waits in wall time with the simulated clock still.

In the simulator room. ``LoopStep(car)`` does what ``Terminal.run`` does, one step at a
time and on the runner's clock: ``drain()`` handles every queued event in order. Where
something real happens outside the simulated car (a command crossing the broker, the link
going down or up, the outbox reaching the platform) the runner waits for it in wall time
with ``await_event``, ``command`` and ``quiesce``, so that results do not depend on the
machine's speed. ``SimError`` says the simulation itself could not go on.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable

from drivers.event import Event
from sim import summary as summary_mod
from sim.installation import Installation

SYNC_TIMEOUT_S = 10.0


class SimError(RuntimeError):
    """The simulation itself could not go on (an emulator or the broker did not answer in time)."""


class LoopStep:
    def __init__(self, car: Installation, witness=None) -> None:
        self.car = car
        self.witness = witness      # sim.witness.Witness: looks after every loop turn

    def drain(self) -> None:
        """The terminal's loop step: every queued event in order, then the display brought up to date, as the
        loop's own ``run`` does after each batch (its other timers wait for the runner's tick)."""
        events, terminal = self.car.events, self.car.terminal
        waiting, mutex = events.queue, events.mutex
        handled = False
        while waiting:
            # what is queued now, taken under the queue's lock in one go (the queue is unbounded
            # and nobody joins it): the same order as one get_nowait() at a time, and what the
            # handlers queue meanwhile is taken next, as it would be
            with mutex:
                batch = list(waiting)
                waiting.clear()
            for i, event in enumerate(batch):
                try:
                    terminal.handle(event)
                except BaseException:
                    with mutex:          # what was not handled stays queued, first in line
                        waiting.extendleft(reversed(batch[i + 1:]))
                    raise
            handled = True
        if handled:
            terminal.cabin.periodic(self.car.clock())
            if self.witness is not None:     # nothing handled, nothing changed since it last looked
                self.witness.observe()

    def await_event(self, predicate: Callable[[Event], bool], what: str, timeout_s: float = SYNC_TIMEOUT_S) -> Event:
        """Handle events (the simulated clock standing still) until one satisfies ``predicate``."""
        events, terminal = self.car.events, self.car.terminal
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimError(f"{what}: not seen within {timeout_s:g} s")
            try:
                event = events.get(timeout=min(left, 0.05))
            except queue.Empty:
                terminal.outbox.pump()
                continue
            terminal.handle(event)
            if predicate(event):
                return event

    def command(self, send, *args, **kw) -> str:
        """The platform sends a command; returns once the terminal has handled it."""
        cmd_id = send(*args, **kw)
        self.await_event(lambda e: e.kind == "platform" and isinstance(e.data.get("payload"), dict)
                         and e.data["payload"].get("cmd_id") == cmd_id, f"platform command {cmd_id}")
        return cmd_id

    def quiesce(self, timeout_s: float = 20.0) -> None:
        """Wall-clock wait, simulated clock still, until the outbox is empty and the platform has every seq."""
        car = self.car
        outbox = car.terminal.outbox
        tid = car.scenario.vehicle.terminal_id
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.drain()
            outbox.pump()
            last = outbox.last_seq()
            if outbox.pending() == 0 and summary_mod.missing_seqs(car.platform, tid, last) == []:
                return
            time.sleep(0.01)
        raise SimError(f"outbox not drained within {timeout_s:g} s ({outbox.pending()} pending)")
