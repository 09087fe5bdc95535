"""The light Ed25519 signer (terminal/trust/ed25519.py) against RFC 8032 and the cryptography package.

It must accept exactly what cryptography accepts and make the same signatures (Ed25519 is
deterministic), read and write the same PEM files, and refuse what is not its own format so
that cryptography decides.
"""

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.trust import ed25519, keys, signing

# RFC 8032 section 7.1, TEST 1 and TEST 2: (secret key, public key, message, signature)
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd"
     "25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c3"
     "87b2eaeb4302aeeb00d291612bb0c00"),
]


@pytest.fixture(params=["libcrypto", "cryptography"])
def backend(request, monkeypatch):
    """Both ways the light keys can work: the system libcrypto, or cryptography where none is found."""
    if request.param == "libcrypto":
        assert ed25519._lib() is not None, "this machine's hashlib has no usable libcrypto"
    else:
        monkeypatch.setattr(ed25519, "_LIB", None)
        monkeypatch.setattr(ed25519, "_LIB_LOOKED", True)
    return request.param


@pytest.mark.parametrize("secret, public, message, signature", RFC8032)
def test_rfc8032_vectors(backend, secret, public, message, signature):
    key = ed25519.PrivateKey(bytes.fromhex(secret))
    assert key.public_key().raw.hex() == public
    assert key.sign(bytes.fromhex(message)).hex() == signature
    assert ed25519.verify(ed25519.PublicKey(bytes.fromhex(public)), bytes.fromhex(signature), bytes.fromhex(message))


@settings(max_examples=40, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), message=st.binary(max_size=300), flip=st.integers(0, 511))
def test_same_signatures_and_verdicts_as_cryptography(seed, message, flip):
    theirs = Ed25519PrivateKey.from_private_bytes(seed)
    ours = ed25519.PrivateKey(seed)
    signature = ours.sign(message)
    assert signature == theirs.sign(message)
    assert ed25519.verify(theirs.public_key(), signature, message)
    assert ed25519.verify(ours.public_key(), signature, message)
    bad = bytearray(signature)
    bad[flip // 8] ^= 1 << (flip % 8)
    assert not ed25519.verify(ours.public_key(), bytes(bad), message)
    assert not ed25519.verify(theirs.public_key(), bytes(bad), message)
    assert not ed25519.verify(ours.public_key(), signature, message + b"x")


def test_pem_files_are_the_same_bytes_both_ways(tmp_path):
    theirs = Ed25519PrivateKey.generate()
    pem = theirs.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    pub = theirs.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
    ours = ed25519.load_pem_private(pem)
    assert isinstance(ours, ed25519.PrivateKey)
    assert keys.private_pem(ours) == pem and keys.public_pem(ours.public_key()) == pub
    assert ed25519.load_pem_public(pub) == theirs.public_key()
    path = tmp_path / "device.key"
    keys.write_private(path, theirs)
    assert isinstance(keys.load_private(path), ed25519.PrivateKey)
    assert signing.key_id(keys.load_private(path).public_key()) == signing.key_id(theirs.public_key())


def test_other_formats_are_left_to_cryptography():
    theirs = Ed25519PrivateKey.generate()
    encrypted = theirs.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                     ser.BestAvailableEncryption(b"secret"))
    assert ed25519.load_pem_private(encrypted) is None
    assert ed25519.load_pem_private(b"-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n") is None
    assert ed25519.load_pem_public(b"") is None
    with pytest.raises(keys.KeyFileError):
        keys.parse_public(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "the test key")


def test_a_signature_of_either_kind_passes_signing_verify():
    theirs = Ed25519PrivateKey.generate()
    ours = ed25519.PrivateKey(theirs.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption()))
    for signer in (theirs, ours):
        for checker in (theirs.public_key(), ours.public_key()):
            signature = signing.sign(signer, "audit", b"record")
            signing.verify(checker, "audit", b"record", signature, "the record")
            with pytest.raises(signing.SignatureError):
                signing.verify(checker, "tariff", b"record", signature, "the record")


def test_wrong_key_lengths_are_refused():
    with pytest.raises(ValueError):
        ed25519.PrivateKey(b"\0" * 31)
    with pytest.raises(ValueError):
        ed25519.PublicKey(b"\0" * 33)
