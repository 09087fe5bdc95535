"""Downlink commands (link room): from an MQTT message to an authenticated command or an error acknowledgement.

The front door of the platform's commands. ``decode()`` turns the bytes the broker
delivered into a JSON object under hard bounds (size, nesting depth, integer length,
no floats, no NaN) and never raises. ``parse()`` is pure: it checks the address, the
retain flag, the platform's Ed25519 signature over the exact bytes of
``signed_bytes()``, the timestamp window and the command's JSON Schema, and returns
either a ``Command`` for the loop to act on or a ``Refusal`` carrying the
acknowledgement to send and the kind of fault (for counting). It never changes the
terminal's state. ``downlink_event_data()`` is what the MQTT thread puts on the loop's
queue for one message (it runs in that thread, so it never raises). Result codes and
the signed bytes are in docs/mqtt.md.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from terminal.link import schemas
from terminal.link.payloads import (
    RESULT_MALFORMED,
    RESULT_REFUSED,
    RESULT_UNSUPPORTED,
    ack_body,
)
from terminal.trust import ed25519

if TYPE_CHECKING:   # the platform's key is ed25519.py's (or cryptography's in the tools)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DOWNLINK_COMMANDS = ("order_offer", "order_cancel", "alarm_confirm", "alarm_release", "params", "notice",
                     "time_sync")
DOWNLINK_COMMANDS += ("record_query",)   # the driving recorder's query (docs/recorder.md)
ENVELOPE_FIELDS = ("cmd_id", "ts", "sig")
SIGNATURE_DOMAIN = b"taxiterm-command-v1\n"

MAX_BYTES = 8192          # a command is a few hundred bytes; the largest (a notice) stays under 2 KiB
MAX_DEPTH = 8             # the deepest command (order_offer.pickup) nests 2 levels
MAX_INT_DIGITS = 19       # every integer of a command fits in a signed 64-bit integer


class Command:
    """A valid, authorised downlink command. ``body`` holds its fields without cmd_id/ts/sig."""

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
    """A command that must not be acted on.

    ``ack`` is the acknowledgement body to publish; ``kind`` names the fault for the
    health counters and the audit (``oversize``, ``not_json``, ``too_deep``,
    ``not_object``, ``misaddressed``, ``unsupported``, ``retained``, ``unsigned``,
    ``bad_signature``, ``stale``, ``malformed``); ``authenticated`` is True only when
    the platform's signature was valid (then the refusal is the platform's own mistake,
    answered every time and remembered under its cmd_id).
    """

    __slots__ = ("ack", "kind", "authenticated")

    def __init__(self, ack: dict, kind: str = "malformed", authenticated: bool = False) -> None:
        self.ack = ack
        self.kind = kind
        self.authenticated = authenticated

    def __repr__(self) -> str:
        return f"Refusal({self.kind}, {self.ack!r})"


class DecodeError(ValueError):
    """The payload is not a bounded JSON value; ``kind`` is the fault kind."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


# -- decoding under bounds -----------------------------------------------------------------------

