"""Emergency alarm (一键报警): the pure JT/T 905 lifecycle of the hidden button.

The panic room of the house. ``EmergencyAlarm`` is fed the hidden button (already
held past its hold time), the centre's confirm/release commands and ticks; it
answers with plain effects:

  ("audit", what, detail)          every step, for the audit trail
  ("report", "alarm", body)        every step; body = {"alarm_id", "stage", "pressed_ms", "alarm"}
                                   where "alarm" is the JT/T alarm bit field to send;
                                   the loop adds position and builds payloads.alarm()
  ("report", "ack", ack_body)      acknowledgement of confirm / release
  ("sign_alarm", bool)             rooftop sign shows the alarm text / returns to what the
                                   meter and the order desk say it should show

Flow: idle -> button -> pre_alarm (reported at once, then every alarm interval)
-> centre confirms -> alarm (sign shows alarm, reports go on) -> centre releases
-> idle (sign back). A release before the confirm ends a pre-alarm (a false alarm).
The flag stays until the centre releases it. No effect ever addresses the cabin
display: the alarm is silent inside the car.
"""

from __future__ import annotations

from terminal.link.downlink import Command
from terminal.link.payloads import ALARM_BITS, RESULT_FAILED, RESULT_OK

IDLE, PRE_ALARM, ALARM = "idle", "pre_alarm", "alarm"
STATES = (IDLE, PRE_ALARM, ALARM)
DEFAULT_INTERVAL_MS = 5_000

_EMERGENCY = 1 << ALARM_BITS["emergency"]
_PRE_ALARM = 1 << ALARM_BITS["pre_alarm"]


class AlarmError(ValueError):
    """A call that makes no sense for the alarm (a programming error in the caller)."""


