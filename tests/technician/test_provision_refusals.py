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

