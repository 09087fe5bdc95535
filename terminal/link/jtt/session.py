"""Platform-link room, JT/T codec: the terminal side of a JT/T 808 session, as a pure state machine.

No sockets and no clock: the link calls ``connected(now_ms)``, ``receive(message,
now_ms)``, ``tick(now_ms)``, ``send(...)`` and ``disconnected()``, and carries out the
actions returned, in order:

=============================  ==========================================================
action                         the link should
=============================  ==========================================================
``("send", message)``          encode and write the JSON message
``("auth_code", code)``        persist the code (registration happens once per terminal)
``("online",)``                start sending its backlog
``("acked", sn, msg_id, r)``   the platform's general reply for serial ``sn``: result
                               ``r`` (0 ok, 1 failed, 2 bad message, 3 not supported,
                               4 alarm confirmed); on 0 delete the outbox row
``("command", message)``       a platform message for the application (it answers with
                               ``general_reply``); the application checks a whole 0x8103
                               and only then calls ``set_heartbeat``
``("register_failed", r)``     registration refused (result r of 0x8100): stay offline
``("reconnect", reason)``      close the connection and connect again (after backoff)
``("deregistered",)``          the platform accepted our 0x0003: the terminal is no longer
                               registered there (the auth code is forgotten first)
=============================  ==========================================================

808-2019 only: once online the session asks for the platform's time (0x0004); the
platform's 0x8004 answering it goes to the application as a command (it sets nothing
here); an 0x8004 the session did not ask for is ignored.

An auth code the terminal could not use (empty, not GBK, control characters or blanks
around it, longer than 0x0102 can carry: 255 bytes in 2019, 1023 in 2013) is a failed
registration: nothing is stored and the link tries again after its backoff.

Registration (0x0100) only when no auth code is known; authentication (0x0102) at
every connect; a refused authentication forgets the code and registers again on the
next connect. Heartbeats (0x0002) go when nothing was sent for ``heartbeat_s``; no
frame from the platform for three heartbeat intervals, or no reply to registration or
authentication within ``reply_timeout_s``, asks for a reconnect. Platform messages the
codec does not know, and encrypted ones (the terminal has no RSA), are answered "not
supported" here.
"""

from terminal.link.jtt import jt808

OFFLINE, REGISTERING, AUTHENTICATING, ONLINE = "offline", "registering", "authenticating", "online"
REGISTER, REGISTER_REPLY, AUTH, HEARTBEAT = 0x0100, 0x8100, 0x0102, 0x0002
DEREGISTER, TIME_QUERY = 0x0003, 0x0004
TERMINAL_REPLY, PLATFORM_REPLY, SET_PARAMS = 0x0001, 0x8001, 0x8103
NOT_SUPPORTED = jt808.RESULT_NOT_SUPPORTED
PARAM_HEARTBEAT = 0x0001
TIME_REPLY = 0x8004
HEARTBEAT_RANGE = (5, 3600)          # seconds, as the configuration accepts (docs/config.md)
AUTH_CODE_MAX = {None: 1023, "2019": 255}


