"""How long a button was held, on the injected clock; and the timed GPIO inputs built on that.

Contact bounce: a press shorter than ``debounce_ms`` counts for nothing, so the bursts of edges a
switch makes when it closes or opens leave only the real press. A press that reaches ``long_ms``
is long: it is reported the moment the hold completes (``poll``) or at release, once.
"""

import threading


class PressTimer:
    def __init__(self, long_ms: int | None, debounce_ms: int = 20) -> None:
        if long_ms is not None and long_ms <= debounce_ms:
            raise ValueError(f"long press ({long_ms} ms) must be longer than the debounce time ({debounce_ms} ms)")
        if debounce_ms < 0:
            raise ValueError("debounce_ms must be >= 0")
        self.long_ms = long_ms
        self.debounce_ms = debounce_ms
        self._down_at: int | None = None
        self._long_told = False

    @property
    def is_down(self) -> bool:
        return self._down_at is not None

    def pressed(self, t_ms: int) -> None:
        if self._down_at is None:
            self._down_at = t_ms
            self._long_told = False

    def poll(self, t_ms: int) -> int | None:
        """The held time if a long press completed just now (once per press), else None."""
        if self._down_at is None or self.long_ms is None or self._long_told:
            return None
        held = t_ms - self._down_at
        if held >= self.long_ms:
            self._long_told = True
            return held
        return None

    def released(self, t_ms: int) -> tuple[str, int] | None:
        """("short"|"long", held_ms) for a press that counts and was not told yet, else None."""
        if self._down_at is None:
            return None
        held = t_ms - self._down_at
        told = self._long_told
        self._down_at = None
        self._long_told = False
        if told or held < self.debounce_ms:
            return None
        if self.long_ms is not None and held >= self.long_ms:
            return ("long", held)
        return ("short", held)


class TimedInputs:
    """Active-low GPIO inputs (internal pull-up) whose presses are timed by ``PressTimer``s.

    gpiozero callbacks only record presses and releases; subclasses say what a finished
    press (``_released``) or a completed hold (``_held``) puts on the loop's queue. The
    owner calls ``poll()`` every turn of its loop, so a hold is reported while still held.
    """

    def __init__(self, pins: dict, timers: dict, events, clock, pin_factory) -> None:
        from gpiozero import DigitalInputDevice

        self._events = events
        self._clock = clock
        self._lock = threading.Lock()
        self._timers = timers
        self.buttons: dict = {}
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
                self._released(name, t, outcome[0], outcome[1])
        return released

    def holding(self) -> bool:
        """A press is down whose hold has not completed yet (the owner polls more often meanwhile)."""
        with self._lock:
            return any(t.is_down and t.long_ms is not None and not t._long_told for t in self._timers.values())

    def poll(self) -> None:
        """Report holds that completed by now."""
        t = self._clock()
        for name, timer in self._timers.items():
            with self._lock:
                held = timer.poll(t)
            if held is not None:
                self._held(name, t, held)

    def _released(self, name: str, t: int, kind: str, held: int) -> None:
        raise NotImplementedError

    def _held(self, name: str, t: int, held: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for button in self.buttons.values():
            button.close()
        self.buttons.clear()
