"""Platform-link room, JT/T codec: the ISU side of a JT/T 905 session (pure, time passed in).

The same contract as ``session.Session`` (the JT/T 808 session): the link calls
``connected``, ``receive``, ``tick``, ``send``, ``general_reply`` and ``disconnected``
and carries out the returned actions. JT/T 905 has no registration or authentication
exchange (the ISU id in every header identifies the terminal; see docs/jtt.md), so a
connection is online at once; heartbeats, acknowledgement by the centre's 0x8001 and
"not supported" for unknown messages are as in 808.
"""

from terminal.link.jtt import jt905
from terminal.link.jtt.session import (
    HEARTBEAT,
    NOT_SUPPORTED,
    ONLINE,
    PLATFORM_REPLY,
    Session,
)


class Session905(Session):
    def __init__(self, isu: str, *, heartbeat_s: int = 60, reply_timeout_s: int = 10):
        super().__init__(isu, {}, auth_code="", heartbeat_s=heartbeat_s, reply_timeout_s=reply_timeout_s)

    def message(self, msg_id: int, body: dict | None = None, sn: int | None = None) -> dict:
        header = {"msg_id": msg_id, "isu": self.phone, "msg_sn": self.next_sn() if sn is None else sn}
        return {"header": header, "body": body or {}}

    def connected(self, now_ms: int) -> list:
        self._pending.clear()
        self._last_rx = self._last_tx = self._waiting_since = now_ms
        self.state = ONLINE
        return [("online",)]

    def receive(self, message: dict, now_ms: int) -> list:
        self._last_rx = now_ms
        header, body = message["header"], message.get("body") or {}
        msg_id = header["msg_id"]
        if msg_id == PLATFORM_REPLY:
            sn, replied_id = body.get("seq"), body.get("id")
            if self._pending.get(sn) != replied_id:
                return []
            del self._pending[sn]
            return [] if replied_id == HEARTBEAT else [("acked", sn, replied_id, body.get("result"))]
        if body.get("unknown_id") or msg_id not in jt905.MESSAGES or msg_id < 0x8000:
            return [self._emit(self.general_reply(message, NOT_SUPPORTED), now_ms, track=False)]
        return [("command", message)]
