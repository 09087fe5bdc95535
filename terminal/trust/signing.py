"""Signatures: Ed25519 (file keys) or ECDSA P-256 (the device key in a PKCS#11 token) with a purpose label, detached signature files and signed JSON envelopes.

Every signature the terminal makes or checks goes through here. The signed message is
``b"taxiterm/<purpose>/v1\\n" + data``: a tariff signature can never pass as an update
signature or a technician authorisation, even under the same key (docs/tariff-signing.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import TYPE_CHECKING

from meter import canonical
from terminal.trust import ed25519

if TYPE_CHECKING:   # Ed25519 goes through ed25519.py; cryptography only for P-256 (a token's key)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PURPOSES = ("tariff", "update", "manifest", "authorisation", "audit", "export", "meter_state", "witness",
            "certificate", "receipt")
SIGNATURE_LEN = 64


class SignatureError(ValueError):
    """A signature is missing, malformed or does not verify. Nothing was accepted."""


def canonical_json(value) -> bytes:
    """The one canonical byte form (sorted keys, no white space, UTF-8, integers only)."""
    return canonical.encode(value)


def parse_json(data: bytes, what: str):
    """Parse JSON bytes; a clear ``SignatureError`` for anything that is not UTF-8 JSON."""
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureError(f"{what} is not valid UTF-8 JSON ({exc})") from None


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key: the first 16 hex digits of SHA-256 of its raw bytes
    (Ed25519: the 32 raw bytes; P-256: the 65-byte uncompressed point)."""
    if _is_p256(public_key):
        from cryptography.hazmat.primitives import serialization
        raw = public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        raw = ed25519.raw_public(public_key)
    return hashlib.sha256(raw).hexdigest()[:16]


def _is_p256(public_key) -> bool:
    """An ECDSA public key (a token's device key): only possible once cryptography is imported."""
    ec = sys.modules.get("cryptography.hazmat.primitives.asymmetric.ec")
    return ec is not None and isinstance(public_key, ec.EllipticCurvePublicKey)


def _message(purpose: str, data: bytes) -> bytes:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown signature purpose {purpose!r}")
    return b"taxiterm/" + purpose.encode() + b"/v1\n" + data


def sign(private_key: Ed25519PrivateKey, purpose: str, data: bytes) -> bytes:
    """64 bytes: Ed25519 for a file key; ECDSA P-256 r || s for a token key (``sign_message``)."""
    if ed25519.is_private(private_key):
        return private_key.sign(_message(purpose, data))
    return private_key.sign_message(_message(purpose, data))


def verify(public_key: Ed25519PublicKey, purpose: str, data: bytes, signature: bytes, what: str) -> None:
    """Raise ``SignatureError`` naming ``what`` unless ``signature`` is ``public_key``'s over ``data``."""
    if len(signature) != SIGNATURE_LEN:
        raise SignatureError(f"{what}: signature must be {SIGNATURE_LEN} bytes, got {len(signature)}")
    if _is_p256(public_key):
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, utils
        der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public_key.verify(der, _message(purpose, data), ec.ECDSA(hashes.SHA256()))
            good = True
        except InvalidSignature:
            good = False
    else:
        good = ed25519.verify(public_key, signature, _message(purpose, data))
    if not good:
        raise SignatureError(
            f"{what}: signature does not verify with key {key_id(public_key)} (altered, or signed by another key)"
        )


def encode_signature(signature: bytes) -> str:
    return base64.b64encode(signature).decode("ascii")


def decode_signature(text, what: str) -> bytes:
    """Strict base64: exactly one spelling is accepted for each signature, so no byte can change unseen."""
    if not isinstance(text, str):
        raise SignatureError(f"{what}: signature must be a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise SignatureError(f"{what}: signature is not valid base64") from None
    if len(raw) != SIGNATURE_LEN or encode_signature(raw) != text:
        raise SignatureError(f"{what}: signature is not a canonical base64 64-byte signature")
    return raw


def detached_signature(private_key: Ed25519PrivateKey, purpose: str, data: bytes) -> bytes:
    """The contents of a detached signature file (FILE.sig): one base64 line."""
    return encode_signature(sign(private_key, purpose, data)).encode("ascii") + b"\n"


def verify_detached(public_key: Ed25519PublicKey, purpose: str, data: bytes, sig_file: bytes, what: str) -> None:
    try:
        text = sig_file.decode("ascii")
    except UnicodeDecodeError:
        raise SignatureError(f"{what}: signature file is not ASCII base64") from None
    if not text.endswith("\n") or text.count("\n") != 1:
        raise SignatureError(f"{what}: signature file must be exactly one base64 line")
    verify(public_key, purpose, data, decode_signature(text[:-1], what), what)


def make_envelope(private_key: Ed25519PrivateKey, purpose: str, payload: dict) -> dict:
    """A signed envelope: {"payload": ..., "purpose": ..., "key_id": ..., "signature": ...}."""
    body = canonical_json(payload)
    return {
        "payload": payload,
        "purpose": purpose,
        "key_id": key_id(private_key.public_key()),
        "signature": encode_signature(sign(private_key, purpose, body)),
    }


def envelope_bytes(private_key: Ed25519PrivateKey, purpose: str, payload: dict) -> bytes:
    return canonical_json(make_envelope(private_key, purpose, payload)) + b"\n"


def open_envelope(envelope, public_key: Ed25519PublicKey, purpose: str, what: str) -> dict:
    """Check a parsed envelope and return its payload; ``SignatureError`` on any defect."""
    if not isinstance(envelope, dict) or set(envelope) != {"payload", "purpose", "key_id", "signature"}:
        raise SignatureError(f"{what}: not a signed envelope (needs payload, purpose, key_id, signature)")
    if envelope["purpose"] != purpose:
        raise SignatureError(f"{what}: envelope is for {envelope['purpose']!r}, expected {purpose!r}")
    if not isinstance(envelope["payload"], dict):
        raise SignatureError(f"{what}: envelope payload must be an object")
    if envelope["key_id"] != key_id(public_key):
        raise SignatureError(
            f"{what}: signed by key {envelope['key_id']!r}, expected key {key_id(public_key)}"
        )
    try:
        body = canonical_json(envelope["payload"])
    except TypeError as exc:
        raise SignatureError(f"{what}: payload has a value with no canonical form ({exc})") from None
    verify(public_key, purpose, body, decode_signature(envelope["signature"], what), what)
    return envelope["payload"]


def open_envelope_bytes(data: bytes, public_key: Ed25519PublicKey, purpose: str, what: str) -> dict:
    """Like ``open_envelope`` for a file's bytes, which must be exactly the canonical form (+ newline)."""
    envelope = parse_json(data, what)
    try:
        exact = canonical_json(envelope) + b"\n"
    except TypeError as exc:
        raise SignatureError(f"{what}: holds a value with no canonical form ({exc})") from None
    if data != exact:
        raise SignatureError(f"{what}: bytes are not in canonical form (altered after signing)")
    return open_envelope(envelope, public_key, purpose, what)
