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
import threading
from collections.abc import Callable

from gpiozero import DigitalInputDevice

from drivers.press import PressTimer
from terminal.events import Event

LONG_KEYS = ("hire", "print", "menu")


class DriverKeys:
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
        self._events = events
        self._clock = clock
        self._lock = threading.Lock()
        self._timers = {name: PressTimer(long_ms if name in long_keys else None, debounce_ms) for name in pins}
        self.buttons: dict[str, DigitalInputDevice] = {}
        try:
            for name, pin in pins.items():
                button = DigitalInputDevice(pin, pull_up=True, bounce_time=None, pin_factory=pin_factory)
                button.when_activated = self._on_pressed(name)
                button.when_deactivated = self._on_released(name)
                self.buttons[name] = button
        except Exception:
            self.close()
            raise

    def _on_pressed(self, name: str):
        def pressed() -> None:
            with self._lock:
                self._timers[name].pressed(self._clock())
        return pressed

    def _on_released(self, name: str):
        def released() -> None:
            t = self._clock()
            with self._lock:
                outcome = self._timers[name].released(t)
            if outcome is not None:
                self._events.put(Event("key", t, {"key": name, "long": outcome[0] == "long"}))
        return released

    def poll(self, only: str | None = None) -> None:
        """Report long presses whose hold completed by now (the loop calls this every turn)."""
        t = self._clock()
        for name, timer in self._timers.items():
            if only is not None and name != only:
                continue
            with self._lock:
                held = timer.poll(t)
            if held is not None:
                self._events.put(Event("key", t, {"key": name, "long": True}))

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()
        self.buttons.clear()
