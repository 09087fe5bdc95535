"""The e-receipt signature (trust room): the device signs each receipt's link, anyone with its public key checks it.

One module so that the key it signs with can be repointed in one place: ``sign_receipt`` and
``verify_receipt`` are the only calls that touch a key. The signature is the device key's over
``b"taxiterm/receipt/v1\\n" + signed_text`` (purpose ``receipt`` of terminal/trust/signing.py, so a
receipt signature can never pass for any other signature of the device): ECDSA P-256 ``r || s``
from the key in the PKCS#11 token of a vehicle, Ed25519 from a development file key; 64 bytes
either way.
The link's format is printer/e_receipt.py's; docs/receipt.md describes both.
"""

from __future__ import annotations

from printer import e_receipt
from terminal.trust import signing
from terminal.trust.signing import SignatureError

PURPOSE = "receipt"


def sign_receipt(device_key, signed_text: bytes) -> bytes:
    """The device's signature over an e-receipt's signed text (a token key or a file key)."""
    return signing.sign(device_key, PURPOSE, signed_text)


def verify_receipt(public_key, signed_text: bytes, signature: bytes) -> None:
    """Raise ``SignatureError`` unless ``signature`` is the device's over ``signed_text``."""
    signing.verify(public_key, PURPOSE, signed_text, signature, "the e-receipt's signature")


def receipt_link(device_key, device_id: str, base_url: str, trip: dict, plate: str) -> str:
    """The signed e-receipt URL of a trip record, for its QR code."""
    fields = e_receipt.fields_of(trip, plate, device_id)
    return e_receipt.link(base_url, fields, sign_receipt(device_key, e_receipt.signed_text(fields)))


def check_link(url: str, public_key, device_id: str | None = None) -> dict:
    """The link's fields once its signature verifies (and it names ``device_id``, if given)."""
    parsed = e_receipt.parse(url)
    if device_id is not None and parsed["device_id"] != device_id:
        raise SignatureError(f"the e-receipt names device {parsed['device_id']!r}, not {device_id!r}")
    verify_receipt(public_key, parsed["signed"], parsed["signature"])
    return parsed
