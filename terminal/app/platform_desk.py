"""Platform commands (application room): a downlink message in, its effects and its acknowledgement out.

``PlatformDesk`` takes what the link received, has it checked
(``terminal.link.downlink``: bounds, address, retain flag, the platform's Ed25519
signature, timestamp window, schema), and hands a valid command to the desk it
concerns: on-call orders to the order desk, alarm confirm/release to the emergency
alarm, notices to the cabin, report parameters and the platform's time here.

Exactly once: a command is applied in one transaction with its acknowledgement, its
cmd_id and result in the replay cache (``terminal.link.command_log``) and the new
state of the alarm, the order desk and the platform parameters
(``terminal.app.desk_state``); a repeated cmd_id is acknowledged again with the
stored result. Audit records, the sign and the display follow the commit. The same
``apply`` carries out what a key, a tick or the meter made a desk do
(``Terminal.carry_out``): an accepted, refused, boarded, completed or expired order is
stored with its report, never only at the end of the loop turn.

Junk and forgeries change nothing: they are counted, answered under a rate limit and
audited at most once per kind per interval (``terminal.link.guard``). No exception
leaves ``on_event``: whatever goes wrong is rolled back and counted as a fault.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from terminal.app.desk_state import DeskState
from terminal.link.command_log import CommandLog
from terminal.link.downlink import Command, Refusal
from terminal.link.downlink import parse as parse_command
from terminal.link.guard import DownlinkGuard
from terminal.link.payloads import RESULT_MALFORMED, RESULT_REFUSED, ack_body

log = logging.getLogger("taxiterm.platform")

DOWNLINK_DEFAULTS = {"platform_key": "", "window_s": 300, "max_bytes": 8192, "max_depth": 8,
                     "error_acks_per_s": 2, "error_ack_burst": 10, "fault_audit_s": 3600}
_AFTER_COMMIT = ("audit", "audit_event", "sign_alarm", "sign_on_call", "display", "notice")


def load_platform_key(config: dict):
    """The platform's public key: ``downlink.platform_key`` if set, else STATE/keys/platform.pub; None if absent."""
    from terminal.trust import keys
    path = config.get("downlink", {}).get("platform_key") or ""
    if path:
        return keys.load_public(Path(path))
    state_dir = config.get("terminal", {}).get("state_dir")
    if not state_dir:
        return None
    try:
        return keys.DeviceState(state_dir).platform_key()
    except keys.KeyFileError as exc:
        log.error("platform key unusable, every command will be refused: %s", exc)
        return None


