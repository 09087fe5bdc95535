"""Is the rooftop sign answering? Pure bookkeeping of status queries and what came back.

Each status query is one attempt. It succeeds when a well-formed status answer arrives before
``answer_timeout_ms``; it fails when none does, and the failure is called "garbage" if malformed
bytes came back meanwhile, else "no answer". ``fault_after`` failed attempts in a row raise the
top-light fault; the next good answer clears it. Changes come back as ``sign_fault`` events.
"""

from drivers.event import Event


class SignHealth:
    def __init__(self, answer_timeout_ms: int = 500, fault_after: int = 3) -> None:
        if answer_timeout_ms <= 0 or fault_after < 1:
            raise ValueError("answer_timeout_ms must be > 0 and fault_after >= 1")
        self.answer_timeout_ms = answer_timeout_ms
        self.fault_after = fault_after
        self.failures = 0
        self.faulty = False
        self._asked_at: int | None = None
        self._garbage: str | None = None

    @property
    def waiting(self) -> bool:
        return self._asked_at is not None

    def asked(self, t_ms: int) -> list[Event]:
        """A status query went out at ``t_ms`` (an unanswered earlier one counts as failed first)."""
        events = self._expire(t_ms, force=True) if self.waiting else []
        self._asked_at = t_ms
        self._garbage = None
        return events

    def garbage(self, t_ms: int, reason: str) -> list[Event]:
        if self.waiting and self._garbage is None:
            self._garbage = reason
        return []

    def answered(self, t_ms: int) -> list[Event]:
        """A well-formed status answer arrived."""
        self._asked_at = None
        self._garbage = None
        self.failures = 0
        if self.faulty:
            self.faulty = False
            return [Event("sign_fault", t_ms, {"active": False, "reason": "answering again"})]
        return []

    def deadline(self) -> int | None:
        """When the outstanding query times out (None when none is outstanding)."""
        return None if self._asked_at is None else self._asked_at + self.answer_timeout_ms

    def due(self, t_ms: int) -> list[Event]:
        """Call now and then: a query past its timeout becomes a failed attempt."""
        return self._expire(t_ms, force=False)

    def _expire(self, t_ms: int, force: bool) -> list[Event]:
        if self._asked_at is None or (not force and t_ms - self._asked_at < self.answer_timeout_ms):
            return []
        reason = f"garbage: {self._garbage}" if self._garbage else "no answer"
        self._asked_at = None
        self._garbage = None
        self.failures += 1
        if not self.faulty and self.failures >= self.fault_after:
            self.faulty = True
            return [Event("sign_fault", t_ms, {"active": True, "reason": f"{reason} ({self.failures} attempts)"})]
        return []
