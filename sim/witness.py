"""The witness of a simulated shift: what a driver, a passenger or a technician would see, checked as it happens.

In the simulator room. After every turn of the terminal's loop the runner calls
``Witness.observe()``, which compares what is shown with what is so:

- the display's fare and total against the meter's (``display_equals_meter``);
- the rooftop sign against the terminal's situation, worked out here from the meter state,
  the shift, the order and the alarm (``sign_follows_state``);
- the display's warnings against the device faults the terminal holds (alarm flags,
  printer status), and the printer's condition as the emulator really has it against what
  the terminal shows and reports, allowing the time the terminal needs to notice
  (``device_faults_agree``).

Each check keeps its problems (the first ``KEEP``) and how many moments it looked at;
``sim.summary`` turns them into invariants next to those it checks over the outputs.
"""

from __future__ import annotations

from drivers.display import PRINTER_WARNINGS
from terminal.app.reporting import FAULTS

KEEP = 20
IN_TRIP = ("hired", "stopped", "settling")
PRINTER_GRACE_MS = 8_000       # the spooler asks an idle printer every 5 s; a held job every 2 s
LABELLED_FAULTS = tuple((name, label) for name, (_device, label) in FAULTS.items() if label)
PRINTER_LABELS = frozenset(PRINTER_WARNINGS.values())


class Witness:
    def __init__(self, runner) -> None:
        self.runner = runner
        self.checked = {"display_equals_meter": 0, "sign_follows_state": 0, "device_faults_agree": 0}
        self.problems: dict[str, list[str]] = {name: [] for name in self.checked}
        self._printer_since: int | None = None     # when the printer's condition and the terminal began to differ

    def _problem(self, name: str, text: str) -> None:
        if len(self.problems[name]) < KEEP:
            self.problems[name].append(f"{self._when()}: {text}")

    def _when(self) -> str:
        from sim.summary import hhmm
        return hhmm(self.runner.clock.now, self.runner.scenario.utc_offset_min)

    def observe(self) -> None:
        car = self.runner.car
        term = car.terminal
        if term is None or car.display.screen is None:
            return
        self._display(term, car.display.screen)
        self._sign(term)
        self._faults(term, car)

    # -- the display against the meter -------------------------------------------------------------
    def _display(self, term, screen) -> None:
        v = term.meter.view()
        kind = type(screen).__name__
        self.checked["display_equals_meter"] += 1
        if kind == "FareScreen":
            if (screen.state, screen.fare_fen) != (v["state"], v["fare_fen"]):
                self._problem("display_equals_meter", f"display {screen.state} {screen.fare_fen} fen, "
                                                      f"meter {v['state']} {v['fare_fen']} fen")
        elif kind == "SettleScreen":
            if v["state"] != "settling" or (screen.fare_fen, screen.total_fen) != (v["fare_fen"], v["total_fen"]):
                self._problem("display_equals_meter", f"settle screen fare {screen.fare_fen} total {screen.total_fen}"
                                                      f" fen, meter {v['state']} {v['fare_fen']}/{v['total_fen']}")
        elif kind == "SignedOutScreen" and v["state"] in IN_TRIP:
            self._problem("display_equals_meter", f"signed-out screen while the meter is {v['state']}")

    # -- the sign against the situation ---------------------------------------------------------------
    def wanted_sign(self, term) -> str:
        if term.alarm.sign_alarm:
            return "alarm"
        state = term.meter.state
        if getattr(term.meter, "external", False) and "meter_fault" in term.reporting.flags:
            return "out_of_service"          # a silent meter on the link: the sign says so (docs/meter-link.md)
        if state in IN_TRIP:
            return "occupied"
        storage = term.storage
        signed_out = term.meter.shift_info is None and storage.open_shift() is None and bool(storage.shifts(last=1))
        if state == "out_of_service" or signed_out:
            return "out_of_service"
        if term.orders.state == "on_call":
            return "on_call"
        return "vacant"

    def _sign(self, term) -> None:
        emulator = self.runner.car.sign_emulator
        if emulator.silent or "sign_fault" in term.reporting.flags:
            return                           # a sign that does not answer is the faults' business
        self.checked["sign_follows_state"] += 1
        wanted = self.wanted_sign(term)
        if emulator.state != wanted:
            self._problem("sign_follows_state", f"sign shows {emulator.state}, the terminal is {term.meter.state}"
                                                f" (order {term.orders.state}): wanted {wanted}")

    # -- device faults: display, flags and the real condition ---------------------------------------------
    def _faults(self, term, car) -> None:
        self.checked["device_faults_agree"] += 1
        warnings = set(car.display.warnings)
        flags = term.reporting.flags
        for name, label in LABELLED_FAULTS:
            if (name in flags) != (label in warnings):
                self._problem("device_faults_agree", f"{name} {'raised' if name in flags else 'clear'} but the "
                                                     f"display {'lacks' if name in flags else 'shows'} {label}")
        reason = term.reporting.printer_status.get("reason")
        label = PRINTER_WARNINGS.get(reason) if reason else None
        printer_labels = PRINTER_LABELS & warnings
        if printer_labels != ({label} if label else set()):
            self._problem("device_faults_agree", f"printer {reason or 'ready'} but the display shows "
                                                 f"{sorted(printer_labels) or 'nothing'}")
        really = car.printer.hold_reason()
        now = self.runner.clock.now
        if (really or None) != (reason or None) and not (really == "silent" and reason == "no_reply"):
            if self._printer_since is None:
                self._printer_since = now
            elif now - self._printer_since > PRINTER_GRACE_MS:
                self._problem("device_faults_agree", f"the printer is {really or 'ready'} since "
                                                     f"{(now - self._printer_since) // 1000} s, the terminal "
                                                     f"says {reason or 'ready'}")
                self._printer_since = now
        else:
            self._printer_since = None
