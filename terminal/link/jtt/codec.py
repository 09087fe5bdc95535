"""Platform-link room, JT/T codec: whole messages <-> JSON (``{"header": ..., "body": ...}``).

``decode(frame, protocol)`` and ``encode(message)`` are the integrator-facing pair;
``decode_payload`` takes what ``StreamDecoder`` yields. Bodies the codec cannot
interpret are still returned, never dropped: an unknown message id as
``{"unknown_id": true, "data": base64}`` (as EMQX's gateway does), an encrypted body as
``{"encrypted": true, "data": base64}``, one package of a sub-packaged message as
``{"frag_data": base64}`` (see ``subpackage.Reassembler``). Each of these encodes back.
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt import header as hdr
from terminal.link.jtt import jt808, jt905
from terminal.link.jtt import layout as lay
from terminal.link.jtt.errors import BodyError, EncodeError, JttError
from terminal.link.jtt.framing import unwrap, wrap

JT808, JT905 = "jt808", "jt905"
PROTOCOLS = (JT808, JT905)


def decode(frame: bytes, protocol: str = JT808) -> dict:
    """One complete frame ``7E ... 7E`` -> ``{"header": {...}, "body": {...}}``."""
    return decode_payload(unwrap(frame), protocol)


def decode_payload(payload: bytes, protocol: str = JT808) -> dict:
    """Unescaped header + body (check byte removed) -> JSON message."""
    if protocol == JT808:
        header, body = hdr.parse_808(payload)
        layout = jt808.layout_for(header["msg_id"], header.get("proto_ver"))
        special = header.get("frag_total") is not None or header["encrypt"] != 0
    elif protocol == JT905:
        header, body = hdr.parse_905(payload)
        layout = jt905.layout_for(header["msg_id"])
        special = False
    else:
        raise JttError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    return {"header": header, "body": decode_body(header, body, layout, special)}


def decode_body(header: dict, body: bytes, layout, special: bool = False) -> dict:
    if "frag_total" in header:
        return {"frag_data": f.b64_decode_field(body)}
    if special:
        return {"encrypted": True, "data": f.b64_decode_field(body)}
    if layout is None:
        return {"unknown_id": True, "data": f.b64_decode_field(body)}
    reader = f.Reader(body)
    value = lay.decode(layout, reader)
    if reader.remaining():
        raise BodyError(f"{reader.remaining()} byte(s) after the end of a 0x{header['msg_id']:04X} body")
    return value


def protocol_of(message: dict) -> str:
    """JT/T 905 headers carry ``isu``; everything else is JT/T 808."""
    header = message.get("header") if isinstance(message, dict) else None
    if not isinstance(header, dict):
        raise EncodeError("message: object with 'header' expected")
    return JT905 if "isu" in header else JT808


def encode_body(message: dict) -> bytes:
    """The body bytes of a JSON message (no header, no framing)."""
    protocol = protocol_of(message)
    header = message["header"]
    body = message.get("body") or {}
    if not isinstance(body, dict):
        raise EncodeError(f"body: object expected, got {body!r}")
    for key in ("frag_data", "data"):
        if key in body and (key == "frag_data" or body.get("unknown_id") or body.get("encrypted")):
            return f.b64_encode_field(body[key], f"body.{key}")
    msg_id = header.get("msg_id")
    f.uint(msg_id, 2, "header.msg_id")
    if protocol == JT808:
        layout = jt808.layout_for(msg_id, header.get("proto_ver"))
        for alias, key in jt808.ALIASES.get(msg_id, {}).items():
            if alias in body and key not in body:
                body = dict(body, **{key: body[alias]})
    else:
        layout = jt905.layout_for(msg_id)
    if layout is None:
        raise EncodeError(f"message id {msg_id!r} has no layout; give body.unknown_id and body.data")
    return lay.encode(layout, body)


def encode_payload(message: dict) -> bytes:
    """JSON message -> header + body (unframed); ``len`` is computed, a given one ignored."""
    body = encode_body(message)
    if protocol_of(message) == JT905:
        return hdr.build_905(message["header"], body)
    return hdr.build_808(message["header"], body)


def encode(message: dict) -> bytes:
    """JSON message -> one complete frame (check byte, escapes, flags)."""
    return wrap(encode_payload(message))


def message_name(protocol: str, msg_id: int) -> str:
    table = jt905.MESSAGES if protocol == JT905 else jt808.MESSAGES
    entry = table.get(msg_id)
    return entry[0] if entry else "unknown"
