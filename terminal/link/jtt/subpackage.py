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

    ``add(message, now_ms)`` returns the message itself when it is not a package, ``None``
    while packages are missing, and the reassembled, decoded message (header without
    ``frag_total``/``frag_sn``, ``msg_sn`` of the first package) when the last one
    arrives; a whole body the codec cannot read raises ``BodyError``. ``missing(key)`` lists
    the package numbers still wanted (for a 0x8003 / 0x0005 re-send request).

    Bounded against a peer that never finishes: at most ``max_pending`` partial messages
    and ``max_bytes`` held in all (the oldest reassembly goes first), and a reassembly not
    completed within ``max_age_ms`` (by the ``now_ms`` given) is forgotten. A package index
    of 0 or above the total is ignored; the same package twice keeps the later one.
    """

    def __init__(self, max_pending: int = 16, max_bytes: int = 256 * 1024, max_age_ms: int = 60_000):
        self.max_pending, self.max_bytes, self.max_age_ms = max_pending, max_bytes, max_age_ms
        self._pending: dict = {}  # key -> {frag_sn: bytes}
        self._started: dict = {}  # key -> now_ms of its first package
        self.held_bytes = 0
        self.dropped = 0          # reassemblies given up (too many, too big, too old)

    @staticmethod
    def key(header: dict) -> tuple:
        first_sn = (header["msg_sn"] - header["frag_sn"] + 1) & 0xFFFF
        return header["phone"], header["msg_id"], header["frag_total"], first_sn

    def add(self, message: dict, now_ms: int = 0):
        header = message["header"]
        if "frag_total" not in header:
            return message
        self._expire(now_ms)
        total, index = header["frag_total"], header["frag_sn"]
        if not 1 <= index <= total:
            return None
        key = self.key(header)
        parts = self._forget(key) or {}
        self._started.setdefault(key, now_ms)
        parts[index] = f.b64_encode_field(message["body"]["frag_data"], "frag_data")
        if len(parts) < total:
            self._pending[key] = parts
            self.held_bytes += sum(len(p) for p in parts.values())
            while self._pending and (len(self._pending) > self.max_pending or self.held_bytes > self.max_bytes):
                self._forget(next(iter(self._pending)))
                self.dropped += 1
            return None
        self._started.pop(key, None)
        body = b"".join(parts[i] for i in range(1, total + 1))
        whole = {k: v for k, v in header.items() if k not in ("frag_total", "frag_sn")}
        whole["msg_sn"], whole["len"] = key[3], len(body)
        layout = jt808.layout_for(whole["msg_id"], whole.get("proto_ver"))
        return {"header": whole, "body": codec.decode_body(whole, body, layout, whole["encrypt"] != 0)}

    def _forget(self, key):
        parts = self._pending.pop(key, None)
        if parts is not None:
            self.held_bytes -= sum(len(p) for p in parts.values())
            self._started.pop(key, None)
        return parts

    def _expire(self, now_ms: int) -> None:
        for key, started in list(self._started.items()):
            if now_ms - started > self.max_age_ms:
                if self._forget(key) is not None:
                    self.dropped += 1
                self._started.pop(key, None)

    def missing(self, key: tuple) -> list:
        parts = self._pending.get(key)
        if parts is None:
            return []
        return [i for i in range(1, key[2] + 1) if i not in parts]

    def pending(self) -> list:
        return list(self._pending)
