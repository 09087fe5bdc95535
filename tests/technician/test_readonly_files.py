"""Read-only commands on files, with no state directory: a tariff file, the code, an export."""

import pytest

from terminal.cli import main

DEMO = "sim/data/tariff-demo.toml"


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No provisioned state anywhere: $TAXITERM_STATE names an empty folder."""
    monkeypatch.setenv("TAXITERM_STATE", str(tmp_path / "no-state"))
    monkeypatch.chdir(__import__("pathlib").Path(__file__).resolve().parents[2])


def test_tariff_show_of_the_unsigned_demo_says_everything_in_words(nowhere, capsys):
    assert main(["tariff", "show", DEMO]) == 0
    out = capsys.readouterr().out
    assert "UNSIGNED" in out
    assert "night 23:00 to 05:00 (across midnight) every day: start fare 14.00 yuan, +20 %" in out
    assert "peak 07:00 to 09:00 and 17:00 to 19:00 on Monday to Friday" in out
    assert "until 2027-01-01 00:00, when DEMO-2027A takes over" in out
    assert "days [" not in out


def test_tariff_validate_without_a_key_reads_the_file_and_says_what_was_not_checked(nowhere, capsys, tmp_path):
    assert main(["tariff", "validate", DEMO]) == 0
    assert "UNSIGNED" in capsys.readouterr().out
    signed = tmp_path / "t.toml"
    signed.write_bytes(open(DEMO, "rb").read())
    (tmp_path / "t.toml.sig").write_text("not checked here\n")
    assert main(["tariff", "validate", str(signed)]) == 0
    assert "signature NOT CHECKED" in capsys.readouterr().out
    broken = tmp_path / "bad.toml"
    broken.write_text("[[tariff]\n")
    assert main(["tariff", "show", str(broken)]) == 2


def test_identity_of_code_on_disk_without_a_state_directory(nowhere, capsys):
    assert main(["identity", "--code", "."]) == 0
    out = capsys.readouterr().out
    assert out.startswith("taxiterm ") and "meter:" in out and "NOT CHECKED" in out


def test_tariff_list_shows_dates_and_identity_and_inspect_say_where_k_comes_from(tmp_path, capsys, monkeypatch):
    from sim.provision import provision_state

    state = provision_state(tmp_path / "state")
    monkeypatch.setenv("TAXITERM_STATE", str(state.root))
    assert main(["tariff", "list"]) == 0
    listed = capsys.readouterr().out
    assert "installed_ms" not in listed and " installed 20" in listed
    main(["identity"])
    assert "not calibrated under the seal" in capsys.readouterr().out
    assert main(["export", "--out", str(tmp_path / "export.json")]) == 0
    capsys.readouterr()
    monkeypatch.setenv("TAXITERM_STATE", str(tmp_path / "elsewhere"))
    keys = state.root / "keys"
    assert main(["inspect", str(tmp_path / "export.json"), "--vendor-key", str(keys / "vendor.pub"),
                 "--authority-key", str(keys / "authority.pub"), "--device-key", str(keys / "device.pub")]) == 0
    assert any(line.startswith("K ") and "not calibrated under the seal" in line
               for line in capsys.readouterr().out.splitlines())
