"""Platform-link room: a pure codec for JT/T 808 (2013 and 2019) and JT/T 905 (taxi).

No I/O, no clock, nothing from the rest of ``terminal/``: the TCP link and the
platform emulator in ``sim/`` both build on it. The API (details in docs/jtt.md):

Frames and streams
    ``StreamDecoder(max_frame).feed(data) -> [payload bytes | FramingError, ...]``
    ``wrap(payload) -> frame``, ``unwrap(frame) -> payload``, ``checksum``, ``escape``

Messages (JSON in EMQX's JT/T 808 gateway field names)
    ``decode(frame, protocol="jt808"|"jt905") -> {"header": ..., "body": ...}``
    ``decode_payload(payload, protocol)`` for what ``StreamDecoder`` yields
    ``encode(message) -> frame`` (a header with ``isu`` is JT/T 905, else 808;
    ``proto_ver`` in the header selects 808-2019)

Long messages
    ``split(message, max_body) -> [frame, ...]``, ``Reassembler().add(message)``

Fields
    ``bcd_time(epoch_ms)``, ``epoch_ms(bcd)`` (GMT+8), 905 unit conversions

Errors: everything raised derives from ``JttError`` (``FramingError``,
``ChecksumError``, ``HeaderError``, ``BodyError``, ``EncodeError``).
"""

from terminal.link.jtt.codec import JT808, JT905, PROTOCOLS, decode, decode_payload, encode, encode_payload
from terminal.link.jtt.errors import (
                                      BodyError,
                                      ChecksumError,
                                      EncodeError,
                                      FramingError,
                                      HeaderError,
                                      JttError,
)
from terminal.link.jtt.fields import (
                                      bcd_time,
                                      deg_from_905,
                                      deg_to_905,
                                      direction_to_905,
                                      e6_from_905,
                                      e6_to_905,
                                      epoch_ms,
)
from terminal.link.jtt.framing import MAX_FRAME, StreamDecoder, checksum, escape, unescape, unwrap, wrap
from terminal.link.jtt.subpackage import Reassembler, split

__all__ = [
    "JT808", "JT905", "PROTOCOLS", "decode", "decode_payload", "encode", "encode_payload",
    "BodyError", "ChecksumError", "EncodeError", "FramingError", "HeaderError", "JttError",
    "bcd_time", "epoch_ms", "deg_to_905", "deg_from_905", "e6_to_905", "e6_from_905", "direction_to_905",
    "MAX_FRAME", "StreamDecoder", "checksum", "escape", "unescape", "unwrap", "wrap",
    "Reassembler", "split",
]
