"""Platform-link room, JT/T links: what one connection receives, as whole platform messages.

``Inbound.feed(data, now_ms)`` runs the stream decoder and (808) the package reassembler
and yields ``("message", message)`` for each readable message and ``("message_error",
header)`` for a platform message whose header was read and whose body was not (the link
answers it with general reply result 2, "message error"). Everything else that cannot be
read is dropped and counted in the link's ``counters`` (``bad_frames``: framing, check,
header; ``bad_messages``: bodies; ``junk_bytes``: bytes before the connection's first flag); drops are logged at powers of two only, so a platform
sending junk cannot flood the journal. Nothing here raises on input.
"""

from __future__ import annotations

import logging

from terminal.link import jtt
from terminal.link.jtt import header as jtt_header

log = logging.getLogger("terminal.link.jtt_link.tcp_link")

NO_ANSWER = (0x8001, 0x8100, 0x8004)   # the platform's answers are not answered, broken or not


class Inbound:
    def __init__(self, name: str, protocol: str, counters: dict) -> None:
        self.name, self.protocol, self.counters = name, protocol, counters
        self.decoder = jtt.StreamDecoder()
        self.reassembler = jtt.Reassembler() if protocol == jtt.JT808 else None

    def feed(self, data: bytes, now_ms: int) -> list:
        out = []
        junk = self.decoder.junk_bytes
        items = self.decoder.feed(data)
        self.counters["junk_bytes"] += self.decoder.junk_bytes - junk
        for item in items:
            if isinstance(item, jtt.JttError):
                self._dropped("bad_frames", item)
                continue
            try:
                message = jtt.decode_payload(item, self.protocol)
                if self.reassembler is not None:
                    message = self.reassembler.add(message, now_ms)
            except jtt.BodyError as exc:
                self._dropped("bad_messages", exc)
                header = self._answerable(item)
                if header is not None:
                    out.append(("message_error", header))
                continue
            except jtt.JttError as exc:
                self._dropped("bad_frames", exc)
                continue
            if message is not None:
                out.append(("message", message))
        return out

    def _dropped(self, counter: str, exc: Exception) -> None:
        self.counters[counter] += 1
        count = self.counters[counter]
        if count & (count - 1) == 0:
            log.warning("%s: dropped %s (%d so far): %s", self.name, counter.replace("_", " ")[:-1], count, exc)

    def _answerable(self, payload: bytes) -> dict | None:
        """The header of a platform command to answer; a package's names its first package's serial."""
        parse = jtt_header.parse_905 if self.protocol == jtt.JT905 else jtt_header.parse_808
        header = parse(payload)[0]
        if header["msg_id"] < 0x8000 or header["msg_id"] in NO_ANSWER:
            return None
        if header.get("frag_total"):
            header = dict(header, msg_sn=(header["msg_sn"] - header["frag_sn"] + 1) & 0xFFFF)
        return header
