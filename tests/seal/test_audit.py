"""The audit trail: append-only, chained, signed; every change, removal or reordering is found and named."""

import copy
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.trust import audit as audit_mod
from terminal.trust import keys
from terminal.trust.audit import AuditError, AuditTrail, verify_records

DEVICE_KEY = keys.generate()
SID = "taxiterm 0.1.0 meter:3f2a9c1b"


class Clock:
    def __init__(self, t=1795000000000):
        self.t = t

    def __call__(self):
        self.t += 1000
        return self.t


def trail(tmp_path, capacity=1000, name="t.db") -> AuditTrail:
    return AuditTrail(tmp_path / name, DEVICE_KEY, SID, Clock(), capacity)


def filled(tmp_path, n=12) -> AuditTrail:
    a = trail(tmp_path)
    for i in range(n):
        a.append("k_changed", "K", str(1000 + i), str(1001 + i), actor="technician:T-17")
    return a


# A fixed sample trail for the property tests (hypothesis reuses it across examples).
_SAMPLE: list[dict] = []


def sample_records() -> list[dict]:
    if not _SAMPLE:
        conn = sqlite3.connect(":memory:", isolation_level=None)
        a = AuditTrail(conn, DEVICE_KEY, SID, Clock())
        for i in range(8):
            a.append("tariff_installed", "GZ-2026A", None if i == 0 else "a" * 8, "b" * 8, "技术员")
        _SAMPLE.extend(a.records())
    return copy.deepcopy(_SAMPLE)


def test_records_hold_every_field_and_verify(tmp_path):
    a = filled(tmp_path, 3)
    recs = a.records()
    assert [r["counter"] for r in recs] == [1, 2, 3]
    assert recs[0]["prev"] == audit_mod.GENESIS and recs[1]["prev"] == recs[0]["hash"]
    assert recs[2]["event"] == "k_changed" and recs[2]["old"] == "1002" and recs[2]["new"] == "1003"
    assert recs[2]["actor"] == "technician:T-17" and recs[2]["software_id"] == SID
    verdict = a.verify(DEVICE_KEY.public_key())
    assert verdict.ok and verdict.count == 3, verdict.reason


def test_database_is_wal_and_records_survive_reopening(tmp_path):
    a = filled(tmp_path, 4)
    a.close()
    b = trail(tmp_path)
    assert b.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert b.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert b.count() == 4 and b.verify().ok
    assert b.append("power_on")["counter"] == 5


def test_database_refuses_to_rewrite_or_delete_records(tmp_path):
    a = filled(tmp_path, 3)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        a.conn.execute("UPDATE audit_record SET new = 'x' WHERE counter = 2")
    with pytest.raises(sqlite3.DatabaseError, match="archived"):
        a.conn.execute("DELETE FROM audit_record WHERE counter = 3")
    assert a.verify().ok and a.count() == 3


def test_bad_values_are_refused_and_nothing_is_written(tmp_path):
    a = filled(tmp_path, 1)
    for args in [("",), ("x", 1.5), ("x", None, None, None, "")]:
        with pytest.raises(AuditError):
            a.append(*args)
    assert a.count() == 1


def test_verifier_finds_the_edited_record_in_the_database(tmp_path):
    a = filled(tmp_path, 6)
    a.conn.execute("DROP TRIGGER audit_record_no_update")  # an attacker with the database file
    a.conn.execute("UPDATE audit_record SET new = '999' WHERE counter = 4")
    verdict = a.verify()
    assert not verdict.ok and verdict.first_bad == 4
    assert "record #4" in str(verdict) and "altered" in verdict.reason


def test_verifier_finds_a_removed_record(tmp_path):
    recs = filled(tmp_path, 6).records()
    del recs[2]
    verdict = verify_records(recs, DEVICE_KEY.public_key())
    assert not verdict.ok and verdict.first_bad == 3


def test_verifier_finds_reordered_records(tmp_path):
    recs = filled(tmp_path, 6).records()
    recs[3], recs[4] = recs[4], recs[3]
    verdict = verify_records(recs, DEVICE_KEY.public_key())
    assert not verdict.ok and verdict.first_bad == 4


