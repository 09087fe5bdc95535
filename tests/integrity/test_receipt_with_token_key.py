"""The e-receipt is signed by the device key wherever it lives: a development Ed25519 file key or
the P-256 key in a PKCS#11 token (a real vehicle). Before, the receipt module called Ed25519's
``sign`` directly, so a terminal provisioned with a token could not print a signed receipt."""

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from terminal.trust.receipt_signing import check_link, receipt_link
from terminal.trust.signing import SignatureError

TRIP = {"trip_no": 12, "total_fen": 2850, "alight_ms": 1795140000000, "digest": "ab" * 32,
        "board_ms": 1795139000000, "distance_m": 5100}


class TokenLikeKey:
    """What terminal/trust/token.py hands out: ``sign_message`` giving PKCS#11's r || s."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())

    def public_key(self):
        return self._key.public_key()

    def sign_message(self, message: bytes) -> bytes:
        r, s = utils.decode_dss_signature(self._key.sign(message, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


@pytest.mark.parametrize("make_key", [TokenLikeKey, Ed25519PrivateKey.generate], ids=["p256-token", "ed25519-file"])
def test_a_receipt_link_signed_by_the_device_key_verifies_and_a_changed_total_does_not(make_key):
    key = make_key()
    url = receipt_link(key, "TX-0001", "https://verify.example/r", TRIP, "浙A·T1234")
    assert check_link(url, key.public_key(), "TX-0001")["device_id"] == "TX-0001"
    forged = url.replace("total=2850", "total=1850")
    assert forged != url
    with pytest.raises(SignatureError):
        check_link(forged, key.public_key(), "TX-0001")
