"""The trip witness other rooms put on the receipt QR and the platform report."""

import pytest

from terminal.trust import keys, ledger, signing
from tests.seal.conftest import make_trips


def test_a_trip_witness_verifies_offline_and_names_its_chain_record():
    device = keys.generate()
    [trip], _ = make_trips(1, "GZ-2026A", "ab" * 32)
    witness = ledger.sign_trip_witness(device, trip, (17, "cd" * 32))
    assert witness["chain_counter"] == 17 and witness["trip_no"] == 1
    ledger.verify_trip_witness(device.public_key(), witness, trip)
    for change in ({"digest": "00" * 32}, {"chain_counter": 16}, {"trip_no": 2}):
        with pytest.raises(signing.SignatureError):
            ledger.verify_trip_witness(device.public_key(), dict(witness, **change))
    with pytest.raises(signing.SignatureError):
        ledger.verify_trip_witness(keys.generate().public_key(), witness)
    other = dict(trip, digest="11" * 32)
    with pytest.raises(signing.SignatureError):
        ledger.verify_trip_witness(device.public_key(), witness, other)
