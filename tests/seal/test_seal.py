"""The seal: legal changes only with the switch closed or a valid authorisation; refusals are audited."""

import sqlite3

import pytest

from terminal.trust import keys, seal
from terminal.trust.audit import AuditTrail

AUTHORITY = keys.generate()
DEVICE = keys.generate()
T0 = 1795000000000
HOUR = 3600_000


def auth(actions=("set_k",), device="TX-0001", start=T0 - HOUR, end=T0 + HOUR, single_use=True, key=AUTHORITY,
         nonce=None):
    return seal.make_authorisation(key, device, "T-17", list(actions), start, end, single_use, nonce)


@pytest.fixture
def trail():
    return AuditTrail(sqlite3.connect(":memory:", isolation_level=None), DEVICE, "sid", lambda: T0, capacity=1000)


def test_switch_closed_allows_every_legal_action():
    s = seal.Seal("TX-0001", AUTHORITY.public_key(), switch_closed=True)
    for action in seal.ACTIONS:
        d = s.decide(action, T0)
        assert d.allowed and d.via == "seal_switch"


def test_switch_open_without_authorisation_refuses():
    d = seal.Seal("TX-0001", AUTHORITY.public_key()).decide("set_k", T0)
    assert not d.allowed and "seal switch is open" in d.reason


def test_valid_authorisation_allows_its_actions_only():
    s = seal.Seal("TX-0001", AUTHORITY.public_key())
    d = s.decide("set_k", T0, auth())
    assert d.allowed and d.via == "authorisation" and d.actor == "technician:T-17"
    d = s.decide("install_tariff", T0, auth())
    assert not d.allowed and "does not allow install_tariff" in d.reason


@pytest.mark.parametrize("blob, reason", [
    (lambda: auth(device="TX-0002"), "not TX-0001"),
    (lambda: auth(start=T0 + 1, end=T0 + HOUR), "not valid yet"),
    (lambda: auth(start=T0 - 2 * HOUR, end=T0 - 1), "expired"),
    (lambda: auth(key=keys.generate()), "signed by key"),
    (lambda: auth().replace(b'"set_k"', b'"set_K"'), "signature does not verify"),
    (lambda: auth().replace(b"T-17", b"T-18"), "signature does not verify"),
    (lambda: b"{}\n", "not a signed envelope"),
    (lambda: b"\x00garbage", "not valid UTF-8 JSON"),
])
def test_bad_authorisations_are_refused(blob, reason):
    d = seal.Seal("TX-0001", AUTHORITY.public_key()).decide("set_k", T0, blob())
    assert not d.allowed and reason in d.reason


def test_the_authority_cannot_issue_a_window_longer_than_a_day():
    with pytest.raises(seal.AuthorisationError, match="24 hours"):
        auth(start=T0, end=T0 + 25 * HOUR)


def test_full_audit_trail_locks_everything_but_the_acknowledgement():
    s = seal.Seal("TX-0001", AUTHORITY.public_key(), switch_closed=True)
    assert not s.decide("install_tariff", T0, audit_full=True).allowed
    assert s.decide("audit_acknowledge", T0, audit_full=True).allowed


def test_require_audits_refusals_and_spends_single_use_authorisations(trail):
    s = seal.Seal("TX-0001", AUTHORITY.public_key())
    with pytest.raises(seal.SealRefused, match="set_k refused"):
        seal.require(s, trail, "set_k", T0, "K")
    refused = trail.records()[-1]
    assert refused["event"] == "seal_refused" and refused["parameter"] == "set_k"
    once = auth()
    seal.require(s, trail, "set_k", T0, "K", once)
    used = trail.records()[-1]
    assert used["event"] == "authorisation_used" and used["actor"] == "technician:T-17"
    with pytest.raises(seal.SealRefused, match="already used"):
        seal.require(s, trail, "set_k", T0, "K", once)
    assert trail.records()[-1]["event"] == "seal_refused"
    assert trail.verify().ok


def test_reusable_authorisation_works_repeatedly_inside_its_window(trail):
    s = seal.Seal("TX-0001", AUTHORITY.public_key())
    many = auth(single_use=False)
    for _ in range(3):
        assert seal.require(s, trail, "set_k", T0, "K", many).allowed
    assert [r["event"] for r in trail.records()] == ["authorisation_used"] * 3


def test_switch_changes_are_audited_and_read_back(trail):
    s = seal.Seal("TX-0001", AUTHORITY.public_key())
    assert not seal.switch_closed_from_audit(trail)
    assert seal.record_switch(s, trail, True, T0)["new"] == "closed"
    assert seal.record_switch(s, trail, True, T0 + 1) is None  # no change, no record
    assert seal.switch_closed_from_audit(trail)
    seal.record_switch(s, trail, False, T0 + 2)
    assert not seal.switch_closed_from_audit(trail)
    assert [(r["old"], r["new"]) for r in trail.records()] == [("open", "closed"), ("closed", "open")]


def test_clock_corrections_only_small_and_only_for_hire():
    assert seal.clock_correction_problem(30_000, "for_hire") is None
    assert "for hire" in seal.clock_correction_problem(30_000, "hired")
    assert "exceeds" in seal.clock_correction_problem(10 * 60_000, "for_hire")
