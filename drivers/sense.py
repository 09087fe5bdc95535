"""Ignition sense and the seal switch: level inputs whose changes become ``power`` and ``seal`` events.

Both lines are active low with the internal pull-up: the ignition opto-coupler pulls its line low
while the ignition is on; the seal switch under the lead seal is closed (to GND) while sealed.

    Event("power", t_ms, {"on": True})      Event("seal", t_ms, {"closed": False})
"""

import queue
from collections.abc import Callable

from gpiozero import DigitalInputDevice

from drivers.event import Event


class LevelInput:
    def __init__(self, pin: int, kind: str, field: str, events: queue.Queue, clock: Callable[[], int],
                 pin_factory) -> None:
        self.kind = kind
        self.field = field
        self._events = events
        self._clock = clock
        self.device = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
        self.device.when_activated = lambda: self._put(True)
        self.device.when_deactivated = lambda: self._put(False)

    @property
    def active(self) -> bool:
        return bool(self.device.is_active)

    def announce(self) -> Event:
        """Put the current level on the queue (at start, so the loop knows where things stand)."""
        return self._put(self.active)

    def _put(self, active: bool) -> Event:
        event = Event(self.kind, self._clock(), {self.field: active})
        self._events.put(event)
        return event

    def close(self) -> None:
        self.device.close()


def ignition_sense(pin: int, events: queue.Queue, clock: Callable[[], int], pin_factory) -> LevelInput:
    return LevelInput(pin, "power", "on", events, clock, pin_factory)


def seal_switch(pin: int, events: queue.Queue, clock: Callable[[], int], pin_factory) -> LevelInput:
    return LevelInput(pin, "seal", "closed", events, clock, pin_factory)
