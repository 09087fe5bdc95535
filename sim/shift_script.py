"""The scenario's driving actions, played by a driver model: sign in and out, hails, orders, cruising, parking.

In the simulator room. ``ShiftScript(runner)`` works through the scenario's driving actions in
order as a generator of steps (``("wait", ms)``, ``("until", t_ms)``, ``("drive", route)``),
which ``resume()`` interprets on the runner's clock: the driver presses keys as the meter
asks (``press`` takes the key's hold time off the simulated clock), the platform offers and
cancels orders, and the vehicle drives the routes. Incidents anchored to a driving action
are scheduled when that action begins.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator

from sim.scenario import Action, RouteSpec
from sim.vehicle import split_route
from terminal.app.cabin import toll_key_presses


class ShiftScript:
    def __init__(self, runner, anchors: dict[int, list[Action]]) -> None:
        self.runner = runner
        self.anchors = anchors          # incidents by the index of the driving action they strike in
        self.finished = False
        self.waiting_drive = False      # a route is being driven: resume when the car arrives
        self._order_no = itertools.count(1)
        self._steps = self._driving()

    def resume(self) -> None:
        r = self.runner
        try:
            step = next(self._steps)
        except StopIteration:
            self.finished = True
            return
        kind, value = step
        if kind == "wait":
            r.clock.at(r.clock.now + value, self.resume)
        elif kind == "until":
            r.clock.at(value, self.resume)
        elif kind == "drive":
            r.vehicle.start(value)
            self.waiting_drive = True

    def arrived(self) -> None:
        """Called each second: the drive ended, so the script goes on."""
        if self.waiting_drive and not self.runner.vehicle.driving:
            self.waiting_drive = False
            self.runner.clock.at(self.runner.clock.now, self.resume)

    def press(self, key: str, hold_ms: int = 150) -> None:
        """The driver presses a key: the pin goes low now and high ``hold_ms`` later."""
        pin = self.runner.car.keys.buttons[key].pin
        pin.drive_low()
        self.runner.clock.now += hold_ms
        pin.drive_high()
        self.runner.loop.drain()

    def _meter_state(self) -> str:
        return self.runner.car.terminal.meter.state

    def _driving(self) -> Iterator[tuple]:
        r = self.runner
        for action in r.scenario.actions:
            if not action.driving:
                continue
            if action.at_ms is not None and action.at_ms > r.clock.now:
                yield ("until", action.at_ms)
            for incident in self.anchors.get(action.index, []):
                r.clock.at(r.clock.now + incident.into_ms, functools.partial(r.incidents.strike, incident))
            yield from getattr(self, "_do_" + action.do)(action)

    def _drive(self, spec: RouteSpec, seed_offset: int = 0) -> Iterator[tuple]:
        yield ("drive", self.runner.vehicle.route(spec, seed_offset))

    def _do_sign_in(self, action: Action) -> Iterator[tuple]:
        self.press("sign")
        yield ("wait", 2000)

    def _do_sign_out(self, action: Action) -> Iterator[tuple]:
        self.press("sign")
        yield ("wait", 2000)

    def _do_park(self, action: Action) -> Iterator[tuple]:
        yield ("wait", action.params["duration"])

    def _do_cruise(self, action: Action) -> Iterator[tuple]:
        yield from self._drive(action.params["route"], action.index)

    def _do_out_of_service(self, action: Action) -> Iterator[tuple]:
        self.press("hire", hold_ms=self.runner.car.config["keys"]["long_ms"] + 200)
        yield ("wait", action.params["duration"])
        self.press("hire", hold_ms=self.runner.car.config["keys"]["long_ms"] + 200)
        yield ("wait", 1000)

    def _trip(self, action: Action, route: RouteSpec) -> Iterator[tuple]:
        """A passenger on board: hire, drive (standing in traffic or pausing half way), settle, tolls, clear."""
        p = action.params
        if self._meter_state() != "for_hire":
            self.runner.notes.append(f"{action.where()}: meter {self._meter_state()}, no passenger taken")
            return
        self.press("hire")
        yield ("wait", 2000)
        first, second = split_route(route)
        yield from self._drive(first, action.index)
        if p["wait"]:
            yield ("wait", p["wait"])          # standing in traffic, hired: waiting time runs
        if p.get("pause"):
            self.press("pause")                # a fault: the driver stops the meter
            yield ("wait", p["pause"])
            self.press("pause")
        yield from self._drive(second, action.index + 500)
        if self._meter_state() not in ("hired", "stopped"):
            self.runner.notes.append(f"{action.where()}: trip already closed by the meter ({self._meter_state()})")
            return
        self.press("settle")
        yield ("wait", 3000)
        if p["tolls_fen"]:
            for key in toll_key_presses(p["tolls_fen"]):   # digit by digit, on the display as keyed
                self.press(key)
                yield ("wait", 600)
            yield ("wait", 3000)                # the passenger reads the new total
        self.press("hire")                      # closes the trip: receipt prints
        yield ("wait", 5000)

    def _do_hail(self, action: Action) -> Iterator[tuple]:
        yield ("wait", 5000)                    # the passenger gets in
        yield from self._trip(action, action.params["route"])

    def _do_order(self, action: Action) -> Iterator[tuple]:
        p = action.params
        r = self.runner
        tid = r.scenario.vehicle.terminal_id
        order_id = f"95128-{r.scenario.name[:12]}-{next(self._order_no):03d}"
        r.loop.command(r.car.platform.order_offer, tid, order_id, order_type=p["order_type"],
                       pickup_ms=r.clock.now + 600_000, address=p["address"], text="电召订单")
        outcome = p["outcome"]
        if outcome == "timeout":
            yield ("wait", r.car.config["orders"]["answer_s"] * 1000 + 2000)
            return
        if p["order_type"] != "assigned":
            yield ("wait", p["answer_after"])
            if outcome == "rejected":
                self.press("reject")
                yield ("wait", 1000)
                return
            self.press("accept")
        yield from self._drive(p["pickup_route"], action.index)
        if outcome == "cancelled_by_centre":
            yield ("wait", p["cancel_after"])
            r.loop.command(r.car.platform.order_cancel, tid, order_id, reason="乘客取消")
            yield ("wait", 1000)
            return
        if outcome == "cancelled_by_driver":
            yield ("wait", p["cancel_after"])
            self.press("reject")               # on call: the driver gives the order up
            yield ("wait", 1000)
            return
        yield ("wait", 30_000)                  # the passenger comes out and gets in
        yield from self._trip(action, p["route"])
