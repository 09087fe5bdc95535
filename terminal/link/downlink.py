"""Downlink commands: from an MQTT message to a checked command or an error acknowledgement.

The front door of the platform's commands. ``parse()`` is pure: it reads the topic and
payload, checks the address, the optional HMAC and the command's JSON Schema, and
returns either a ``Command`` for the loop to act on or a ``Refusal`` carrying the
acknowledgement to send. It never changes the terminal's state; a malformed or
unauthorised command therefore changes nothing. Result codes are in docs/mqtt.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from terminal.link import schemas
from terminal.link.payloads import (
    RESULT_MALFORMED,
    RESULT_REFUSED,
    RESULT_UNSUPPORTED,
    ack_body,
)

DOWNLINK_COMMANDS = ("order_offer", "order_cancel", "alarm_confirm", "alarm_release", "params", "notice",
                     "time_sync")
DOWNLINK_COMMANDS += ("record_query",)   # the driving recorder's query (docs/recorder.md)
ENVELOPE_FIELDS = ("cmd_id", "ts", "mac")


class Command:
    """A valid, authorised downlink command. ``body`` holds its fields without cmd_id/ts/mac."""

    __slots__ = ("name", "cmd_id", "body", "issued_ms")

    def __init__(self, name: str, cmd_id: str, body: dict, issued_ms: int | None) -> None:
        self.name = name
        self.cmd_id = cmd_id
        self.body = body
        self.issued_ms = issued_ms

    def ack(self, result: int, reason: str = "") -> dict:
        """The body of this command's acknowledgement (see payloads.ack_body)."""
        return ack_body(self.cmd_id, self.name, result, reason)

    def __repr__(self) -> str:
        return f"Command({self.name!r}, {self.cmd_id!r}, {self.body!r})"


class Refusal:
    """A command that must not be acted on; ``ack`` is the acknowledgement body to publish."""

    __slots__ = ("ack",)

    def __init__(self, ack: dict) -> None:
        self.ack = ack

    def __repr__(self) -> str:
        return f"Refusal({self.ack!r})"


def canonical(command: Mapping) -> bytes:
    """The bytes the MAC covers: sorted keys, no spaces, UTF-8, ``mac`` itself left out."""
    return json.dumps({k: v for k, v in command.items() if k != "mac"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def mac_of(command: Mapping, key: bytes) -> str:
    return hmac.new(key, canonical(command), hashlib.sha256).hexdigest()


def sign(command: Mapping, key: bytes) -> dict:
    """The command with its ``mac`` added (what a platform holding the key sends)."""
    return {**command, "mac": mac_of(command, key)}


def parse(topic: str, payload: bytes | str | Mapping, *, prefix: str, terminal_id: str,
          key: bytes | None = None, now_ms: int | None = None, max_age_ms: int | None = None) -> Command | Refusal:
    """Check one downlink message addressed to ``{prefix}/{terminal_id}/down/{command}``.

    With ``key`` every command must carry a valid ``mac``; with ``max_age_ms`` (and
    ``now_ms``) a command whose ``ts`` is missing or older than that is refused, so a
    recorded alarm release cannot be replayed later.
    """
    parts = topic.split("/")
    command = parts[-1]
    if len(parts) < 4 or parts[-2] != "down":
        return _refuse("", command, RESULT_MALFORMED, f"topic {topic!r} is not {{prefix}}/{{tid}}/down/{{command}}")
    topic_prefix, topic_tid = "/".join(parts[:-3]), parts[-3]

    message, not_json = _decode(payload)
    cmd_id = message.get("cmd_id") if isinstance(message, dict) else None
    cmd_id = cmd_id if isinstance(cmd_id, str) and len(cmd_id) <= 64 else ""

    if topic_prefix != prefix or topic_tid != terminal_id:
        return _refuse(cmd_id, command, RESULT_REFUSED,
                       f"addressed to {topic_prefix}/{topic_tid}, this terminal is {prefix}/{terminal_id}")
    if command not in DOWNLINK_COMMANDS:
        return _refuse(cmd_id, command, RESULT_UNSUPPORTED, f"unsupported command {command!r}")
    if not_json:
        return _refuse(cmd_id, command, RESULT_MALFORMED, not_json)
    if not isinstance(message, dict):
        return _refuse(cmd_id, command, RESULT_MALFORMED, "payload is not a JSON object")

    if key is not None:
        given = message.get("mac")
        if not isinstance(given, str):
            return _refuse(cmd_id, command, RESULT_REFUSED, "unauthorised: no mac")
        if not hmac.compare_digest(given, mac_of(message, key)):
            return _refuse(cmd_id, command, RESULT_REFUSED, "unauthorised: mac does not match")

    problems = schemas.errors(schemas.downlink_schema(command), message)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return _refuse(cmd_id, command, RESULT_MALFORMED, problems[0] + more)

    issued = message.get("ts")
    if max_age_ms is not None:
        if now_ms is None:
            raise ValueError("max_age_ms needs now_ms")
        if issued is None:
            return _refuse(cmd_id, command, RESULT_REFUSED, "unauthorised: no ts, replay cannot be ruled out")
        if now_ms - issued > max_age_ms:
            return _refuse(cmd_id, command, RESULT_REFUSED,
                           f"stale: issued {now_ms - issued} ms ago, limit {max_age_ms} ms")

    body = {k: v for k, v in message.items() if k not in ENVELOPE_FIELDS}
    return Command(command, message["cmd_id"], body, issued)


def _decode(payload: bytes | str | Mapping) -> tuple[object, str]:
    """(the JSON value of the payload, "") or (None, why it is not JSON)."""
    if isinstance(payload, Mapping):
        return dict(payload), ""
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, f"payload is not UTF-8: {exc.reason} at byte {exc.start}"
    try:
        return json.loads(payload), ""
    except json.JSONDecodeError as exc:
        return None, f"payload is not JSON: {exc.msg} at {exc.pos}"
    except RecursionError:
        return None, "payload is not JSON: nested too deeply"


def _refuse(cmd_id: str, command: str, result: int, reason: str) -> Refusal:
    return Refusal(ack_body(cmd_id, command[:64], result, reason[:500]))
