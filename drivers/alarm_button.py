"""The hidden emergency buttons: an alarm only after a deliberate hold, so a brush does not raise one.

Two buttons (either one will do), active low with the internal pull-up. When one has been held
for ``hold_ms`` (3000 by default) the callback puts one event on the loop's queue, at the moment
the hold completes (the loop calls ``poll`` every turn) or at release, whichever comes first:

    Event("alarm_button", t_ms, {"held_ms": 3004, "button": "alarm_a"})

A shorter press puts nothing. Held times come from the injected clock. What the alarm then does
(report, sign) is the loop's business; the cabin display never shows it.
"""

import queue
from collections.abc import Callable

from drivers.event import Event
from drivers.press import PressTimer, TimedInputs


class HiddenAlarm(TimedInputs):
    def __init__(
        self,
        pins: dict[str, int],
        events: queue.Queue,
        clock: Callable[[], int],
        pin_factory,
        *,
        hold_ms: int = 3000,
        debounce_ms: int = 20,
    ) -> None:
        if hold_ms <= 0:
            raise ValueError(f"hold_ms must be positive, got {hold_ms}")
        self.hold_ms = hold_ms
        timers = {name: PressTimer(hold_ms, min(debounce_ms, hold_ms - 1)) for name in pins}
        super().__init__(pins, timers, events, clock, pin_factory)

    def _released(self, name: str, t: int, kind: str, held: int) -> None:
        if kind == "long":          # a shorter press is a brush: nothing
            self._raise(name, t, held)

    def _held(self, name: str, t: int, held: int) -> None:
        self._raise(name, t, held)

    def _raise(self, name: str, t: int, held: int) -> None:
        self._events.put(Event("alarm_button", t, {"held_ms": held, "button": name}))
