"""`taxiterm provision device` refused: nothing of the device may exist afterwards, because a device is
provisioned once -- a half-provisioned directory could never be finished."""

import pytest

from terminal.cli import main


@pytest.fixture
def keys_and_manifest(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for role in ("vendor", "authority"):
        assert main(["keys", "gen", f"dev/{role}"]) == 0
    assert main(["identity", "--seal", "dev/vendor.key", "--out", "manifest.json"]) == 0
    capsys.readouterr()
    return ["--device-id", "TX-0001", "--vendor-key", "dev/vendor.pub", "--authority-key", "dev/authority.pub",
            "--manifest", "manifest.json", "--dev-file-key"]


@pytest.mark.parametrize("key, said", [("dev/authority.key", "the certifying key is not the vendor key"),
                                       ("dev/vendr.key", "cannot read private key dev/vendr.key")])
def test_a_wrong_certifying_key_leaves_no_device_behind(key, said, keys_and_manifest, tmp_path, capsys):
    """Before: the device key, device.json and the role keys were written, then the certificate was
    refused: no manifest, no audit record, and 'already provisioned' on every retry."""
    assert main(["provision", "device", "--state", "state", *keys_and_manifest, "--certify-with", key]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
    assert main(["provision", "device", "--state", "state", *keys_and_manifest,
                 "--certify-with", "dev/vendor.key"]) == 0
    assert (tmp_path / "state" / "keys" / "device.cert").exists()


def test_a_state_path_that_is_a_file_or_under_one_is_one_line(keys_and_manifest, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("x")
    for state, said in (("notes.txt", "notes.txt is a file, not a state directory"),
                        ("notes.txt/state", "cannot make the state directory notes.txt/state")):
        assert main(["provision", "device", "--state", state, *keys_and_manifest]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.startswith(f"taxiterm: {said}"), err
    assert (tmp_path / "notes.txt").read_text() == "x"


def test_a_token_that_cannot_be_used_leaves_no_empty_state_folder(keys_and_manifest, tmp_path, capsys):
    """Before: state/keys/ stayed behind, empty, after 'cannot load PKCS#11 module'."""
    pin = tmp_path / "pin"
    pin.write_text("1234")
    pin.chmod(0o600)
    argv = [a for a in keys_and_manifest if a != "--dev-file-key"]
    assert main(["provision", "device", "--state", "state", *argv, "--pkcs11-module", str(tmp_path / "nowhere.so"),
                 "--token-label", "TX-0001", "--pin-file", str(pin)]) == 2
    assert "cannot load PKCS#11 module" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
