"""The driver's keys: GPIO inputs whose callbacks only put ``key`` events on the loop's queue.

Each key is a ``gpiozero.DigitalInputDevice`` on the pin the board profile names (active low,
internal pull-up), built on the pin factory the board hands over. (Not ``gpiozero.Button``: each
Button runs a hold thread that wakes ten times a second, which for eleven inputs costs more CPU than
the rest of the terminal.) A short press is reported at release; a key with a long function (hire:
out of service, print: reprint, menu: software id) reports a long press as soon as the owner's
``poll()`` sees the hold reach ``long_ms`` (the loop polls every 200 ms), or at release. Times come
from the injected clock; see drivers/press.py for debouncing.

    Event("key", t_ms, {"key": "hire", "long": False})
"""

import queue
from collections.abc import Callable

from drivers.event import Event
from drivers.press import PressTimer, TimedInputs

LONG_KEYS = ("hire", "print", "menu")


class DriverKeys(TimedInputs):
    def __init__(
        self,
        pins: dict[str, int],
        events: queue.Queue,
        clock: Callable[[], int],
        pin_factory,
        *,
        long_ms: int = 2000,
        long_keys: tuple[str, ...] = LONG_KEYS,
        debounce_ms: int = 20,
    ) -> None:
        unknown = set(long_keys) - set(pins)
        if unknown:
            raise ValueError(f"long press configured for keys that are not wired: {', '.join(sorted(unknown))}")
        timers = {name: PressTimer(long_ms if name in long_keys else None, debounce_ms) for name in pins}
        super().__init__(pins, timers, events, clock, pin_factory)

    def _released(self, name: str, t: int, kind: str, held: int) -> None:
        self._events.put(Event("key", t, {"key": name, "long": kind == "long"}))

    def _held(self, name: str, t: int, held: int) -> None:
        self._events.put(Event("key", t, {"key": name, "long": True}))