class EmergencyAlarm:
    def __init__(self, interval_ms: int = DEFAULT_INTERVAL_MS) -> None:
        self.set_interval_ms(interval_ms)
        self.state = IDLE
        self.alarm_id: str | None = None
        self.pressed_ms: int | None = None
        self.next_report_ms: int | None = None
        self.last_released_id: str | None = None

    def set_interval_ms(self, interval_ms: int) -> None:
        """Report interval while an alarm is active (params report_alarm_s)."""
        if isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or interval_ms <= 0:
            raise AlarmError(f"alarm interval must be a positive integer of ms, got {interval_ms!r}")
        self.interval_ms = interval_ms

    # --- queries -----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.state != IDLE

    @property
    def flags(self) -> int:
        """JT/T alarm bits every uplink carries now: emergency, plus pre-alarm until confirmed."""
        if self.state == PRE_ALARM:
            return _EMERGENCY | _PRE_ALARM
        if self.state == ALARM:
            return _EMERGENCY
        return 0

    @property
    def sign_alarm(self) -> bool:
        """Whether the rooftop sign should show the alarm text (only once the centre confirmed)."""
        return self.state == ALARM

    # --- inputs --------------------------------------------------------------------------

    def button(self, now_ms: int, held_ms: int) -> list:
        """The hidden button was held past its hold time."""
        if self.state == IDLE:
            self.state = PRE_ALARM
            self.alarm_id = str(now_ms)
            self.pressed_ms = now_ms
            self.next_report_ms = now_ms + self.interval_ms
            return [("audit", "alarm_pressed", {"alarm_id": self.alarm_id, "held_ms": held_ms}),
                    self._report(PRE_ALARM)]
        # Pressed again while active: the driver insists. Same alarm, reported at once.
        return [("audit", "alarm_pressed_again", {"alarm_id": self.alarm_id, "held_ms": held_ms,
                                                   "state": self.state}),
                self._report("pressed_again")]

    def confirm(self, cmd: Command, now_ms: int) -> list:
        """The centre confirms the alarm (a checked ``alarm_confirm`` command)."""
        _expect(cmd, "alarm_confirm")
        mismatch = self._mismatch(cmd)
        if mismatch:
            return [("report", "ack", cmd.ack(RESULT_FAILED, mismatch))]
        if self.state == ALARM:
            return [("report", "ack", cmd.ack(RESULT_OK, f"alarm {self.alarm_id} already confirmed"))]
        self.state = ALARM
        return [("report", "ack", cmd.ack(RESULT_OK, "")),
                ("audit", "alarm_confirmed", {"alarm_id": self.alarm_id, "cmd_id": cmd.cmd_id}),
                ("sign_alarm", True),
                self._report("confirmed")]

    def release(self, cmd: Command, now_ms: int) -> list:
        """The centre releases the alarm (a checked ``alarm_release`` command), confirmed or not."""
        _expect(cmd, "alarm_release")
        given = cmd.body.get("alarm_id")
        if self.state == IDLE and given is not None and given == self.last_released_id:
            return [("report", "ack", cmd.ack(RESULT_OK, f"alarm {given} already released"))]
        mismatch = self._mismatch(cmd)
        if mismatch:
            return [("report", "ack", cmd.ack(RESULT_FAILED, mismatch))]
        was = self.state
        report = self._report("released", flags=0)
        audit = ("audit", "alarm_released", {"alarm_id": self.alarm_id, "cmd_id": cmd.cmd_id, "was": was,
                                              "reason": cmd.body.get("reason", "")})
        self.last_released_id = self.alarm_id
        self.state, self.alarm_id, self.pressed_ms, self.next_report_ms = IDLE, None, None, None
        effects = [("report", "ack", cmd.ack(RESULT_OK, "")), audit]
        if was == ALARM:
            effects.append(("sign_alarm", False))
        return effects + [report]

    def tick(self, now_ms: int) -> list:
        """Time passes: while active, one report per alarm interval (no burst after a gap)."""
        if self.state == IDLE or now_ms < self.next_report_ms:
            return []
        self.next_report_ms = now_ms + self.interval_ms
        return [self._report("periodic")]

    # --- persistence -------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {"state": self.state, "alarm_id": self.alarm_id, "pressed_ms": self.pressed_ms,
                "next_report_ms": self.next_report_ms, "last_released_id": self.last_released_id,
                "interval_ms": self.interval_ms}

    def restore(self, snap: dict) -> list:
        """Take back a snapshot after a power dip or a restart. An active alarm resumes: audited
        ``alarm_resumed``, the sign is told again and the alarm is reported at once."""
        keys = {"state", "alarm_id", "pressed_ms", "next_report_ms", "last_released_id", "interval_ms"}
        if set(snap) != keys:
            raise AlarmError(f"not an alarm snapshot: keys {sorted(snap)}")
        if snap["state"] not in STATES:
            raise AlarmError(f"bad snapshot state {snap['state']!r}")
        active = snap["state"] != IDLE
        if active != (snap["alarm_id"] is not None and snap["pressed_ms"] is not None
                      and snap["next_report_ms"] is not None):
            raise AlarmError("snapshot: an active alarm needs its id, press time and next report time")
        self.set_interval_ms(snap["interval_ms"])
        self.state = snap["state"]
        self.alarm_id, self.pressed_ms = snap["alarm_id"], snap["pressed_ms"]
        self.next_report_ms, self.last_released_id = snap["next_report_ms"], snap["last_released_id"]
        if not active:
            return []
        effects: list = [("audit", "alarm_resumed", {"alarm_id": self.alarm_id, "state": self.state})]
        if self.state == ALARM:
            effects.append(("sign_alarm", True))
        # Reported again at once: the platform learns the alarm outlived the restart.
        return effects + [self._report("periodic")]

    # --- inside ----------------------------------------------------------------------------

    def _mismatch(self, cmd: Command) -> str:
        if self.state == IDLE:
            return "no alarm active"
        given = cmd.body.get("alarm_id")
        if given is not None and given != self.alarm_id:
            return f"alarm id {given} does not match the active alarm {self.alarm_id}"
        return ""

    def _report(self, stage: str, flags: int | None = None) -> tuple:
        return ("report", "alarm", {"alarm_id": self.alarm_id, "stage": stage, "pressed_ms": self.pressed_ms,
                                    "alarm": self.flags if flags is None else flags})


def _expect(cmd: Command, name: str) -> None:
    if not isinstance(cmd, Command) or cmd.name != name:
        raise AlarmError(f"expected a checked {name} command, got {cmd!r}")
