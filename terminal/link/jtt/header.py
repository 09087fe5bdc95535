"""Platform-link room, JT/T codec: message headers of JT/T 808-2013, 808-2019 and 905.

JT/T 808 (JSON keys as EMQX's JT/T 808 gateway):

======================  ====================================================  ============
field                   bytes                                                 JSON key
======================  ====================================================  ============
message id              WORD                                                  msg_id
body attributes         WORD: bits 0-9 body length, 10-12 encryption,         len, encrypt
                        13 sub-packaged, 14 version flag (2019), 15 reserved
protocol version        BYTE, only when bit 14 is set (2019)                  proto_ver
terminal phone          BCD[6] (2013) or BCD[10] (2019)                       phone
serial number           WORD                                                  msg_sn
package total / index   WORD, WORD, only when bit 13 is set                   frag_total, frag_sn
======================  ====================================================  ============

Header length is therefore 12 / 16 (2013) or 17 / 21 (2019) bytes. JT/T 905 (as the
open implementation SmallChi/JT905 reads it): ``msg_id`` WORD, ``len`` WORD (the whole
word is the body length), ``isu`` BCD[6], ``msg_sn`` WORD: 12 bytes, no attributes.

Strict: the header must be complete and its length must equal the body's. Lenient:
the reserved bit 15 is ignored; the 2019 version byte may be any value; a 2013 header with
bit 14 set is read as 2013 (``version_flag: 1``) when only the 2013 reading fits the frame.
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt.errors import EncodeError, HeaderError

LEN_MASK = 0x03FF
ENCRYPT_SHIFT = 10
FRAG_BIT = 1 << 13
VERSION_BIT = 1 << 14
MAX_BODY_808 = LEN_MASK


def parse_808(payload: bytes) -> tuple:
    """payload (header + body) -> (header dict, body bytes).

    Some 2013 terminals set bit 14 (reserved in 2013, the version flag in 2019) on a 2013 header.
    When the 2019 reading does not fit the frame and the 2013 reading fits it exactly, the header is
    read as 2013 and marked ``version_flag: 1`` (so encode sets the bit again)."""
    if len(payload) < 12:
        raise HeaderError(f"{len(payload)} bytes cannot hold a JT/T 808 header (12 at least)")
    attr = int.from_bytes(payload[2:4], "big")
    if not attr & VERSION_BIT:
        return _parse_808(payload, attr, False)
    try:
        return _parse_808(payload, attr, True)
    except HeaderError as error:
        try:
            header, body = _parse_808(payload, attr, False)
        except HeaderError:
            raise error from None
        header = dict(header, version_flag=1)
        return header, body


def _parse_808(payload: bytes, attr: int, version: bool) -> tuple:
    msg_id = int.from_bytes(payload[0:2], "big")
    header = {"msg_id": msg_id, "encrypt": (attr >> ENCRYPT_SHIFT) & 0x7, "len": attr & LEN_MASK}
    pos = 4
    if version:
        if len(payload) < 17:
            raise HeaderError(f"{len(payload)} bytes cannot hold a JT/T 808-2019 header (17 at least)")
        header["proto_ver"] = payload[4]
        header["phone"] = f.bcd_decode(payload[5:15])
        pos = 15
    else:
        header["phone"] = f.bcd_decode(payload[4:10])
        pos = 10
    header["msg_sn"] = int.from_bytes(payload[pos:pos + 2], "big")
    pos += 2
    if attr & FRAG_BIT:
        if len(payload) < pos + 4:
            raise HeaderError("sub-package bit set but the header has no package total/index")
        header["frag_total"] = int.from_bytes(payload[pos:pos + 2], "big")
        header["frag_sn"] = int.from_bytes(payload[pos + 2:pos + 4], "big")
        pos += 4
    body = payload[pos:]
    if len(body) != header["len"]:
        raise HeaderError(f"header says {header['len']} body bytes, the frame carries {len(body)}")
    return header, body


def build_808(header: dict, body: bytes) -> bytes:
    if not isinstance(header, dict):
        raise EncodeError(f"header: object expected, got {header!r}")
    for key in ("msg_id", "phone", "msg_sn"):
        if key not in header:
            raise EncodeError(f"header.{key} is missing")
    if len(body) > MAX_BODY_808:
        raise EncodeError(f"body of {len(body)} bytes exceeds {MAX_BODY_808}; split it into packages")
    encrypt = header.get("encrypt", 0)
    f.uint(encrypt, 1, "header.encrypt")
    if encrypt > 7:
        raise EncodeError("header.encrypt: 3 bits, 0-7")
    attr = len(body) | encrypt << ENCRYPT_SHIFT
    fragmented = "frag_total" in header or "frag_sn" in header
    if fragmented:
        attr |= FRAG_BIT
    out = bytearray(f.uint(header["msg_id"], 2, "header.msg_id"))
    if "proto_ver" in header:
        attr |= VERSION_BIT
        out += attr.to_bytes(2, "big")
        out += f.uint(header["proto_ver"], 1, "header.proto_ver")
        out += f.bcd_encode(header["phone"], 10, "header.phone")
    else:
        if header.get("version_flag"):
            attr |= VERSION_BIT  # a 2013 header that carried bit 14 (see parse_808)
        out += attr.to_bytes(2, "big")
        out += f.bcd_encode(header["phone"], 6, "header.phone")
    out += f.uint(header["msg_sn"], 2, "header.msg_sn")
    if fragmented:
        out += f.uint(header.get("frag_total"), 2, "header.frag_total")
        out += f.uint(header.get("frag_sn"), 2, "header.frag_sn")
    return bytes(out) + body


def parse_905(payload: bytes) -> tuple:
    if len(payload) < 12:
        raise HeaderError(f"{len(payload)} bytes cannot hold a JT/T 905 header (12)")
    header = {
        "msg_id": int.from_bytes(payload[0:2], "big"),
        "len": int.from_bytes(payload[2:4], "big"),
        "isu": f.bcd_decode(payload[4:10]),
        "msg_sn": int.from_bytes(payload[10:12], "big"),
    }
    body = payload[12:]
    if len(body) != header["len"]:
        raise HeaderError(f"header says {header['len']} body bytes, the frame carries {len(body)}")
    return header, body


def build_905(header: dict, body: bytes) -> bytes:
    for key in ("msg_id", "isu", "msg_sn"):
        if key not in header:
            raise EncodeError(f"header.{key} is missing")
    return (f.uint(header["msg_id"], 2, "header.msg_id") + f.uint(len(body), 2, "body length")
            + f.bcd_encode(header["isu"], 6, "header.isu") + f.uint(header["msg_sn"], 2, "header.msg_sn")
            + body)