def test_a_rechained_forgery_fails_on_the_signature(tmp_path):
    """Someone recomputes hashes after an edit but has no device key."""
    recs = filled(tmp_path, 5).records()
    recs[1]["new"] = "5000"
    for i in range(1, len(recs)):
        recs[i]["prev"] = recs[i - 1]["hash"]
        recs[i]["hash"] = audit_mod.record_hash(recs[i])
    verdict = verify_records(recs, DEVICE_KEY.public_key())
    assert not verdict.ok and verdict.first_bad == 2 and "signature" in verdict.reason


def test_another_device_key_does_not_verify(tmp_path):
    verdict = verify_records(filled(tmp_path, 2).records(), keys.generate().public_key())
    assert not verdict.ok and verdict.first_bad == 1


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_changed_field_value_is_detected_and_named(data):
    recs = sample_records()
    i = data.draw(st.integers(0, len(recs) - 1))
    field = data.draw(st.sampled_from(sorted(audit_mod.RECORD_KEYS)))
    old = recs[i][field]
    if isinstance(old, int):
        new = data.draw(st.integers(-2**40, 2**40).filter(lambda v: v != old))
    else:
        new = data.draw(st.one_of(st.none(), st.text(max_size=70)).filter(lambda v: v != old))
    recs[i][field] = new
    verdict = verify_records(recs, DEVICE_KEY.public_key())
    assert not verdict.ok
    assert verdict.first_bad == i + 1, verdict.reason  # the sample counts from 1


def test_full_trail_reports_full_but_keeps_recording(tmp_path):
    a = trail(tmp_path, capacity=3)
    for _ in range(3):
        a.append("power_on")
    assert a.full
    a.append("power_dip")  # events are never dropped; the lock is the Seal's business
    assert a.count() == 4 and a.verify().ok


def test_acknowledgement_archives_the_exported_part_and_the_chain_continues(tmp_path):
    a = trail(tmp_path, capacity=5)
    for i in range(5):
        a.append("k_changed", "K", str(i), str(i + 1))
    exported = a.records()
    a.append("power_off")  # written after the export, before the acknowledgement
    ack = a.acknowledge(exported[-1]["counter"], exported[-1]["hash"], "inspector")
    assert ack["counter"] == 7 and ack["new"] == f"5:{exported[-1]['hash']}" and ack["old"] == "1..5"
    assert not a.full and [r["counter"] for r in a.records()] == [6, 7]
    assert a.anchor() == {"counter": 5, "hash": exported[-1]["hash"]}
    nxt = a.append("power_on")
    assert nxt["counter"] == 8
    assert a.verify().ok
    # the inspector's export plus what is left on the device form one unbroken chain
    assert verify_records(exported + a.records(), DEVICE_KEY.public_key()).ok


def test_anchor_without_a_signed_acknowledgement_is_rejected(tmp_path):
    a = filled(tmp_path, 6)
    recs = a.records()
    # someone deletes the oldest records and plants an anchor
    verdict = verify_records(recs[3:], DEVICE_KEY.public_key(), {"counter": 3, "hash": recs[2]["hash"]})
    assert not verdict.ok and "acknowledgement" in verdict.reason


def test_acknowledging_a_record_that_is_not_there_changes_nothing(tmp_path):
    a = filled(tmp_path, 3)
    with pytest.raises(AuditError, match="another hash"):
        a.acknowledge(2, "0" * 64, "inspector")
    with pytest.raises(AuditError, match="not in the trail"):
        a.acknowledge(9, "0" * 64, "inspector")
    assert a.count() == 3 and a.anchor() is None


def test_single_use_nonce_is_spent_once_even_across_archiving(tmp_path):
    a = filled(tmp_path, 2)
    a.use_nonce("n1", "authorisation_used", "set_k", "technician:T-17")
    with pytest.raises(AuditError, match="already used"):
        a.use_nonce("n1", "authorisation_used", "set_k", "technician:T-17")
    last = a.records()[-1]
    a.acknowledge(last["counter"], last["hash"], "inspector")
    assert a.nonce_used("n1")


def test_append_joins_the_callers_transaction(tmp_path):
    a = filled(tmp_path, 1)
    a.conn.execute("BEGIN IMMEDIATE")
    a.append("k_changed", "K", "1", "2")
    a.conn.execute("ROLLBACK")  # the change it documents was rolled back: so is the record
    assert a.count() == 1
