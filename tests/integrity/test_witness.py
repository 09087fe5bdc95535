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


def test_inspect_flags_a_chain_shorter_than_or_diverging_from_what_the_platform_saw(vehicle, capsys):
    import sqlite3

    from terminal.cli import main

    state, _ = vehicle
    db = sqlite3.connect(str(state / "terminal.db"))
    counter, head = db.execute("SELECT counter, hash FROM audit_record WHERE event = 'trip_closed' "
                               "ORDER BY counter DESC LIMIT 1").fetchone()
    db.close()
    assert main(["inspect", "--state", str(state), "--platform-head", f"{counter}:{head}"]) == 0
    assert f"holds record #{counter} as the platform saw it" in capsys.readouterr().out
    assert main(["inspect", "--state", str(state), "--platform-head", f"{counter}:{'0' * 64}"]) == 1
    assert "RESULT: FAILED - platform witness: audit record #" in capsys.readouterr().out
    assert main(["inspect", "--state", str(state), "--platform-head", f"{counter + 50}:{head}"]) == 1
    assert "but the platform saw record" in capsys.readouterr().out
    assert main(["inspect", "--state", str(state), "--platform-head", "nonsense"]) == 2


def test_the_html_report_marks_the_altered_trip_and_shows_units_and_local_time(vehicle, tmp_path, capsys):
    from terminal.cli import main
    from tests.integrity.tampering import trip_fare_lowered_redigested

    state, _ = vehicle
    trip_fare_lowered_redigested(state)
    page = tmp_path / "r.html"
    assert main(["inspect", "--state", str(state), "--html", str(page)]) == 1
    text = capsys.readouterr().out
    assert "RESULT: FAILED - legal chain: trip #2:" in text
    assert "software id (sealed)" in text and " yuan" in text and " km" in text
    doc = page.read_text()
    assert '<tr class="bad"><td>2</td>' in doc and doc.count('class="bad"') == 1
    assert "(UTC+08:00)" in doc and 'id="result" class="fail"' in doc
