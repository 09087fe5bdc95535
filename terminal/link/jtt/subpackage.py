"""Platform-link room, JT/T codec: JT/T 808 sub-packaging (long messages) and reassembly.

A body longer than one package (at most 1023 bytes) goes as ``frag_total`` packages
with ``frag_sn`` 1..total and consecutive serial numbers. ``split`` builds them;
``Reassembler`` collects them back. It holds a bounded number of partial messages
(the oldest is dropped first), so a peer that never finishes cannot grow memory.
"""

from terminal.link.jtt import codec, jt808
from terminal.link.jtt import fields as f
from terminal.link.jtt.errors import EncodeError
from terminal.link.jtt.framing import wrap
from terminal.link.jtt.header import build_808

PACKAGE_BODY = 1023


def split(message: dict, max_body: int = PACKAGE_BODY) -> list:
    """A JSON 808 message -> list of frames; one frame (not sub-packaged) when the body fits.

    The packages use serial numbers ``msg_sn``, ``msg_sn + 1``, ... (mod 65536)."""
    if codec.protocol_of(message) != codec.JT808:
        raise EncodeError("sub-packaging is defined for JT/T 808 only")
    if not 1 <= max_body <= PACKAGE_BODY:
        raise EncodeError(f"max_body must be 1-{PACKAGE_BODY}")
    body = codec.encode_body(message)
    header = {k: v for k, v in message["header"].items() if k not in ("frag_total", "frag_sn", "len")}
    if len(body) <= max_body:
        return [wrap(build_808(header, body))]
    chunks = [body[i:i + max_body] for i in range(0, len(body), max_body)]
    if len(chunks) > 0xFFFF:
        raise EncodeError("message too long for 65535 packages")
    frames = []
    for index, chunk in enumerate(chunks, start=1):
        part = dict(header, frag_total=len(chunks), frag_sn=index,
                    msg_sn=(header.get("msg_sn", 0) + index - 1) & 0xFFFF)
        frames.append(wrap(build_808(part, chunk)))
    return frames


class Reassembler:
    """Feed decoded 808 messages; get whole messages back.

    ``add(message)`` returns the message itself when it is not a package, ``None``
    while packages are missing, and the reassembled, decoded message (header without
    ``frag_total``/``frag_sn``, ``msg_sn`` of the first package) when the last one
    arrives. ``missing(key)`` lists the package numbers still wanted (for a 0x8003 /
    0x0005 re-send request).
    """

    def __init__(self, max_pending: int = 16):
        self.max_pending = max_pending
        self._pending: dict = {}  # key -> {frag_sn: bytes}

    @staticmethod
    def key(header: dict) -> tuple:
        first_sn = (header["msg_sn"] - header["frag_sn"] + 1) & 0xFFFF
        return header["phone"], header["msg_id"], header["frag_total"], first_sn

    def add(self, message: dict):
        header = message["header"]
        if "frag_total" not in header:
            return message
        total, index = header["frag_total"], header["frag_sn"]
        if not 1 <= index <= total:
            return None
        key = self.key(header)
        parts = self._pending.pop(key, {})
        parts[index] = f.b64_encode_field(message["body"]["frag_data"], "frag_data")
        if len(parts) < total:
            self._pending[key] = parts
            while len(self._pending) > self.max_pending:
                self._pending.pop(next(iter(self._pending)))
            return None
        body = b"".join(parts[i] for i in range(1, total + 1))
        whole = {k: v for k, v in header.items() if k not in ("frag_total", "frag_sn")}
        whole["msg_sn"], whole["len"] = key[3], len(body)
        layout = jt808.layout_for(whole["msg_id"], whole.get("proto_ver"))
        return {"header": whole, "body": codec.decode_body(whole, body, layout, whole["encrypt"] != 0)}

    def missing(self, key: tuple) -> list:
        parts = self._pending.get(key)
        if parts is None:
            return []
        return [i for i in range(1, key[2] + 1) if i not in parts]

    def pending(self) -> list:
        return list(self._pending)
