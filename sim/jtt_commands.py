"""The scenario's platform commands over the JT/T link (``taxiterm sim SCENARIO --link jt808|jt905``).

In the simulator room, beside loop_step.py. ``loop_step(car, witness)`` gives the runner a
``LoopStep``; with a JT/T platform emulator in the car it is a ``JttLoopStep``, whose
``command(send, ...)`` sends what the scenario asks of the MQTT platform (``send`` is one of
``sim.platform.PlatformEmulator``'s command methods) as the JT/T platform's own message
instead, and returns once the terminal has handled it (the simulated clock standing still):

=================  ==========================  ==========================================
scenario command   JT/T 905                    JT/T 808
=================  ==========================  ==========================================
alarm_confirm      0x8B0A                      0x8203 type bit 0, ``seq`` = the serial of
                                               the alarm's last 0x0200 at the platform
alarm_release      0x8B0B                      MQTT (808 has no release)
order_offer        0x8B00 (numeric order id)   MQTT (808 has no on-call orders)
order_cancel       0x8B09                      MQTT
notice             0x8300 (display; urgent)    0x8300 (display; urgent)
params             0x8103 (905 ids)            0x8103 (808 ids; vacant = occupied only)
=================  ==========================  ==========================================

A command the protocol cannot carry goes over MQTT as before. ``sent`` lists what went over
the JT/T link (``sim/jtt_checks.py`` checks each took effect); ``order_ids`` maps the
scenario's order ids to the numbers 905 carries.
"""

from __future__ import annotations

import time

from sim.loop_step import SYNC_TIMEOUT_S, LoopStep, SimError
from terminal.link.jtt import bcd_time

ORDER_TYPES = {"immediate": 0, "reservation": 1, "assigned": 2}
FLAG_URGENT, FLAG_DISPLAY = 0x01, 0x04
# our platform parameter -> the JT/T 0x8103 parameter id (terminal/app/jt_desk.py reads them back)
PARAM_IDS = {
    "jt808": {"report_alarm_s": 0x0028, "speed_limit_kmh": 0x0055, "overspeed_s": 0x0056},
    "jt905": {"report_vacant_s": 0x0025, "report_occupied_s": 0x0026, "report_alarm_s": 0x0028,
              "speed_limit_kmh": 0x0055, "overspeed_s": 0x0056},
}


def loop_step(car, witness=None) -> LoopStep:
    if getattr(car, "jt_platform", None) is None:
        return LoopStep(car, witness)
    return JttLoopStep(car, witness)


class JttLoopStep(LoopStep):
    def __init__(self, car, witness=None) -> None:
        super().__init__(car, witness)
        self.platform = car.jt_platform
        self.protocol = self.platform.protocol
        self.sent: list[dict] = []
        self.order_ids: dict[str, int] = {}

    def command(self, send, *args, **kw) -> str:
        build = getattr(self, f"_{getattr(send, '__name__', '')}", None)
        message = build(*args, **kw) if build is not None else None
        if message is None:
            return super().command(send, *args, **kw)
        msg_id, body = message
        self._await_online()
        sn = self.platform.command(msg_id, body)
        self.sent.append({"command": send.__name__, "msg_id": msg_id, "sn": sn, "body": body,
                          "args": [a for a in args[1:] if isinstance(a, str | int)]})
        self.await_event(lambda e: e.kind == "jt_command" and isinstance(e.data.get("message"), dict)
                         and e.data["message"]["header"].get("msg_sn") == sn
                         and e.data["message"]["header"].get("msg_id") == msg_id,
                         f"{self.protocol} command 0x{msg_id:04X}")
        return f"{self.protocol}:{sn}"

    def _await_online(self) -> None:
        """The terminal's JT/T link is up (authenticated, in 808) before a command is sent."""
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while True:
            try:
                self.platform.wait_online(0.05)
                return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise SimError(f"the {self.protocol} link did not come up for a platform command") from None
                self.drain()

    # -- the scenario's commands as JT/T messages (None: over MQTT) -------------------------------------
    def _alarm_confirm(self, terminal_id, alarm_id=None, **kw):
        if self.protocol == "jt905":
            return 0x8B0A, {}
        alarms = self.platform.messages(0x0200)
        last = next((m for m in reversed(alarms) if m["body"]["alarm"] & 1), None)
        return 0x8203, {"seq": last["header"]["msg_sn"] if last else 0, "type": 1}

    def _alarm_release(self, terminal_id, alarm_id=None, reason="", **kw):
        return (0x8B0B, {}) if self.protocol == "jt905" else None

    def _order_offer(self, terminal_id, order_id, *, order_type="immediate", pickup_ms=None, address="候车点",
                     text="", **kw):
        if self.protocol != "jt905" or order_type not in ORDER_TYPES:
            return None
        number = self.order_ids.setdefault(order_id, len(self.order_ids) + 1)
        when = pickup_ms if pickup_ms is not None else self.car.clock()
        return 0x8B00, {"order_id": number, "type": ORDER_TYPES[order_type], "time": bcd_time(when),
                        "description": address}

    def _order_cancel(self, terminal_id, order_id, reason="", **kw):
        if self.protocol != "jt905" or order_id not in self.order_ids:
            return None
        return 0x8B09, {"order_id": self.order_ids[order_id]}

    def _notice(self, terminal_id, notice_id, text, priority="normal", **kw):
        return 0x8300, {"flag": FLAG_DISPLAY | (FLAG_URGENT if priority == "urgent" else 0), "text": text}

    def _params(self, terminal_id, params, **kw):
        ids = PARAM_IDS[self.protocol]
        params = dict(params)
        out = []
        if self.protocol == "jt808" and "report_vacant_s" in params:
            # 808 has one default interval (0x0029) for both states
            if params.get("report_occupied_s") != params["report_vacant_s"]:
                return None
            out.append({"id": 0x0029, "value": params.pop("report_vacant_s")})
            params.pop("report_occupied_s")
        if any(name not in ids for name in params):
            return None
        out += [{"id": ids[name], "value": value} for name, value in params.items()]
        return 0x8103, {"params": out}