class Session:
    """One terminal's JT/T 808 session state (survives reconnects; ``auth_code`` is persisted by the link)."""

    def __init__(self, phone: str, registration: dict, *, auth_code: str | None = None,
                 proto_ver: int | None = None, imei: str = "", sw_version: str = "",
                 heartbeat_s: int = 60, reply_timeout_s: int = 10):
        self.phone = phone
        self.registration = registration
        self.auth_code = auth_code
        self.proto_ver = proto_ver
        self.imei, self.sw_version = imei, sw_version
        self.heartbeat_s = heartbeat_s
        self.reply_timeout_s = reply_timeout_s
        self.state = OFFLINE
        self._sn = 0
        self._pending: dict = {}  # msg_sn -> msg_id, for messages awaiting a platform reply
        self._last_tx = self._last_rx = self._waiting_since = 0
        self._time_asked = False

    # --- outgoing ------------------------------------------------------------------

    def next_sn(self) -> int:
        sn = self._sn
        self._sn = (self._sn + 1) & 0xFFFF
        return sn

    def message(self, msg_id: int, body: dict | None = None, sn: int | None = None) -> dict:
        """A JSON message with this terminal's header (and the next serial unless given)."""
        header = {"msg_id": msg_id, "encrypt": 0, "phone": self.phone,
                  "msg_sn": self.next_sn() if sn is None else sn}
        if self.proto_ver is not None:
            header["proto_ver"] = self.proto_ver
        return {"header": header, "body": body or {}}

    def send(self, msg_id: int, body: dict, now_ms: int) -> dict:
        """An application message (location, alarm, ...): its serial is tracked until the platform acks it."""
        message = self.message(msg_id, body)
        self._pending[message["header"]["msg_sn"]] = msg_id
        self._last_tx = now_ms
        return message

    def deregister(self, now_ms: int) -> tuple:
        """Deregistration (0x0003): the terminal leaves this platform (moved to another vehicle or
        platform); on the platform's result 0 the auth code is forgotten, so a later connect registers."""
        return self._emit(self.message(DEREGISTER), now_ms)

    def general_reply(self, request: dict, result: int = jt808.RESULT_OK) -> dict:
        """The terminal's 0x0001 answer to a platform message."""
        header = request["header"]
        return self.message(TERMINAL_REPLY, {"seq": header["msg_sn"], "id": header["msg_id"], "result": result})

    def _emit(self, message: dict, now_ms: int, track: bool = True) -> tuple:
        if track:
            self._pending[message["header"]["msg_sn"]] = message["header"]["msg_id"]
        self._last_tx = now_ms
        return ("send", message)

    # --- connection ------------------------------------------------------------------

    def connected(self, now_ms: int) -> list:
        self._pending.clear()
        self._last_rx = self._waiting_since = now_ms
        if self.auth_code is None:
            self.state = REGISTERING
            return [self._emit(self.message(REGISTER, dict(self.registration)), now_ms)]
        return [self._authenticate(now_ms)]

    def disconnected(self) -> None:
        self.state = OFFLINE
        self._time_asked = False
        self._pending.clear()

    def _authenticate(self, now_ms: int) -> tuple:
        self.state = AUTHENTICATING
        self._waiting_since = now_ms
        body = {"code": self.auth_code}
        if self.proto_ver is not None:
            body.update(imei=self.imei, sw_version=self.sw_version)
        return self._emit(self.message(AUTH, body), now_ms)

    # --- incoming --------------------------------------------------------------------

    def receive(self, message: dict, now_ms: int) -> list:
        self._last_rx = now_ms
        header, body = message["header"], message.get("body") or {}
        msg_id = header["msg_id"]
        if msg_id == REGISTER_REPLY:
            return self._registered(body, now_ms)
        if msg_id == PLATFORM_REPLY:
            return self._platform_reply(body, now_ms)
        if body.get("unknown_id") or body.get("encrypted") or msg_id not in jt808.MESSAGES:
            return [self._emit(self.general_reply(message, NOT_SUPPORTED), now_ms, track=False)]
        if msg_id == TIME_REPLY:
            if not self._time_asked:
                return []
            self._time_asked = False
        return [("command", message)]

    def set_heartbeat(self, seconds) -> bool:
        """The platform's heartbeat interval (0x8103 id 0x0001), once the whole command was found good."""
        if not isinstance(seconds, int) or not HEARTBEAT_RANGE[0] <= seconds <= HEARTBEAT_RANGE[1]:
            return False
        self.heartbeat_s = seconds
        return True

    def usable_code(self, code) -> bool:
        if not isinstance(code, str) or not code or not code.isprintable() or code != code.strip():
            return False
        try:
            size = len(code.encode("gbk"))
        except UnicodeEncodeError:
            return False                 # bytes that were not GBK (kept as surrogates by the codec)
        return size <= AUTH_CODE_MAX[None if self.proto_ver is None else "2019"]

    def _registered(self, body: dict, now_ms: int) -> list:
        if self.state != REGISTERING:
            return []
        self._pending.pop(body.get("seq"), None)
        if body.get("result") != jt808.REGISTER_OK:
            self.state = OFFLINE
            return [("register_failed", body.get("result"))]
        if not self.usable_code(body.get("auth_code")):
            self.state = OFFLINE
            return [("register_failed", "0 with an auth code the terminal cannot use")]
        self.auth_code = body["auth_code"]
        return [("auth_code", self.auth_code), self._authenticate(now_ms)]

    def _platform_reply(self, body: dict, now_ms: int) -> list:
        sn, replied_id, result = body.get("seq"), body.get("id"), body.get("result")
        if self._pending.get(sn) != replied_id:
            return []  # a reply to nothing we are waiting for (late, or to another connection)
        del self._pending[sn]
        if replied_id == AUTH and self.state == AUTHENTICATING:
            if result == jt808.RESULT_OK:
                self.state = ONLINE
                if self.proto_ver is not None:   # 2019: the platform's time (0x8004 answers, not 0x8001)
                    self._time_asked = True
                    return [("online",), self._emit(self.message(TIME_QUERY), now_ms, track=False)]
                return [("online",)]
            self.auth_code = None
            self.state = OFFLINE
            return [("auth_code", None), ("reconnect", f"authentication refused (result {result})")]
        if replied_id == HEARTBEAT:
            return []
        if replied_id == DEREGISTER and result == jt808.RESULT_OK:
            self.auth_code = None
            self.state = OFFLINE
            return [("auth_code", None), ("deregistered",)]
        return [("acked", sn, replied_id, result)]

    # --- time --------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list:
        if self.state in (REGISTERING, AUTHENTICATING):
            if now_ms - self._waiting_since >= self.reply_timeout_s * 1000:
                reason = f"no reply while {self.state}"
                self.state = OFFLINE
                return [("reconnect", reason)]
            return []
        if self.state != ONLINE:
            return []
        if now_ms - self._last_rx >= 3 * self.heartbeat_s * 1000:
            self.state = OFFLINE
            return [("reconnect", "platform silent for three heartbeat intervals")]
        if now_ms - self._last_tx >= self.heartbeat_s * 1000:
            return [self._emit(self.message(HEARTBEAT), now_ms)]
        return []

    def next_due_ms(self) -> int | None:
        """When ``tick`` next has something to do (a reply's timeout, a heartbeat, the platform's
        silence), on the clock ``tick`` is given; None while offline."""
        if self.state in (REGISTERING, AUTHENTICATING):
            return self._waiting_since + self.reply_timeout_s * 1000
        if self.state != ONLINE:
            return None
        return min(self._last_rx + 3 * self.heartbeat_s * 1000, self._last_tx + self.heartbeat_s * 1000)

    def awaiting(self) -> dict:
        """Serial -> message id of everything sent and not yet answered by the platform."""
        return dict(self._pending)
