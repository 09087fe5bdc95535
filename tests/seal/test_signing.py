"""Signatures: purpose-bound, strict encodings, exact bytes; nothing altered passes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.trust import keys, signing
from terminal.trust.signing import SignatureError

KEY = keys.generate()
DATA = b"[[tariff]]\nid = \"GZ\"\n"
SIG_FILE = signing.detached_signature(KEY, "tariff", DATA)


def test_detached_signature_verifies_only_for_its_purpose_and_key():
    signing.verify_detached(KEY.public_key(), "tariff", DATA, SIG_FILE, "t")
    with pytest.raises(SignatureError, match="does not verify"):
        signing.verify_detached(KEY.public_key(), "update", DATA, SIG_FILE, "t")
    with pytest.raises(SignatureError, match="does not verify"):
        signing.verify_detached(keys.generate().public_key(), "tariff", DATA, SIG_FILE, "t")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_changed_byte_of_data_or_signature_file_is_rejected(data):
    target = data.draw(st.sampled_from(["data", "sig"]))
    blob = bytearray(DATA if target == "data" else SIG_FILE)
    pos = data.draw(st.integers(0, len(blob) - 1))
    blob[pos] ^= data.draw(st.integers(1, 255))
    args = (bytes(blob), SIG_FILE) if target == "data" else (DATA, bytes(blob))
    with pytest.raises(SignatureError):
        signing.verify_detached(KEY.public_key(), "tariff", *args, "t")


def test_base64_must_be_canonical():
    text = SIG_FILE.decode().strip()
    # the last character before the padding carries unused bits: another spelling of the same bytes
    alt = text[:-3] + chr(ord(text[-3]) ^ 1) + text[-2:]
    with pytest.raises(SignatureError):
        signing.decode_signature(alt, "t")


def test_envelope_round_trip_and_exact_bytes():
    blob = signing.envelope_bytes(KEY, "manifest", {"a": 1, "b": "二"})
    assert signing.open_envelope_bytes(blob, KEY.public_key(), "manifest", "m") == {"a": 1, "b": "二"}
    with pytest.raises(SignatureError, match="canonical"):
        signing.open_envelope_bytes(blob.replace(b',"payload"', b', "payload"'), KEY.public_key(), "manifest", "m")
    with pytest.raises(SignatureError, match="for 'manifest'"):
        signing.open_envelope_bytes(blob, KEY.public_key(), "authorisation", "m")
    with pytest.raises(SignatureError, match="JSON"):
        signing.open_envelope_bytes(b"\xff" + blob, KEY.public_key(), "manifest", "m")


def test_private_key_file_is_0600_never_overwritten_and_refused_when_open(tmp_path):
    path = tmp_path / "k.key"
    keys.write_private(path, KEY)
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing.key_id(keys.load_private(path).public_key()) == signing.key_id(KEY.public_key())
    with pytest.raises(keys.KeyFileError, match="already exists"):
        keys.write_private(path, keys.generate())
    path.chmod(0o644)
    with pytest.raises(keys.KeyFileError, match="readable by others"):
        keys.load_private(path)
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key")
    with pytest.raises(keys.KeyFileError, match="not a PEM public key"):
        keys.load_public(bad)
