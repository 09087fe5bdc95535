"""The scenario runner: one whole terminal through a simulated shift, on a clock the runner owns.

The stage of the simulator room, and only the composition: ``ShiftRunner(scenario, out_dir).run()``
fits the terminal in the car (``sim.installation``), then plays the scenario on the shift's clock
(``sim.shift_clock``): the driver model works through the driving actions (``sim.shift_script``),
incidents strike (``sim.incidents``), and every simulated second the vehicle moves
(``sim.vehicle``), the devices are stepped (``sim.stepping``: pulses, the counter's sample, one
NMEA epoch, the spooler) and the terminal's loop step runs (``sim.loop_step``: ``handle`` each
queued event, then ``periodic``). At the end it gathers and writes the outputs (``sim.summary``).

``speed=None`` runs as fast as the machine allows; ``speed=N`` holds the simulated clock to N
times the wall clock (1 = real time). Where something real happens outside the runner (a
command crossing the broker, a broker coming back), the runner waits for it in wall time with
the simulated clock standing still, so results do not depend on the machine's speed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

from sim import jtt_commands
from sim import summary as summary_mod
from sim.broker import Broker
from sim.dashboard import screen_text
from sim.devices import contact_sheet
from sim.incidents import Incidents
from sim.installation import Installation
from sim.loop_step import SYNC_TIMEOUT_S, SimError
from sim.scenario import Action, Scenario
from sim.shift_clock import ShiftClock
from sim.shift_script import ShiftScript
from sim.stepping import DeviceStepper
from sim.vehicle import Vehicle
from sim.witness import Witness

__all__ = ["ShiftRunner", "SimError"]


class ShiftRunner:
    def __init__(self, scenario: Scenario, out_dir: str | Path, *, speed: float | None = None,
                 broker: Broker | None = None, render: bool = True, state_dir: Path | None = None,
                 on_tick: Callable[[dict], None] | None = None, link: str = "mqtt", meter: str = "internal") -> None:
        self.clock = ShiftClock(scenario.start_ms, speed)
        self.scenario = scenario
        self.out = Path(out_dir)
        self.speed = speed
        self.render = render
        self.on_tick = on_tick
        self.car = Installation(scenario, self.out, self.clock, broker=broker, render=render, state_dir=state_dir,
                                link=link, meter=meter)
        self.notes: list[str] = []
        self.recorder_truth: dict[int, int] = {}   # second start ms -> the vehicle's mean speed, 0.1 km/h
        self.recorder_fine_truth: dict[int, int] = {}   # end of each 0.2 s -> the vehicle's speed over it
        self.incidents = Incidents(self)
        self.wall_s = 0.0

    @property
    def now(self) -> int:
        return self.clock.now

    def run(self) -> dict:
        started = time.monotonic()
        car = self.car
        try:
            car.build()         # inside: a fitting that fails half way is taken out again
            self.vehicle = Vehicle(self.scenario.vehicle.origin)
            self.stepper = DeviceStepper(car, self.vehicle, self.scenario, self.clock)
            self.witness = Witness(self)
            self.loop = jtt_commands.loop_step(car, self.witness)   # JT/T runs: commands over the JT/T link
            car.link.start()
            for jt_link in car.jt_links:
                jt_link.start()
            self.loop.await_event(lambda e: e.kind == "link" and e.data.get("up"), "the terminal's MQTT connection")
            car.terminal.start()
            self.clock.start()
            limits = {k: v for k, v in self.scenario.recorder.items() if k in ("speed_limit_kmh", "overspeed_s")}
            if limits:       # the platform's speed limit, as a params command (docs/recorder.md)
                self.loop.command(car.platform.params, self.scenario.vehicle.terminal_id, limits)
            self.script = self._script_class()(self, self._schedule_incidents())
            self.clock.at(self.now, self.script.resume)
            self._next_tick = self.now + 1000
            self._tick_no = 0
            self.clock.at(self._next_tick, self._tick)
            while self.clock.pending():
                t, fn = self.clock.pop()
                if self.scenario.end_ms is not None and t > self.scenario.end_ms:
                    self.notes.append("the shift was stopped at its end time; what was still to come did not happen")
                    break
                self.clock.advance_to(t)
                fn()
                self.loop.drain()
                if self.script.finished and self.clock.only(self._tick):
                    break
            self._finish()
            self.wall_s = time.monotonic() - started
            self.replay_wall_s = time.monotonic() - self.clock.wall0
            return self._collect()
        finally:
            car.close()

    def _script_class(self):
        """The driver presses the meter's own keys when a meter is fitted on the link (sim/meter_keys.py)."""
        if self.car.fitted_meter is None:
            return ShiftScript
        from sim.meter_keys import MeterKeysScript
        return MeterKeysScript

    def _fitted_meter_second(self) -> None:
        """A meter fitted on the link gets the car's supply and pulses, and its bytes cross (sim/fitted_meter.py)."""
        if self.car.fitted_meter is not None:
            from sim.fitted_meter import MeterSyncError
            try:
                self.car.fitted_meter.second(self.vehicle.odometer_m, self.incidents.powered, self.loop.drain)
            except MeterSyncError as exc:
                raise SimError(f"the fitted meter: {exc}") from None

    def _schedule_incidents(self) -> dict[int, list[Action]]:
        """Incidents at a time go on the clock now; those anchored to a driving action wait for it."""
        anchors: dict[int, list[Action]] = {}
        last_driving = None
        for action in self.scenario.actions:
            if action.driving:
                last_driving = action.index
            elif action.into_ms is not None:
                anchors.setdefault(last_driving, []).append(action)
            else:
                self.clock.at(action.at_ms, functools.partial(self.incidents.strike, action))
        return anchors

    def _tick(self) -> None:
        """One simulated second."""
        metres = self.vehicle.step()
        self.script.arrived()
        if self.incidents.powered:
            self.recorder_truth[self.now - 1000] = round(metres * 36)
            self._fifths()
            self.stepper.pulses()
            self._tick_no += 1
            if self._tick_no * 1000 % self.car.counter.period_ms == 0:
                self.car.counter.sample()
            self.stepper.gnss_epoch()
        self._loop_periodic()
        if self.on_tick is not None:
            self.on_tick(self.status())
        self._next_tick += 1000
        self.clock.at(self._next_tick, self._tick)

    def _fifths(self) -> None:
        """The second's pulses as the vehicle drove them, read by the counter every 0.2 s
        (drivers/pulse.py); the vehicle's speed over each 0.2 s for the record's invariants."""
        fifths, start = self.vehicle.fifths, self.now - 1000
        before = self.vehicle.fifths_from
        for i, metres in enumerate(fifths):
            t = start + (i + 1) * 200
            self.recorder_fine_truth[t] = round((metres - before) * 180)
            before = metres
            if i < len(fifths) - 1:
                self.stepper.pulses(metres)
                self.car.counter.read(t)

    def _loop_periodic(self) -> None:
        self._fitted_meter_second()
        self.loop.drain()
        terminal = self.car.terminal
        terminal.periodic(self.now)
        if terminal.faults.failing:     # the car carries on past a failing desk; a simulation stops
            raise SimError(f"the terminal's turn failed in {', '.join(sorted(terminal.faults.failing))} (see log)")
        self.witness.observe()
        self.stepper.spool()

    def _finish(self) -> None:
        """Ten quiet seconds, the last receipts printed, every report at the platform."""
        car = self.car
        for _ in range(10):
            self.clock.now += 1000
            if self.incidents.powered:
                self.stepper.pulses()
                car.counter.sample()
                self.stepper.gnss_epoch()
            self._loop_periodic()
        self.stepper.held_at = None
        if car.printer.hold_reason() is None:
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while len(car.spooler.store) and time.monotonic() < deadline:
                self.stepper.spool()
                self.loop.drain()
                time.sleep(0.01)
        else:
            self.notes.append(f"the printer cannot print at the end of the shift ({car.printer.hold_reason()}): "
                              f"{len(car.spooler.store)} receipt(s) still queued")
        self.loop.quiesce()
        self._jt_quiesce()
        if not len(car.spooler.store):
            car.printer.wait_for_receipts(len(car.storage.trips()), timeout_s=SYNC_TIMEOUT_S)

    def _jt_quiesce(self) -> None:
        """Every message delivered on the JT/T link too (its platform acknowledges in wall time)."""
        links = self.car.terminal.outbox.stats().get("links", {})
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while any(s["pending"] for s in links.values()) and time.monotonic() < deadline:
            self.loop.drain()
            self.car.terminal.outbox.pump()
            time.sleep(0.01)
            links = self.car.terminal.outbox.stats().get("links", {})

    def status(self) -> dict:
        """What the dashboard shows."""
        terminal = self.car.terminal
        v = terminal.meter.view()
        fix = terminal.fix
        flags = sorted(terminal.alarm_flags)
        return {
            "t_ms": self.now, "state": v["state"], "fare_fen": v["fare_fen"], "extras_fen": v["extras_fen"],
            "distance_m": v["distance_m"], "sign": self.car.sign_emulator.state,
            "speed_kmh": round(self.vehicle.speed_mps * 3.6),
            "gnss": ",".join(f for f in flags if f in ("gnss_fault", "antenna_open", "antenna_short"))
                    or ("fix" if fix is not None else "no fix"),
            "outbox": terminal.outbox.pending() if self.speed is not None or self.now % 60000 == 0 else None,
            "platform": terminal.last_platform, "trips": terminal.meter.totals.hirings,
            "link": self.car.link.connected, "powered": self.incidents.powered, "order": terminal.orders.state,
            "display": screen_text(self.car.display.screen), "warnings": list(self.car.display.warnings),
            "printer": terminal.reporting.printer_status.get("reason") or "ready",
            "alarm": terminal.reporting.alarm_bits(), "faults": flags,
            "shift": {"fares_fen": terminal.meter.totals.fares_fen, "extras_fen": terminal.meter.totals.extras_fen},
        }

    def _collect(self) -> dict:
        data = self.data = summary_mod.gather(self)
        result = summary_mod.write_outputs(self, data)
        if self.render and self.car.display.frames:
            contact_sheet(self.out / "frames", self.car.display.frames, self.out / "contact-sheet.png",
                          label=lambda t: summary_mod.hhmm(t, self.scenario.utc_offset_min))
        return result