class PlatformDesk:
    def __init__(self, term, platform_key=None) -> None:
        self.term = term
        self.settings = {**DOWNLINK_DEFAULTS, **term.config.get("downlink", {})}
        self.params: dict = {}            # platform parameters other than report intervals
        self.last: str = ""               # the last command, for the dashboard and the log
        self.jt = None                    # JtDesk (jt_desk.py) when JT/T links are configured
        self.platform_key = platform_key if platform_key is not None else load_platform_key(term.config)
        if self.platform_key is None:
            log.warning("no platform key installed: every downlink command will be refused "
                        "(taxiterm platform install-key)")
        self.window_ms = self.settings["window_s"] * 1000
        self.guard = DownlinkGuard(self.settings["error_acks_per_s"], self.settings["error_ack_burst"],
                                   self.settings["fault_audit_s"])
        self.commands = CommandLog(term.storage, keep_ms=2 * self.window_ms)
        self.state = DeskState(term.storage)
        self.restored = False     # until restore(): what is stored is the state before the stop, kept

    # -- the front door ------------------------------------------------------------------------------
    def on_event(self, data: dict, now: int) -> None:
        """One ``platform`` event from the link (topic, parsed payload or error, retain flag)."""
        self.guard.received += 1
        try:
            self._on_event(data, now)
        except Exception:  # noqa: BLE001 - no message may stop the loop; rolled back, counted, answered
            log.exception("downlink message on %r failed; nothing applied", data.get("topic"))
            self._fault("exception", now)
            self._answer_junk(ack_body(None, _command_of(data), RESULT_MALFORMED, "internal error; nothing applied"),
                              now)
        self.term.outbox.pump()

    def on_command(self, topic: str, payload, now: int, retained: bool = False) -> None:
        """A command given as topic and payload (bytes or an object): tools and tests."""
        self.on_event({"topic": topic, "payload": payload, "error": None, "retained": retained}, now)

    def _on_event(self, data: dict, now: int) -> None:
        topic = data.get("topic") or ""
        reporting = self.term.reporting
        if data.get("error"):
            result: Command | Refusal = Refusal(ack_body(None, _command_of(data), RESULT_MALFORMED,
                                                         str(data["error"])[:500]), data.get("fault", "not_json"))
        else:
            payload = data.get("payload")
            if payload is None:
                payload = data.get("raw", b"")
            result = parse_command(topic, payload, prefix=reporting.prefix, terminal_id=reporting.tid,
                                   platform_key=self.platform_key, now_ms=now, window_ms=self.window_ms,
                                   retained=bool(data.get("retained")), max_bytes=self.settings["max_bytes"],
                                   max_depth=self.settings["max_depth"])
            if self.platform_key is None and isinstance(result, Command):
                result = Refusal(result.ack(RESULT_REFUSED, "unauthorised: no platform key installed"), "no_key")
        if isinstance(result, Refusal):
            self._refused(result, now)
            return
        cmd: Command = result
        stored = self.commands.result(cmd.cmd_id)
        if stored is not None:
            self.guard.repeated += 1
            self.last = f"repeated {cmd.name} {cmd.cmd_id}"
            if self.guard.answer_allowed(now):
                self.term.outbox.enqueue(reporting.topic("ack"), stored, "ack")
            return
        self.guard.accepted += 1
        self.last = cmd.name
        log.info("platform command %s %s", cmd.name, cmd.cmd_id)
        self.apply(self._effects(cmd, now), now, cmd)

    def on_jt_command(self, data: dict, now: int) -> None:
        """A command from a JT/T link (``jt_command`` event): the JT/T adapter turns it into ours."""
        if self.jt is not None:
            self.jt.on_command(data, now)

    def _refused(self, refusal: Refusal, now: int) -> None:
        self.guard.refused += 1
        ack = refusal.ack
        self.last = f"refused {ack.get('command')}: {ack.get('reason')}"
        if refusal.authenticated and ack.get("cmd_id"):
            # The platform's own mistake (a signed command breaking its schema): always answered, once.
            stored = self.commands.result(ack["cmd_id"])
            if stored is None:
                with self.term.storage.transaction():
                    self.term.outbox.enqueue(self.term.reporting.topic("ack"), ack, "ack")
                    self.commands.record(ack["cmd_id"], ack["command"], None, now, ack)
            elif self.guard.answer_allowed(now):
                self.term.outbox.enqueue(self.term.reporting.topic("ack"), stored, "ack")
            return
        log.debug("downlink refused (%s): %s", refusal.kind, ack.get("reason"))
        self._fault(refusal.kind, now)
        self._answer_junk(ack, now)

    def _answer_junk(self, ack: dict, now: int) -> None:
        if self.guard.answer_allowed(now):
            self.term.outbox.enqueue(self.term.reporting.topic("ack"), ack, "ack")

    def _fault(self, kind: str, now: int) -> None:
        count = self.guard.fault(kind, now)
        if count is not None:
            log.warning("downlink fault %s (%d since the last record)", kind, count)
            self.term.audit_event("downlink_fault", kind, None, count, actor="platform")

    # -- one transaction: reports, replay cache, desk state; then the rest ---------------------------
    def apply(self, effects: list, now: int, cmd: Command | None = None) -> None:
        """Carry out ``effects`` of a desk: reports, the command's record and the desks' new state in
        one transaction; audit records, sign and display after it commits. On a failure the desks
        are put back as they were and nothing is stored."""
        term = self.term
        if not effects and cmd is None:
            if self.restored:
                self.state.save_if_changed(self.snapshot())   # a change that sends nothing (on call -> in trip)
            return
        before = self.snapshot()
        inside = [e for e in effects if e[0] not in _AFTER_COMMIT]
        after = [e for e in effects if e[0] in _AFTER_COMMIT]
        try:
            with term.storage.transaction():
                term.perform(inside, now)
                if cmd is not None:
                    acks = [e[2] for e in effects if e[0] == "report" and e[1] == "ack"]
                    self.commands.record(cmd.cmd_id, cmd.name, cmd.issued_ms, now,
                                         acks[0] if acks else cmd.ack(0))
                if self.restored:
                    self.state.save(self.snapshot())
        except Exception:
            self.restore_snapshot(before)
            raise
        term.outbox.pump()      # stored, so it may leave now: an alarm does not wait for its audit record
        for effect in after:
            if effect[0] == "audit_event":
                term.audit_event(*effect[1:5], actor=effect[5])
            elif effect[0] == "notice":
                term.cabin.show_notice(effect[1], now)
            else:
                term.perform([effect], now)

    def persist(self) -> None:
        """Save the desks' state if it changed without effects (called every loop turn: a change
        that sends a report is stored with it, by ``apply``)."""
        if self.restored:
            self.state.save_if_changed(self.snapshot())

    # -- the commands --------------------------------------------------------------------------------
    def _effects(self, cmd: Command, now: int) -> list:
        term = self.term
        if cmd.name == "order_offer":
            return term.orders.offer(cmd, now)
        if cmd.name == "order_cancel":
            return term.orders.centre_cancel(cmd, now)
        if cmd.name == "alarm_confirm":
            return term.alarm.confirm(cmd, now)
        if cmd.name == "alarm_release":
            return term.alarm.release(cmd, now)
        if cmd.name == "notice":
            return [("report", "ack", cmd.ack(0)), ("notice", cmd.body.get("text", ""))]
        if cmd.name == "params":
            return self._params(cmd)
        if cmd.name == "time_sync":
            return self._time_sync(cmd, now)
        if cmd.name == "record_query":
            return term.recorder.query(cmd, now)
        return [("report", "ack", cmd.ack(3, "unsupported"))]

    def _time_sync(self, cmd: Command, now: int) -> list:
        """The platform's time: small corrections only while for hire; recorded, never a jump mid-trip.

        The system clock itself is kept by the operating system (GNSS time through chrony
        on the vehicle image); the terminal records the correction it was told of.
        """
        from terminal.trust.seal import clock_correction_problem
        delta = cmd.body["utc_ms"] - now
        problem = clock_correction_problem(delta, self.term.meter.state)
        if problem:
            return [("report", "ack", cmd.ack(4, problem)),
                    ("audit_event", "clock_correction_refused", "clock", None, problem, "platform")]
        return [("report", "ack", cmd.ack(0, f"correction of {delta} ms recorded")),
                ("audit_event", "clock_correction", "clock_offset_ms", 0, delta, "platform")]

    def _params(self, cmd: Command) -> list:
        """Report intervals, speed limit and the order answer time, as the platform sets them."""
        effects: list = [("report", "ack", cmd.ack(0))]
        for key, value in sorted(cmd.body["params"].items()):
            old = self._set_param(key, value)
            effects.append(("audit_event", "parameter", key, old, value, "platform"))
        return effects

    def _set_param(self, key: str, value):
        term = self.term
        if key.startswith("report_"):
            name = key[len("report_"):]
            old, term.config["report"][name] = term.config["report"].get(name), value
        else:
            old = self.params.get(key)
        self.params[key] = value
        if key == "report_alarm_s":
            term.alarm.set_interval_ms(value * 1000)
        if key == "order_answer_s":
            term.orders.set_answer_ms(value * 1000)
        return old

    # -- state across restarts -----------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"alarm": self.term.alarm.snapshot(), "orders": self.term.orders.snapshot(),
                "params": dict(self.params)}

    def restore_snapshot(self, snap: dict) -> list:
        term = self.term
        effects = term.alarm.restore(snap["alarm"])
        term.orders.restore(snap["orders"])
        for key, value in sorted(snap["params"].items()):
            self._set_param(key, value)
        return effects

    def restore(self, now: int) -> None:
        """At start: take back the alarm, the order desk and the platform parameters saved before."""
        snap = self.state.load()
        self.restored = True
        if snap is None:
            self.state.save(self.snapshot())
            return
        try:
            effects = self.restore_snapshot(snap)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("saved platform desk state unusable (%s); starting idle", exc)
            self.term.audit_event("software_fault", "desk_state", None, str(exc)[:200])
            return
        if self.term.orders.on_call:
            effects.append(("sign_on_call", True))
        if self.term.alarm.active or self.term.orders.state != "idle" or self.params:
            log.info("restored: alarm %s, order desk %s, parameters %s", self.term.alarm.state,
                     self.term.orders.state, json.dumps(self.params, sort_keys=True))
        self.apply(effects, now)


def _command_of(data: dict) -> str:
    topic = data.get("topic") or ""
    return topic.rsplit("/", 1)[-1][:64] if isinstance(topic, str) else ""
