"""The e-receipt link in the receipt's QR code (printer room; pure: no keys, no I/O).

A passenger's phone opens a URL, so the QR code carries one: the verification service's
base URL (configurable, ``terminal.receipt_verify_url``), the trip's identity and the
device's signature over it, which a platform checks offline with the device's public key:

    https://verify.example.cn/r?v=1&dev=SIM-0001&plate=%E6%B5%99A%C2%B7T1234&trip=3
        &total=2850&at=1795140123000&digest=<64 hex>&sig=<Ed25519, base64url, 86 chars>

The signed text is the query up to (not including) ``&sig=``, exactly as it stands in the
URL, fields in the order of ``FIELDS`` with UTF-8 percent-encoding of every byte outside
``A-Z a-z 0-9 - . _ ~``. The base URL is not signed, so a service may move. Who signs and
with which key is the terminal's business (terminal/trust/receipt_signing.py): this module
only builds and reads the link. docs/receipt.md describes the format.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote, unquote_to_bytes, urlsplit

VERSION = "1"
FIELDS = ("v", "dev", "plate", "trip", "total", "at", "digest")
SIGNATURE_LEN = 64


class EReceiptError(ValueError):
    """Not an e-receipt link of this format; the message says what is wrong."""


def fields_of(trip: dict, plate: str, device_id: str) -> dict:
    """The signed fields of a trip record: who issued it (device, plate) and which trip, for how much."""
    return {"v": VERSION, "dev": device_id, "plate": plate, "trip": str(trip["trip_no"]),
            "total": str(trip["total_fen"]), "at": str(trip["alight_ms"]), "digest": trip["digest"]}


def signed_text(fields: dict) -> bytes:
    """The bytes the device signs: the query's fields in order, percent-encoded."""
    missing = [k for k in FIELDS if not isinstance(fields.get(k), str) or not fields[k]]
    if missing:
        raise EReceiptError(f"e-receipt fields missing: {', '.join(missing)}")
    return "&".join(f"{k}={quote(fields[k], safe='-._~')}" for k in FIELDS).encode("ascii")


def link(base_url: str, fields: dict, signature: bytes) -> str:
    """The URL for the QR code."""
    check_base_url(base_url)
    if len(signature) != SIGNATURE_LEN:
        raise EReceiptError(f"signature must be {SIGNATURE_LEN} bytes, got {len(signature)}")
    sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")
    return f"{base_url}?{signed_text(fields).decode('ascii')}&sig={sig}"


def check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise EReceiptError(f"verification base URL must be http(s)://host/path without a query, got {base_url!r}")


def parse(url: str) -> dict:
    """The fields of an e-receipt link, the signed bytes and the signature; EReceiptError if it is not one.

    Returns {"base_url", "fields": {...}, "device_id", "plate", "trip_no", "total_fen", "alight_ms",
    "digest", "signed": bytes, "signature": bytes}.
    """
    if not isinstance(url, str) or "?" not in url:
        raise EReceiptError(f"not an e-receipt link: {url!r}")
    base_url, query = url.split("?", 1)
    check_base_url(base_url)
    signed, sep, sig = query.rpartition("&sig=")
    if not sep:
        raise EReceiptError("the e-receipt link has no signature (sig=)")
    pairs = [p.split("=", 1) for p in signed.split("&")]
    if [p[0] for p in pairs] != list(FIELDS) or any(len(p) != 2 for p in pairs):
        raise EReceiptError(f"e-receipt fields must be {', '.join(FIELDS)} in that order")
    try:
        fields = {k: unquote_to_bytes(v).decode("utf-8") for k, v in pairs}
        signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
    except (UnicodeDecodeError, binascii.Error, ValueError) as exc:
        raise EReceiptError(f"malformed e-receipt link: {exc}") from None
    if fields["v"] != VERSION:
        raise EReceiptError(f"e-receipt version {fields['v']!r} is not {VERSION}")
    if signed_text(fields) != signed.encode("ascii"):
        raise EReceiptError("the e-receipt fields are not in their one encoded form")
    if not (fields["trip"].isdigit() and fields["total"].isdigit() and fields["at"].isdigit()):
        raise EReceiptError("trip, total and at must be whole numbers")
    digest = fields["digest"]
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise EReceiptError("digest must be 64 lower-case hex digits")
    if len(signature) != SIGNATURE_LEN:
        raise EReceiptError(f"signature must be {SIGNATURE_LEN} bytes, got {len(signature)}")
    return {"base_url": base_url, "fields": fields, "device_id": fields["dev"], "plate": fields["plate"],
            "trip_no": int(fields["trip"]), "total_fen": int(fields["total"]), "alight_ms": int(fields["at"]),
            "digest": digest, "signed": signed.encode("ascii"), "signature": signature}
