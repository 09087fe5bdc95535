"""The hidden emergency buttons: an alarm only after a deliberate hold, so a brush does not raise one.

Two buttons (either one will do), active low with the internal pull-up. When one has been held
for ``hold_ms`` (3000 by default) the callback puts one event on the loop's queue, at the moment
the hold completes (the loop calls ``poll`` every turn) or at release, whichever comes first:

    Event("alarm_button", t_ms, {"held_ms": 3004, "button": "alarm_a"})

A shorter press puts nothing. Held times come from the injected clock. What the alarm then does
(report, sign) is the loop's business; the cabin display never shows it.
"""

import queue
import threading
from collections.abc import Callable

from gpiozero import DigitalInputDevice

from drivers.press import PressTimer
from terminal.events import Event


class HiddenAlarm:
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
        self._events = events
        self._clock = clock
        self._lock = threading.Lock()
        self._timers = {name: PressTimer(hold_ms, min(debounce_ms, hold_ms - 1)) for name in pins}
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
            if outcome is not None and outcome[0] == "long":
                self._raise(name, t, outcome[1])
        return released

    def poll(self) -> None:
        """Raise the alarm for any button whose hold completed by now."""
        t = self._clock()
        for name, timer in self._timers.items():
            with self._lock:
                held = timer.poll(t)
            if held is not None:
                self._raise(name, t, held)

    def _raise(self, name: str, t: int, held: int) -> None:
        self._events.put(Event("alarm_button", t, {"held_ms": held, "button": name}))

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()
        self.buttons.clear()
