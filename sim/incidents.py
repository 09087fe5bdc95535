"""What strikes during a simulated shift: power dips and losses, broker outages, GNSS trouble, paper-out,
the hidden alarm, a platform notice.

In the simulator room. ``Incidents(runner).strike(action)`` starts an incident at the simulated
moment and schedules its end on the runner's clock; where something real has to happen
outside the runner (the broker dying or coming back, the platform subscribing again, a pre-alarm
crossing the broker) it waits in wall time with the simulated clock standing still, through
the runner's ``LoopStep``. It keeps what the summary needs to know of the
alarms pressed, and whether the car has power.
"""

from __future__ import annotations

import functools
import json
import logging
import time

import paho.mqtt.client as mqtt

from sim.loop_step import SYNC_TIMEOUT_S, SimError
from sim.scenario import Action

log = logging.getLogger("taxiterm.sim")

PROBE_ID = "SIM-PROBE"


class Incidents:
    def __init__(self, runner) -> None:
        self.runner = runner
        self.powered = True
        self.alarms: list[dict] = []

    def strike(self, action: Action) -> None:
        r = self.runner
        p = action.params
        log.info("incident %s at %d", action.do, r.clock.now)
        at, now, stepper = r.clock.at, r.clock.now, r.stepper
        if action.do in ("power_dip", "power_loss"):
            self.power(False)
            at(now + p["duration"], functools.partial(self.power, True))
        elif action.do == "broker_outage":
            self._outage_begin(p["mode"])
            at(r.clock.now + p["duration"], functools.partial(self._outage_end, p["mode"]))
        elif action.do == "gnss_dropout":
            stepper.gnss_mode = "dropout"
            at(now + p["duration"], self._gnss_back)
        elif action.do == "antenna_fault":
            stepper.gnss_mode = "antenna"
            stepper.antenna_pending = p["fault"]
            at(now + p["duration"], self._gnss_back)
        elif action.do == "paper_out":
            r.car.printer.set_state(paper_out=True)
            at(now + p["duration"], self._paper_back)
        elif action.do == "alarm":
            self._alarm(p)
        elif action.do == "notice":
            r.loop.command(r.car.platform.notice, r.scenario.vehicle.terminal_id, f"n{now}", p["text"])

    def power(self, on: bool) -> None:
        self.powered = on
        self.runner.vehicle.frozen = not on
        pin = self.runner.car.ignition.device.pin
        (pin.drive_low if on else pin.drive_high)()

    def _gnss_back(self) -> None:
        stepper = self.runner.stepper
        if stepper.gnss_mode == "antenna":
            stepper.antenna_pending = "ok"
        stepper.gnss_mode = "ok"

    def _paper_back(self) -> None:
        self.runner.car.printer.set_state(paper_out=False)
        self.runner.stepper.held_at = None
        self.runner.stepper.spool()

    def _outage_begin(self, mode: str) -> None:
        car = self.runner.car
        if mode == "kill":
            # what the broker acknowledged has reached the platform before it dies; waited for
            # while the JT/T platform still answers, or what it had not answered yet never goes
            self.runner.loop.quiesce()
        if car.jt_platform is not None:          # the network is gone for the JT/T link too
            car.jt_platform.refuse = True
            car.jt_platform.drop()
        if mode == "kill":
            car.gate.hold()
            car.gate.cut()
            car.broker.stop()
        else:
            car.gate.hold()
            car.gate.cut()
        self.runner.loop.await_event(lambda e: e.kind == "link" and not e.data.get("up") and "link" not in e.data,
                                     "the link going down")

    def _outage_end(self, mode: str) -> None:
        car = self.runner.car
        if mode == "kill":
            car.broker.start()
            self._platform_back()
        car.gate.release()
        if car.jt_platform is not None:
            car.jt_platform.refuse = False
        self.runner.loop.await_event(lambda e: e.kind == "link" and e.data.get("up") and "link" not in e.data,
                                     "the link coming back")

    def _platform_back(self) -> None:
        """The restarted broker forgot every subscription: wait until the platform has subscribed again."""
        broker, platform = self.runner.car.broker, self.runner.car.platform
        probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=PROBE_ID, protocol=mqtt.MQTTv5)
        broker.secure(probe, PROBE_ID, "terminal")      # a terminal's account: it publishes a status
        probe.connect(broker.host, broker.port)
        probe.loop_start()
        try:
            before = len(platform.received("status", PROBE_ID))
            deadline = time.monotonic() + SYNC_TIMEOUT_S
            while len(platform.received("status", PROBE_ID)) == before:
                if time.monotonic() > deadline:
                    raise SimError("the platform did not subscribe again after the broker restart")
                body = {"online": True, "ts": self.runner.clock.now, "software": "probe", "terminal_id": PROBE_ID}
                probe.publish(f"taxi/{PROBE_ID}/status", json.dumps(body), qos=1).wait_for_publish(2)
                time.sleep(0.05)
        finally:
            probe.disconnect()
            probe.loop_stop()

    def _alarm(self, p: dict) -> None:
        r = self.runner
        platform = r.car.platform
        pin = r.car.alarm_buttons.buttons["alarm_a"].pin
        pin.drive_low()
        index = len(platform.messages)
        entry = {"pressed_ms": r.clock.now, "alarm_id": None, "brush": False}
        self.alarms.append(entry)

        def release() -> None:
            pin.drive_high()
            r.loop.drain()
            if p["hold"] < r.car.config["alarm"]["hold_ms"]:
                entry["brush"] = True        # too short to be an alarm: nothing must be reported
                return
            tid = r.scenario.vehicle.terminal_id
            try:
                pre = platform.wait_for(lambda m: m.kind == "alarm" and m.terminal_id == tid
                                        and m.payload["extra"]["stage"] == "pre_alarm", SYNC_TIMEOUT_S, index)
            except Exception as exc:   # noqa: BLE001 - PlatformError: named in the run's notes, invariant fails
                r.notes.append(f"alarm pressed at {entry['pressed_ms']}: no pre-alarm at the platform ({exc})")
                return
            alarm_id = entry["alarm_id"] = pre.payload["extra"]["alarm_id"]
            now = r.clock.now
            r.clock.at(now + p["confirm_after"], lambda: r.loop.command(platform.alarm_confirm, tid, alarm_id))
            r.clock.at(now + p["confirm_after"] + p["release_after"],
                       lambda: r.loop.command(platform.alarm_release, tid, alarm_id, reason="处置完毕"))

        r.clock.at(r.clock.now + p["hold"], release)
