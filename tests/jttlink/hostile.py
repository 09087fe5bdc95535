"""A hostile platform for the JT/T link tests: raw bytes on the terminal's live connection.

Builds on the platform emulator (which registers and authenticates the terminal), then
writes whatever the test wants: broken frames, partial packages, absurd bodies.
``alive`` is the probe every attack ends with: an unknown message id must still get the
"not supported" general reply on the same connection."""

from terminal.link import jtt
from terminal.link.jtt.header import build_808, build_905

UNKNOWN = 0x8F01


def raw(platform, data: bytes) -> None:
    with platform._lock:
        conn = platform._conns[-1]
    conn.sendall(data)


def payload(protocol: str, msg_id: int, body: bytes, sn: int, **header) -> bytes:
    if protocol == "jt905":
        return build_905(dict({"msg_id": msg_id, "isu": "000000000001", "msg_sn": sn}, **header), body)
    return build_808(dict({"msg_id": msg_id, "phone": "000000000001", "msg_sn": sn, "encrypt": 0}, **header), body)


def frame(protocol: str, msg_id: int, body: bytes, sn: int = 0x4000, **header) -> bytes:
    return jtt.wrap(payload(protocol, msg_id, body, sn, **header))


def alive(platform, timeout_s: float = 5.0) -> None:
    """The link still reads, decodes and answers on the connection it had."""
    sn = platform.command(UNKNOWN, {"unknown_id": True, "data": ""})
    reply = platform.wait_reply(sn, timeout_s)
    assert reply["body"]["result"] == 3 and reply["body"]["id"] == UNKNOWN
