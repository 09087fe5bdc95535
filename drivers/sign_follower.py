"""What the rooftop sign should show, decided from the terminal's situation (pure, no I/O).

for_hire → vacant; hired, stopped, settling → occupied; out_of_service → out of service;
the driver signed out (until the next sign-in) → out of service, as at a shift change
(docs/sign.md); an accepted on-call order while for hire → on call; a meter fault of a meter on the 905.2
link → out of service until the meter answers again, whatever state the meter last reported; a
confirmed emergency alarm → alarm, above all else; when the alarm is released the sign goes back to
whatever the rest of the situation says.
"""

METER_STATES = ("for_hire", "hired", "stopped", "settling", "out_of_service")
_OCCUPIED = ("hired", "stopped", "settling")


class SignFollower:
    """Keeps the situation; every change returns the sign state to send, or None if it is unchanged."""

    def __init__(self, meter_state: str = "for_hire") -> None:
        self._check(meter_state)
        self._meter = meter_state
        self._on_call = False
        self._alarm = False
        self._signed_out = False
        self._meter_fault = False
        self._shown = self.wanted()

    @staticmethod
    def _check(meter_state: str) -> None:
        if meter_state not in METER_STATES:
            raise ValueError(f"unknown meter state {meter_state!r} (known: {', '.join(METER_STATES)})")

    def wanted(self) -> str:
        if self._alarm:
            return "alarm"
        if self._meter_fault:
            return "out_of_service"
        if self._meter in _OCCUPIED:
            return "occupied"
        if self._meter == "out_of_service" or self._signed_out:
            return "out_of_service"
        if self._on_call:
            return "on_call"
        return "vacant"

    @property
    def state(self) -> str:
        return self._shown

    def _changed(self) -> str | None:
        wanted = self.wanted()
        if wanted == self._shown:
            return None
        self._shown = wanted
        return wanted

    def meter(self, state: str) -> str | None:
        """The meter moved to ``state`` (one of METER_STATES)."""
        self._check(state)
        self._meter = state
        return self._changed()

    def meter_fault(self, active: bool) -> str | None:
        """The meter on the link went silent or garbled (True), or answers again (False)."""
        self._meter_fault = bool(active)
        return self._changed()

    def on_call(self, accepted: bool) -> str | None:
        """An on-call order was accepted (True) or is over: passenger aboard, done or cancelled (False)."""
        self._on_call = bool(accepted)
        return self._changed()

    def alarm(self, active: bool) -> str | None:
        """The emergency alarm was confirmed (True) or released by the centre (False)."""
        self._alarm = bool(active)
        return self._changed()

    def signed_out(self, signed_out: bool) -> str | None:
        """The driver signed out (True: out of service until the next sign-in) or signed in (False)."""
        self._signed_out = bool(signed_out)
        return self._changed()
