"""Signed tariffs: only the authority's signature and the seal let a tariff in; dates and history are kept."""

import json

import pytest

from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.trust.signing import detached_signature
from terminal.trust.tariff_store import TariffStore

from .conftest import TARIFF_TOML, authorisation, now_ms, set_switch, signed_tariff, tariff_toml


def audit_events(state):
    audit = open_audit(state, "sid")
    try:
        return [(r["event"], r["parameter"]) for r in audit.records()]
    finally:
        audit.close()


def installed(state):
    return TariffStore(state.tariffs).entries()


def test_validate_and_show_a_signed_tariff(state, tmp_path, test_keys, capsys):
    path = signed_tariff(tmp_path, test_keys.authority)
    assert main(["tariff", "validate", str(path), "--state", str(state.root)]) == 0
    assert "valid, signed by the authority" in capsys.readouterr().out
    assert main(["tariff", "show", str(path), "--authority-key", test_keys.path("authority.pub")]) == 0
    out = capsys.readouterr().out
    assert "GZ-2026A" in out and "2.60 yuan/km" in out and "effective 2026-01-01 00:00" in out
    assert main(["tariff", "show", str(path), "--state", str(state.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tariffs"][0]["tariff_id"] == "GZ-2026A"


@pytest.mark.parametrize("case, message", [
    ("unsigned", "no signature file"),
    ("other key", "does not verify"),
    ("altered byte", "does not verify"),
    ("bad contents", "per_km_fen"),
    ("not toml", "not valid TOML"),
])
def test_bad_tariffs_are_rejected_and_nothing_changes(state, tmp_path, test_keys, capsys, case, message):
    set_switch(state, True)
    before = audit_events(state)
    data = tariff_toml()
    if case == "bad contents":
        data = data.replace(b"per_km_fen = 260", b"per_km_fen = -5")
    elif case == "not toml":
        data = b"[[tariff]\n"
    path = tmp_path / "t.toml"
    path.write_bytes(data)
    if case in ("other key", "altered byte"):
        sig_key = test_keys.other if case == "other key" else test_keys.authority
        path.with_name("t.toml.sig").write_bytes(detached_signature(sig_key, "tariff", data))
        if case == "altered byte":
            path.write_bytes(data.replace(b"1300", b"1200"))
    elif case in ("bad contents", "not toml"):
        path.with_name("t.toml.sig").write_bytes(detached_signature(test_keys.authority, "tariff", data))
    for command in ("validate", "install"):
        assert main(["tariff", command, str(path), "--state", str(state.root)]) == 2
        assert message in capsys.readouterr().err
    assert installed(state) == [] and audit_events(state) == before


def test_install_is_refused_without_the_seal_and_the_refusal_is_audited(state, tmp_path, test_keys, capsys):
    path = signed_tariff(tmp_path, test_keys.authority)
    assert main(["tariff", "install", str(path), "--state", str(state.root)]) == 2
    assert "seal switch is open" in capsys.readouterr().err
    assert installed(state) == []
    assert audit_events(state)[-1] == ("seal_refused", "install_tariff")


def test_install_with_the_seal_switch_closed(state, tmp_path, test_keys, capsys):
    set_switch(state, True)
    path = signed_tariff(tmp_path, test_keys.authority)
    assert main(["tariff", "install", str(path), "--state", str(state.root)]) == 0
    assert "installed GZ-2026A" in capsys.readouterr().out
    [entry] = installed(state)
    assert entry["tariff_ids"] == ["GZ-2026A"]
    assert (state.tariffs / entry["file"]).read_bytes() == path.read_bytes()
    # the install, then the index entry the chain fixes (file, bytes, schedule, first date)
    assert audit_events(state)[-2:] == [("tariff_installed", "GZ-2026A"), ("tariff_indexed", entry["file"])]
    assert main(["tariff", "install", str(path), "--state", str(state.root)]) == 2
    assert "already the installed one" in capsys.readouterr().err


def test_install_with_a_technician_authorisation_once(state, tmp_path, test_keys, capsys):
    auth = authorisation(test_keys.authority, tmp_path)
    first = signed_tariff(tmp_path, test_keys.authority)
    second = signed_tariff(tmp_path, test_keys.authority, tariff_toml("GZ-2026B", per_km=270), "b.toml")
    assert main(["tariff", "install", str(first), "--state", str(state.root), "--authorisation", str(auth)]) == 0
    assert "technician:T-17 via authorisation" in capsys.readouterr().out
    assert main(["tariff", "install", str(second), "--state", str(state.root), "--authorisation", str(auth)]) == 2
    assert "already used" in capsys.readouterr().err
    assert len(installed(state)) == 1


def test_authorisation_for_another_device_or_action_is_refused(state, tmp_path, test_keys, capsys):
    path = signed_tariff(tmp_path, test_keys.authority)
    for auth in (authorisation(test_keys.authority, tmp_path, device_id="TX-9999", name="a1.json"),
                 authorisation(test_keys.authority, tmp_path, actions=("set_k",), name="a2.json"),
                 authorisation(test_keys.other, tmp_path, name="a3.json")):
        assert main(["tariff", "install", str(path), "--state", str(state.root), "--authorisation", str(auth)]) == 2
        assert "refused" in capsys.readouterr().err
    assert installed(state) == []


def test_dated_activation_and_history(state, tmp_path, test_keys):
    set_switch(state, True)
    now = now_ms()
    old = signed_tariff(tmp_path, test_keys.authority, tariff_toml("OLD", "2020-01-01 00:00"), "old.toml")
    new = signed_tariff(tmp_path, test_keys.authority, tariff_toml("NEW", "2099-01-01 00:00", 300), "new.toml")
    assert main(["tariff", "install", str(old), "--state", str(state.root)]) == 0
    assert main(["tariff", "install", str(new), "--state", str(state.root)]) == 0
    store = TariffStore(state.tariffs)
    authority = test_keys.authority.public_key()
    assert store.active(now, authority)[0].id == "OLD"  # the new one waits for its date
    new_start = store.entries()[-1]["first_effective_ms"]
    assert store.active(new_start, authority)[0].id == "NEW"  # and switches by itself
    assert store.active(new_start - 1, authority)[0].id == "OLD"
    assert [e["tariff_ids"] for e in store.entries()] == [["OLD"], ["NEW"]]  # history kept


def test_a_tampered_installed_tariff_is_not_used(state, tmp_path, test_keys, capsys):
    set_switch(state, True)
    assert main(["tariff", "install", str(signed_tariff(tmp_path, test_keys.authority)), "--state",
                 str(state.root)]) == 0
    entry = installed(state)[0]
    stored = state.tariffs / entry["file"]
    stored.write_bytes(stored.read_bytes().replace(b"1300", b"1900"))
    with pytest.raises(ValueError, match="does not verify"):
        TariffStore(state.tariffs).active(now_ms(), test_keys.authority.public_key())
    assert main(["identity", "--state", str(state.root)]) == 1  # metering must refuse
    assert "installed tariff rejected" in capsys.readouterr().out


def test_a_failed_install_leaves_no_audit_record(state, tmp_path, test_keys, capsys):
    set_switch(state, True)
    state.tariffs.write_text("a file where the tariff directory should be")
    before = audit_events(state)
    assert main(["tariff", "install", str(signed_tariff(tmp_path, test_keys.authority)), "--state",
                 str(state.root)]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert audit_events(state) == before


def test_an_older_or_unnumbered_tariff_is_refused(state, tmp_path, test_keys, capsys):
    set_switch(state, True)
    newer = signed_tariff(tmp_path, test_keys.authority, tariff_toml(sequence=7), name="new.toml")
    older = signed_tariff(tmp_path, test_keys.authority, tariff_toml(per_km=250, sequence=6), name="old.toml")
    bare = signed_tariff(tmp_path, test_keys.authority, TARIFF_TOML.encode(), name="bare.toml")
    assert main(["tariff", "install", str(bare), "--state", str(state.root)]) == 2
    assert "no sequence number" in capsys.readouterr().err
    assert main(["tariff", "install", str(newer), "--state", str(state.root)]) == 0
    assert main(["tariff", "install", str(older), "--state", str(state.root)]) == 2
    assert "sequence 6 is not newer than the installed 7" in capsys.readouterr().err
    assert [e["sequence"] for e in installed(state)] == [7]


def test_show_says_how_waiting_is_charged_and_what_the_start_fare_covers():
    """A technician reading `tariff show` sees every element that changes the fare: free waiting,
    waiting charged only per whole unit, and (modes CN and S) waiting using the start fare's cover."""
    import tomllib

    from meter.tariff import parse_tariff
    from terminal.cli.commands._tariff_words import describe

    data = tomllib.loads(TARIFF_TOML.replace("unit_s = 60", 'unit_s = 300\nfree_s = 180\nunits = "whole"'))
    text = "\n".join(describe([parse_tariff(data["tariff"][0])]))
    assert "first 180 s of waiting in a trip are free" in text
    assert "only for each whole 300 s" in text
    assert "waiting uses it up as driving does" in text
    plain = "\n".join(describe([parse_tariff(tomllib.loads(TARIFF_TOML)["tariff"][0])]))
    assert "free" not in plain and "whole" not in plain
