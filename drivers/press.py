"""How long a button was held, on the injected clock (pure, no GPIO).

Contact bounce: a press shorter than ``debounce_ms`` counts for nothing, so the bursts of edges a
switch makes when it closes or opens leave only the real press. A press that reaches ``long_ms``
is long: it is reported the moment the hold completes (``poll``) or at release, once.
"""


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
