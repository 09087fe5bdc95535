"""JT/T commands (application room): a platform message from a JT/T link, its effects and its answer.

The adapter between the JT/T links and the desks. ``JtDesk.on_command`` takes a
``jt_command`` event (a decoded 808 / 905 message), turns it into the same checked
``Command`` the MQTT downlink produces, hands it to the desk it concerns (parameters:
``PlatformDesk._params``; alarm confirm / release: ``EmergencyAlarm``; on-call orders:
``OrderDesk``; text: the cabin), and answers on the connection it came on: the general
reply 0x0001 with the desk's result (our 0 ok / 1 failed / 4 refused -> JT/T 0 / 1 / 1),
or the message the standard asks for (0x0201 location, 0x0104 parameters). The desks'
own MQTT acknowledgements are not stored: a JT/T platform hears the general reply.
JT/T itself authenticates the session (808 auth code; 905 ISU id), so these commands
carry no MAC (docs/jtt.md).

Also wires the links at start-up (``attach``): one outbox view per JT/T link.
"""

from __future__ import annotations

import logging
import re

from terminal.link import payloads
from terminal.link.downlink import Command
from terminal.link.jtt import epoch_ms, uplink
from terminal.link.jtt_link.links import build

log = logging.getLogger("taxiterm")

OK, FAILED, BAD, NOT_SUPPORTED = 0, 1, 2, 3
# 905 0x8202 control byte: time interval and duration; the distance modes; stop
TRACK_BY_TIME, TRACK_STOP = 0x00, 0xFF
TRACK_BY_DISTANCE = (0x01, 0x10, 0x11)
TRACK_CONTROLS = (TRACK_BY_TIME, TRACK_STOP, *TRACK_BY_DISTANCE)
OUR_RESULT = {0: OK, 1: FAILED, 2: BAD, 3: NOT_SUPPORTED, 4: FAILED}
# 0x8103 parameter id -> our platform parameters (docs/jtt-mapping.md)
PARAMS_808 = {0x0028: ("report_alarm_s",), 0x0029: ("report_vacant_s", "report_occupied_s"),
              0x0055: ("speed_limit_kmh",), 0x0056: ("overspeed_s",)}
# JT/T 905 (SmallChi/JT905's parameter table) has separate vacant / occupied intervals
PARAMS_905 = {0x0025: ("report_vacant_s",), 0x0026: ("report_occupied_s",), 0x0028: ("report_alarm_s",),
              0x0055: ("speed_limit_kmh",), 0x0056: ("overspeed_s",)}
PARAMS = {"jt808": PARAMS_808, "jt905": PARAMS_905}
RANGES = {"report_vacant_s": (1, 3600), "report_occupied_s": (1, 3600), "report_alarm_s": (1, 600),
          "speed_limit_kmh": (10, 250), "overspeed_s": (1, 600)}
HEARTBEAT_S = (5, 3600)      # as the configuration accepts (docs/config.md)
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")   # an IPv4 address or a DNS name, nothing else
ORDER_TYPES = {0: "immediate", 1: "reservation", 2: "assigned"}
TIME_EVERY_MS = 3_600_000    # the platform's time (0x8004) is taken at most once an hour per link
GMT8_MS = 8 * 3_600_000      # 0x8004 carries UTC; the codec's BCD times are GMT+8


def attach(term, config: dict, events, clock) -> list:
    """Build the configured JT/T links, put their outbox views beside the terminal's own; returns the links."""
    built = build(config, events, clock, term.storage)
    if not built:
        return []
    own = "mqtt" if "mqtt" in config["links"]["use"] else None
    term.outbox.add_links([view for _, view in built], own=own)
    term.platform.jt = JtDesk(term, {link.name: link for link, _ in built})
    return [link for link, _ in built]


