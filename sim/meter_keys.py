"""The driver at a fitted meter's own keys (simulator room): ``ShiftScript`` for ``--meter link|device``.

With a sealed meter on the 905.2 link the metering keys are on the meter, not the terminal
(docs/meter-link.md, "The meter port"). The driver model is the same (sim/shift_script.py); only
where a key press lands differs: hire, pause, settle, the toll and clearing go to the meter
(``sim/fitted_meter.py``) as the meter names them; sign-in and out and the order keys stay on the
terminal. The script judges the meter's state by the meter's own display, as a driver would.
"""

from __future__ import annotations

from sim.fitted_meter import MeterSyncError
from sim.loop_step import SimError
from sim.shift_script import ShiftScript

TOLL_LABEL = "通行费"
_TERMINAL_KEYS = ("sign", "accept", "reject")


class MeterKeysScript(ShiftScript):
    def __init__(self, runner, anchors) -> None:
        super().__init__(runner, anchors)
        self.meter = runner.car.fitted_meter
        self._toll: list[str] | None = None

    def _meter_state(self) -> str:
        return self.meter.state

    def press(self, key: str, hold_ms: int = 150) -> None:
        r = self.runner
        if key in _TERMINAL_KEYS:
            super().press(key, hold_ms)
            return
        if self._toll is not None:           # keyed digit by digit on the terminal; one amount on the meter
            if key != "settle":
                self._toll.append(key)
                return
            amount = _toll_fen(self._toll)
            self._toll = None
            self.meter.press("extra", amount, TOLL_LABEL)
        else:
            name = self._meter_key(key, hold_ms >= r.car.config["keys"]["long_ms"])
            if name == "extra":
                self._toll = []
                return
            if name is not None:
                self.meter.press(name)
        r.clock.now += hold_ms
        try:
            self.meter.exchange(r.loop.drain)
        except MeterSyncError as exc:
            raise SimError(f"the fitted meter: {exc}") from None

    def _meter_key(self, key: str, long: bool) -> str | None:
        state = self.meter.state
        if key == "hire" and long:
            return "in_service" if state == "out_of_service" else "out_of_service"
        if key == "hire":
            return "clear" if state == "settling" else "hire"
        if key == "pause":
            return "resume" if state == "stopped" else "pause"
        if key in ("settle", "extra"):
            return key
        return None


def _toll_fen(keys: list[str]) -> int:
    """The toll the terminal's key sequence (terminal.app.cabin.toll_key_presses) stands for."""
    from terminal.app.cabin import TOLL_DIGITS, TOLL_START_CURSOR
    digits = [0] * TOLL_DIGITS
    order = [(TOLL_START_CURSOR + i) % TOLL_DIGITS for i in range(TOLL_DIGITS)]
    slot = 0
    for key in keys:
        if key == "pause":
            slot += 1
        elif key == "extra":
            digits[order[slot]] = (digits[order[slot]] + 1) % 10
        elif key == "accept":
            digits[order[slot]] = (digits[order[slot]] - 1) % 10
    return int("".join(map(str, digits))) * 10
