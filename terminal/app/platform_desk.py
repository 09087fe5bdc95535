"""Platform commands (application room): a downlink command in, its effects and its acknowledgement out.

``PlatformDesk`` takes a command the link received, has it parsed and checked
(``terminal.link.downlink``), and hands it to the desk it concerns: on-call orders to the
order desk, alarm confirm/release to the emergency alarm, notices to the cabin, report
parameters and the platform's time here. A command that is refused is acknowledged
with the reason and changes nothing.
"""

from __future__ import annotations

from terminal.link.downlink import Command, Refusal
from terminal.link.downlink import parse as parse_command


class PlatformDesk:
    def __init__(self, term) -> None:
        self.term = term
        self.params: dict = {}            # platform parameters other than report intervals
        self.last: str = ""               # the last command, for the dashboard and the log
        self.jt = None                    # JtDesk (jt_desk.py) when JT/T links are configured

    def on_command(self, topic: str, payload: bytes, now: int) -> None:
        term = self.term
        reporting = term.reporting
        result = parse_command(topic, payload, prefix=reporting.prefix, terminal_id=reporting.tid)
        if isinstance(result, Refusal):
            term.outbox.enqueue(reporting.topic("ack"), result.ack, "ack")
            self.last = f"refused {result.ack.get('command')}: {result.ack.get('reason')}"
            return
        cmd: Command = result
        self.last = cmd.name
        effects: list
        if cmd.name == "order_offer":
            effects = term.orders.offer(cmd, now)
        elif cmd.name == "order_cancel":
            effects = term.orders.centre_cancel(cmd, now)
        elif cmd.name == "alarm_confirm":
            effects = term.alarm.confirm(cmd, now)
        elif cmd.name == "alarm_release":
            effects = term.alarm.release(cmd, now)
        elif cmd.name == "notice":
            term.cabin.show_notice(cmd.body.get("text", ""), now)
            effects = [("report", "ack", cmd.ack(0))]
        elif cmd.name == "params":
            effects = self._params(cmd)
        elif cmd.name == "time_sync":
            effects = [("report", "ack", self._time_sync(cmd, now))]
        elif cmd.name == "record_query":
            effects = term.recorder.query(cmd, now)
        else:
            effects = [("report", "ack", cmd.ack(3, "unsupported"))]
        term.carry_out(effects, now)
        term.outbox.pump()

    def on_jt_command(self, data: dict, now: int) -> None:
        """A command from a JT/T link (``jt_command`` event): the JT/T adapter turns it into ours."""
        if self.jt is not None:
            self.jt.on_command(data, now)

    def _time_sync(self, cmd: Command, now: int) -> dict:
        """The platform's time: small corrections only while for hire; recorded, never a jump mid-trip.

        The system clock itself is kept by the operating system (GNSS time through chrony
        on the vehicle image); the terminal records the correction it was told of.
        """
        from terminal.trust.seal import clock_correction_problem
        term = self.term
        delta = cmd.body["utc_ms"] - now
        problem = clock_correction_problem(delta, term.meter.state)
        if problem:
            term.audit_event("clock_correction_refused", "clock", None, problem, actor="platform")
            return cmd.ack(4, problem)
        term.audit_event("clock_correction", "clock_offset_ms", 0, delta, actor="platform")
        return cmd.ack(0, f"correction of {delta} ms recorded")

    def _params(self, cmd: Command) -> list:
        """Report intervals, speed limit and the order answer time, as the platform sets them."""
        term = self.term
        params = cmd.body["params"]
        report = term.config["report"]
        for key, value in sorted(params.items()):
            if key.startswith("report_"):
                name = key[len("report_"):]
                old, report[name] = report[name], value
            else:
                old = self.params.get(key)
                self.params[key] = value
            term.audit_event("parameter", key, old, value, actor="platform")
        if "report_alarm_s" in params:
            term.alarm.set_interval_ms(params["report_alarm_s"] * 1000)
        if "order_answer_s" in params:
            term.orders.set_answer_ms(params["order_answer_s"] * 1000)
        return [("report", "ack", cmd.ack(0))]