def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise DecodeError("number_too_large", f"integer of {len(text)} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _no_float(text: str):
    raise DecodeError("not_integer", f"number {text[:20]!r} is not an integer (commands carry integers only)")


def _no_constant(text: str):
    raise DecodeError("not_json", f"{text} is not JSON")


def nesting_depth(text: str, limit: int) -> int:
    """The deepest nesting of arrays/objects in JSON ``text``, counting stops past ``limit``."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def decode(payload: bytes | str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> object:
    """The JSON value of ``payload``; raises only ``DecodeError`` (never RecursionError, ValueError...)."""
    size = len(payload)
    if size > max_bytes:
        raise DecodeError("oversize", f"payload of {size} bytes (at most {max_bytes})")
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("not_json", f"payload is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if nesting_depth(payload, max_depth) > max_depth:
        raise DecodeError("too_deep", f"nested deeper than {max_depth} levels")
    try:
        return json.loads(payload, parse_int=_parse_int, parse_float=_no_float, parse_constant=_no_constant)
    except DecodeError:
        raise
    except json.JSONDecodeError as exc:
        raise DecodeError("not_json", f"payload is not JSON: {exc.msg} at {exc.pos}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # belt and braces: bounds above should prevent it
        raise DecodeError("not_json", f"payload is not JSON: {type(exc).__name__}") from None


# Readable JSON whose only fault is a number: the ack still names the command (docs/mqtt.md).
NUMBER_FAULTS = ("not_integer", "number_too_large")


def _any_number(text: str) -> int:
    return 0


def readable_cmd_id(payload: bytes | str, fault: DecodeError) -> str | None:
    """The string ``cmd_id`` of a message refused only for a number (a fraction, an exponent,
    an integer too long), so its error ack can be matched; None for anything else.
    Called after ``decode`` checked size, UTF-8 and depth; numbers are not converted."""
    if fault.kind not in NUMBER_FAULTS:
        return None
    try:
        text = bytes(payload).decode("utf-8") if not isinstance(payload, str) else payload
        message = json.loads(text, parse_int=_any_number, parse_float=_any_number, parse_constant=_any_number)
    except (ValueError, RecursionError, MemoryError):
        return None
    cmd_id = message.get("cmd_id") if isinstance(message, dict) else None
    return cmd_id if isinstance(cmd_id, str) and 1 <= len(cmd_id) <= 64 else None


# -- what the platform signs -----------------------------------------------------------------------

def canonical(command: Mapping) -> bytes:
    """The command without ``sig`` as canonical JSON: keys sorted, no spaces, UTF-8, no ASCII escaping."""
    return json.dumps({k: v for k, v in command.items() if k != "sig"}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def signed_bytes(topic: str, command: Mapping) -> bytes:
    """``taxiterm-command-v1\\n`` + the topic (prefix, terminal id, command name) + ``\\n`` + canonical JSON."""
    return SIGNATURE_DOMAIN + topic.encode("utf-8") + b"\n" + canonical(command)


def sign(topic: str, command: Mapping, key: Ed25519PrivateKey) -> dict:
    """The command with its ``sig`` added: what a platform holding the private key publishes on ``topic``."""
    return {**command, "sig": key.sign(signed_bytes(topic, command)).hex()}


def verify(topic: str, command: Mapping, key: Ed25519PublicKey) -> str:
    """"" when ``sig`` is the platform's signature of this command on this topic, else the reason."""
    given = command.get("sig")
    if not isinstance(given, str):
        return "unauthorised: no sig"
    try:
        signature = binascii.unhexlify(given)
    except (binascii.Error, ValueError):
        return "unauthorised: sig is not hex"
    if len(signature) != 64:
        return "unauthorised: sig is not 64 bytes"
    try:
        good = ed25519.verify(key, signature, signed_bytes(topic, command))
    except (UnicodeEncodeError, ValueError, TypeError):
        return "unauthorised: command cannot be put in canonical form"
    return "" if good else "unauthorised: signature does not match"


# -- the checks, in order ---------------------------------------------------------------------------

def parse(topic: str, payload: bytes | str | Mapping, *, prefix: str, terminal_id: str,
          platform_key: Ed25519PublicKey | None = None, now_ms: int | None = None,
          window_ms: int | None = None, retained: bool = False,
          max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Command | Refusal:
    """Check one downlink message addressed to ``{prefix}/{terminal_id}/down/{command}``.

    With ``platform_key`` every command must carry the platform's signature (``sig``);
    with ``window_ms`` (and ``now_ms``) a command whose ``ts`` is missing or further
    than that from the terminal's clock is refused, so a recorded command cannot be
    replayed later. Without a key nothing is authenticated: only tools and tests do that.
    """
    parts = topic.split("/") if isinstance(topic, str) else []
    command = parts[-1] if parts else ""
    if len(parts) < 4 or parts[-2] != "down":
        return _refuse(None, command, RESULT_MALFORMED, "misaddressed",
                       f"topic {topic!r} is not {{prefix}}/{{tid}}/down/{{command}}")
    topic_prefix, topic_tid = "/".join(parts[:-3]), parts[-3]
    if topic_prefix != prefix or topic_tid != terminal_id:
        return _refuse(None, command, RESULT_REFUSED, "misaddressed",
                       f"addressed to {topic_prefix}/{topic_tid}, this terminal is {prefix}/{terminal_id}")

    if isinstance(payload, Mapping):
        message: object = dict(payload)
    else:
        try:
            message = decode(payload, max_bytes=max_bytes, max_depth=max_depth)
        except DecodeError as exc:
            return _refuse(readable_cmd_id(payload, exc), command, RESULT_MALFORMED, exc.kind, str(exc))
    if not isinstance(message, dict):
        return _refuse(None, command, RESULT_MALFORMED, "not_object", "payload is not a JSON object")
    cmd_id = message.get("cmd_id")
    cmd_id = cmd_id if isinstance(cmd_id, str) and 1 <= len(cmd_id) <= 64 else None
    if command not in DOWNLINK_COMMANDS:
        return _refuse(cmd_id, command, RESULT_UNSUPPORTED, "unsupported", f"unsupported command {command!r}")
    if retained:
        return _refuse(cmd_id, command, RESULT_REFUSED, "retained",
                       "retained command refused: commands are never retained")

    authenticated = False
    if platform_key is not None:
        problem = verify(topic, message, platform_key)
        if problem:
            return _refuse(cmd_id, command, RESULT_REFUSED, "unsigned" if "no sig" in problem else "bad_signature",
                           problem)
        authenticated = True

    issued = message.get("ts")
    if window_ms is not None:
        if now_ms is None:
            raise ValueError("window_ms needs now_ms")
        if isinstance(issued, bool) or not isinstance(issued, int):
            return _refuse(cmd_id, command, RESULT_REFUSED, "stale", "unauthorised: no ts, replay cannot be ruled out")
        if abs(now_ms - issued) > window_ms:
            return _refuse(cmd_id, command, RESULT_REFUSED, "stale",
                           f"stale: issued {now_ms - issued} ms from the terminal's clock, window {window_ms} ms")

    problems = schemas.errors(schemas.downlink_schema(command), message)
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return _refuse(cmd_id, command, RESULT_MALFORMED, "malformed", problems[0] + more, authenticated)

    body = {k: v for k, v in message.items() if k not in ENVELOPE_FIELDS and k != "mac"}
    return Command(command, message["cmd_id"], body, issued)


def _refuse(cmd_id: str | None, command: str, result: int, kind: str, reason: str,
            authenticated: bool = False) -> Refusal:
    return Refusal(ack_body(cmd_id, command[:64], result, reason[:500]), kind, authenticated)


def downlink_event_data(topic: str, raw: bytes, base: str, *, retained: bool = False,
                        max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> dict:
    """What a downlink message becomes on the loop's queue (pure; never raises).

    ``payload`` is the parsed JSON object, or None with ``error`` saying why and
    ``fault`` its kind, so the command handler can still answer a malformed command.
    A message whose only fault is a number has neither: ``parse`` refuses it from ``raw``
    and its ack echoes the ``cmd_id``.
    ``raw`` keeps the bytes only up to ``max_bytes`` (an oversized message is not queued).
    """
    prefix = base + "/down/"
    command = topic[len(prefix):] if topic.startswith(prefix) else ""
    raw = bytes(raw)
    data = {"topic": topic, "command": command, "payload": None, "raw": raw if len(raw) <= max_bytes else b"",
            "error": None, "fault": None, "retained": bool(retained)}
    try:
        parsed = decode(raw, max_bytes=max_bytes, max_depth=max_depth)
    except DecodeError as exc:
        if exc.kind in NUMBER_FAULTS:
            return data     # ``parse`` refuses it from ``raw`` and still echoes its cmd_id
        data["error"], data["fault"] = str(exc), exc.kind
        return data
    if not isinstance(parsed, dict):
        data["error"], data["fault"] = f"payload must be a JSON object, got {type(parsed).__name__}", "not_object"
        return data
    data["payload"] = parsed
    return data