class JtDesk:
    def __init__(self, term, links: dict) -> None:
        self.term = term
        self.links = links
        self.tracking: dict | None = None     # report intervals to restore when temporary tracking ends
        self.tracking_no = 0                  # the latest 0x8202: only its own expiry ends the tracking
        self.time_taken: dict = {}            # link name -> when its platform's time was last taken

    def on_command(self, data: dict, now: int) -> None:
        link = self.links.get(data.get("link"))
        if link is None:
            return
        try:
            self._on_command(link, data, now)
        finally:
            if data.get("counted"):
                link.command_done()     # the link hands the loop a bounded number at a time

    def _on_command(self, link, data: dict, now: int) -> None:
        if data.get("tracking_end"):
            if data["tracking_end"] == self.tracking_no:
                self._end_tracking(now)
            return
        message = data["message"]
        header, body = message["header"], message.get("body") or {}
        msg_id = header["msg_id"]
        cmd_id = f"{link.name}:{header['msg_sn']}"
        self.term.platform.last = f"{link.name} 0x{msg_id:04X}"
        handler = getattr(self, f"_m{msg_id:04x}", None)
        try:
            result = handler(link, message, body, cmd_id, now) if handler else NOT_SUPPORTED
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("%s: command 0x%04X refused: %s", link.name, msg_id, exc)
            result = BAD
        if result is not None:
            link.reply(message, result)
        self.term.outbox.pump()

    # -- carrying out ----------------------------------------------------------------------------------
    def _run(self, effects: list, now: int) -> int:
        """Carry out a desk's effects except its MQTT acknowledgement, whose result is returned."""
        result = OK
        rest = []
        for effect in effects:
            if effect[0] == "report" and effect[1] == "ack":
                result = OUR_RESULT.get(effect[2].get("result"), FAILED)
            else:
                rest.append(effect)
        self.term.platform.apply(rest, now)     # desk state saved with the effects, audit after commit
        return result

    def _location(self, link, now: int) -> dict:
        term = self.term
        r = term.reporting
        trip = term.meter.trip
        message = payloads.location(seq=1, ts_ms=now, pos=r.position(now),
                                    alarm=r.alarm_bits() | (term.alarm.flags if term.alarm.active else 0),
                                    status=r.status(), operating=term.metering.operating,
                                    mileage_m=term.meter.totals.total_m, order_id=trip.order_id if trip else "0",
                                    extra=r.sensor_items(now))
        return uplink.location_905(message) if link.protocol == "jt905" else uplink.location_808(message)

    # -- parameters ------------------------------------------------------------------------------------
    def _m8103(self, link, message, body, cmd_id, now) -> int:
        """Platforms send whole parameter sets to every terminal model: ids we do not keep are
        ignored (0x8104 reads back only ours), and a command holding none of ours is "not
        supported" (3). The ids we keep are all or nothing: a value out of range or of the wrong
        type "failed" (1) and nothing is applied; only what changes is applied and audited
        (docs/jtt.md, "What a hostile platform can and cannot do")."""
        params: dict = {}
        server: dict = {}
        heartbeat = None
        sent = body.get("params", [])
        items = [item for item in sent if item["id"] in (0x0001, 0x0013, 0x0018) or item["id"] in PARAMS[link.protocol]]
        if sent and not items:
            return NOT_SUPPORTED
        for item in items:
            pid, value = item["id"], item["value"]
            if pid == 0x0013:
                address = _server_address(value)
                if address is None:
                    return FAILED
                server.update(address)
            elif pid == 0x0018:
                if not _is_int(value) or not 1 <= value <= 65535:
                    return FAILED
                server["port"] = value
            elif pid == 0x0001:
                if not _is_int(value) or not HEARTBEAT_S[0] <= value <= HEARTBEAT_S[1]:
                    return FAILED
                heartbeat = value
            else:
                for name in PARAMS[link.protocol][pid]:
                    low, high = RANGES[name]
                    if not _is_int(value) or not low <= value <= high:
                        return FAILED                # nothing changes on a bad value
                    params[name] = value
        report, current = self.term.config["report"], self.term.platform.params
        changed = {name: value for name, value in params.items()
                   if (report.get(name[len("report_"):]) if name.startswith("report_") else current.get(name)) != value}
        if changed:
            result = self._run(self.term.platform._params(Command("params", cmd_id, {"params": changed}, now)), now)
            if result != OK:
                return result
        old = f"{link.cfg['host']}:{link.cfg['port']}"
        if server and old != f"{server.get('host', link.cfg['host'])}:{server.get('port', link.cfg['port'])}":
            link.set_server(server.get("host"), server.get("port"))
            self.term.audit_event("parameter", f"{link.name}.server", old,
                                  f"{link.cfg['host']}:{link.cfg['port']}", actor="platform")
        if heartbeat is not None:
            link.session.set_heartbeat(heartbeat)
        return OK

    def _params_now(self, link, ids=None) -> list:
        report, params = self.term.config["report"], self.term.platform.params
        values = {0x0001: link.session.heartbeat_s, 0x0013: link.cfg["host"], 0x0018: link.cfg["port"],
                  0x0028: report["alarm_s"]}
        if link.protocol == "jt905":
            values.update({0x0025: report["vacant_s"], 0x0026: report["occupied_s"]})
        else:
            values[0x0029] = report["vacant_s"]
        values.update({0x0055: params.get("speed_limit_kmh", 0), 0x0056: params.get("overspeed_s", 0)})
        return [{"id": k, "value": v} for k, v in values.items() if ids is None or k in ids]

    def _m8104(self, link, message, body, cmd_id, now):
        # 808: all parameters; 905 (SmallChi JT905_0x8104): the ids listed, none listed = all
        ids = set(body.get("ids") or []) or None
        link.send_message(0x0104, {"seq": message["header"]["msg_sn"], "params": self._params_now(link, ids)})
        return None

    def _m8106(self, link, message, body, cmd_id, now):
        link.send_message(0x0104, {"seq": message["header"]["msg_sn"],
                                   "params": self._params_now(link, set(body.get("ids", [])))})
        return None

    # -- the driving record ---------------------------------------------------------------------------------
    def _m8700(self, link, message, body, cmd_id, now):
        """Recorder data collection (JT/T 808 0x8700): the GB/T 19056 frame of what was asked for,
        in 0x0700; a request that cannot be read gets the recorder's error frame (docs/recorder.md)."""
        import base64

        from terminal.recorder.export import collect
        if link.protocol != "jt808":
            return NOT_SUPPORTED
        recorder = getattr(self.term, "recorder", None)
        facts = None
        if recorder is not None:
            recorder.flush(now)           # the open batch too: the platform asks about up to now
            facts = recorder.facts()
        command = int(body["command"]) & 0xFF
        data = collect(self.term.storage, command, base64.b64decode(body.get("param") or "", validate=False),
                       facts=facts, now_ms=now)
        link.send_message(0x0700, {"seq": message["header"]["msg_sn"], "command": command,
                                   "data": base64.b64encode(data).decode("ascii")})
        return None

    def _m8701(self, link, message, body, cmd_id, now) -> int:
        """Recorder parameter download (JT/T 808 0x8701): the recorder's own parameters (82H-84H) are
        set and audited; legal ones (C2H clock, C3H K, C4H mileage) are refused and audited
        (terminal/recorder/setting.py, docs/recorder.md); the general reply says which."""
        import base64

        from terminal.recorder.setting import download
        if link.protocol != "jt808":
            return NOT_SUPPORTED
        result, audits = download(self.term.storage, int(body["command"]) & 0xFF,
                                  base64.b64decode(body.get("param") or "", validate=False))
        for event, parameter, old, new in audits:
            self.term.audit_event(event, parameter, old, new, actor="platform")
        return {"applied": OK, "unchanged": OK, "refused": FAILED, "bad": BAD}.get(result, NOT_SUPPORTED)

    # -- position ------------------------------------------------------------------------------------------
    def _m8201(self, link, message, body, cmd_id, now):
        link.send_message(0x0201, {"seq": message["header"]["msg_sn"], "params": self._location(link, now)})
        return None

    def _m8202(self, link, message, body, cmd_id, now) -> int:
        """Temporary tracking: interval 0 stops it (808 §8.24), so does a validity of 0; an interval
        beyond the report intervals' range fails. Audited when it starts and when it ends, not at
        every renewal. 905 leads with a control byte: 0xFF stops, 0x00 is time interval and
        duration as in 808; the modes that count distance are not supported (the terminal reports
        by time), and any other value is a message error."""
        control = body.get("control", TRACK_BY_TIME)
        if control not in TRACK_CONTROLS:
            return BAD
        if control in TRACK_BY_DISTANCE:
            return NOT_SUPPORTED
        period, expiry = int(body["period"]), int(body["expiry"])
        report = self.term.config["report"]
        if control == TRACK_STOP or period == 0 or expiry == 0:
            self._end_tracking(now)
            return OK
        low, high = RANGES["report_vacant_s"]
        if not low <= period <= high:
            return FAILED
        if self.tracking is None:
            self.tracking = {"vacant_s": report["vacant_s"], "occupied_s": report["occupied_s"]}
            self.term.audit_event("tracking", "report_s", None, period, actor="platform")
        report["vacant_s"] = report["occupied_s"] = period
        self.tracking_no += 1
        link.after(expiry * 1000, {"link": link.name, "tracking_end": self.tracking_no}, key="tracking")
        return OK

    def _end_tracking(self, now: int) -> None:
        if self.tracking is not None:
            self.term.config["report"].update(self.tracking)
            self.tracking = None
            self.term.audit_event("tracking", "report_s", None, "ended", actor="platform")

    def _m8204(self, link, message, body, cmd_id, now) -> int:
        return OK

    # -- time (808-2019) --------------------------------------------------------------------------------------
    def _m8004(self, link, message, body, cmd_id, now):
        """The platform's time (UTC, the answer to the session's 0x0004): the platform's ``time_sync``,
        recorded as a clock correction or refused mid-trip. A reply needs no reply."""
        last = self.time_taken.get(link.name)
        if last is not None and 0 <= now - last < TIME_EVERY_MS:
            return None                   # asked at every connect: a platform that keeps reconnecting
        self.time_taken[link.name] = now  # does not add a clock record each time
        utc_ms = epoch_ms(body["time"]) + GMT8_MS
        self._run(self.term.platform._time_sync(Command("time_sync", cmd_id, {"utc_ms": utc_ms}, now), now), now)
        return None

    # -- alarm -----------------------------------------------------------------------------------------------
    def _m8203(self, link, message, body, cmd_id, now) -> int:
        if not int(body.get("type", 0)) & 1:
            return OK                     # confirms alarms we do not raise
        return self._run(self.term.alarm.confirm(Command("alarm_confirm", cmd_id, {}, now), now), now)

    def _m8b0a(self, link, message, body, cmd_id, now) -> int:
        return self._run(self.term.alarm.confirm(Command("alarm_confirm", cmd_id, {}, now), now), now)

    def _m8b0b(self, link, message, body, cmd_id, now) -> int:
        cmd = Command("alarm_release", cmd_id, {"reason": "released by the centre"}, now)
        return self._run(self.term.alarm.release(cmd, now), now)

    # -- text -------------------------------------------------------------------------------------------------
    def _m8300(self, link, message, body, cmd_id, now) -> int:
        text = body.get("text", "")
        if not isinstance(text, str) or not _is_gbk(text):
            return BAD                    # bytes that are not GBK: nothing shown
        self.term.cabin.show_notice(text, now)
        return OK

    # -- on-call orders (905) ---------------------------------------------------------------------------------
    def _m8b00(self, link, message, body, cmd_id, now) -> int:
        order_id = int(body["order_id"])
        if order_id == 0 or body.get("type") not in ORDER_TYPES or not _is_gbk(str(body.get("description", ""))):
            return BAD
        try:
            pickup_ms = epoch_ms(body["time"])
        except ValueError:
            pickup_ms = now
        text = str(body.get("description", ""))[:200] or "-"
        cmd = Command("order_offer", cmd_id, {"order_id": str(order_id), "order_type": ORDER_TYPES[body["type"]],
                                              "pickup_ms": pickup_ms, "pickup": {"address": text}, "text": text}, now)
        return self._run(self.term.orders.offer(cmd, now), now)

    def _m8b01(self, link, message, body, cmd_id, now) -> int:
        if self.term.orders.order is None or self.term.orders.order_id != str(int(body["order_id"])):
            return FAILED                 # not the order this car holds: nothing shown
        if not _is_gbk(str(body.get("passenger_phone", ""))):
            return BAD
        if body.get("passenger_phone"):
            self.term.cabin.show_notice(f"{body['order_id']}: {body['passenger_phone']}", now)
        return OK

    def _m8b09(self, link, message, body, cmd_id, now) -> int:
        cmd = Command("order_cancel", cmd_id, {"order_id": str(int(body["order_id"])), "reason": "centre"}, now)
        return self._run(self.term.orders.centre_cancel(cmd, now), now)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _server_address(value) -> dict | None:
    """0x0013 as ``host`` or ``host:port`` (808-2019 allows the port with it); None when unusable."""
    if not isinstance(value, str):
        return None
    host, colon, port = value.partition(":")
    if not HOST.fullmatch(host):
        return None
    if not colon:
        return {"host": host}
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return {"host": host, "port": int(port)}


def _is_gbk(text: str) -> bool:
    """The codec keeps bytes that are not GBK as surrogates: such text is refused, not shown."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True
