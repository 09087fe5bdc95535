"""Provisioning: the device key is made once, kept private, and the role keys and manifest installed."""

import pytest

from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.trust import identity, keys, signing

from .conftest import key_mode


def test_provisioned_state_has_a_private_device_key_and_the_role_keys(state, test_keys, capsys):
    # the device key is in the token: no key file, and the token refuses to give its value out
    assert not state.device_key_path.exists() and key_mode(state.keys) == 0o700
    assert state.key_store() == "pkcs11"
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    signer = state.device_key()
    signer.public_key()
    private = signer._private
    assert private[Attribute.EXTRACTABLE] is False and private[Attribute.SENSITIVE] is True
    with pytest.raises(pkcs11.exceptions.AttributeSensitive):
        private[Attribute.VALUE]
    assert private.object_class == ObjectClass.PRIVATE_KEY
    assert signing.key_id(state.role_key("vendor")) == signing.key_id(test_keys.vendor.public_key())
    assert signing.key_id(state.role_key("authority")) == signing.key_id(test_keys.authority.public_key())
    assert state.device_id() == "TX-0001" and state.audit_capacity() == 1000
    assert main(["provision", "public-key", "--state", str(state.root)]) == 0
    pem = capsys.readouterr().out.encode()
    assert signing.key_id(keys.parse_public(pem, "out")) == signing.key_id(state.device_key().public_key())
    audit = open_audit(state, "sid")
    assert [r["event"] for r in audit.records()] == ["provisioned", "key_installed", "key_installed",
                                                     "key_installed"]
    assert audit.records()[-1]["old"] == "pkcs11"
    assert audit.verify(state.device_public()).ok
    audit.close()


def test_a_device_is_provisioned_once(state, test_keys, capsys):
    key_before = state.device_pub_path.read_bytes()
    assert main(["provision", "device", "--state", str(state.root), "--device-id", "TX-0002", "--dev-file-key",
                 "--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]) == 2
    assert "already provisioned" in capsys.readouterr().err
    assert state.device_pub_path.read_bytes() == key_before and state.device_id() == "TX-0001"


def test_a_file_key_is_development_only_and_says_so(tmp_path, test_keys, capsys):
    st = tmp_path / "dev"
    assert main(["provision", "device", "--state", str(st), "--device-id", "TX-9", "--dev-file-key",
                 "--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]) == 0
    assert "DEVELOPMENT file key" in capsys.readouterr().err
    assert keys.DeviceState(st).key_store() == "file-development"
    assert main(["provision", "device", "--state", str(tmp_path / "none"), "--device-id", "TX-9",
                 "--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub")]) == 2


@pytest.mark.parametrize("problem", ["manifest by another key", "small capacity", "bad device id", "not a key"])
def test_provisioning_refuses_bad_input_and_creates_nothing(tmp_path, test_keys, capsys, problem):
    manifest = tmp_path / "m.json"
    signer = test_keys.other if problem == "manifest by another key" else test_keys.vendor
    manifest.write_bytes(identity.seal_manifest(signer, identity.make_manifest(identity.default_code_root(),
                                                                               "0.1.0", 1)))
    args = ["provision", "device", "--state", str(tmp_path / "st"), "--device-id", "TX/1" if problem ==
            "bad device id" else "TX-1", "--vendor-key", test_keys.path("vendor.key" if problem == "not a key"
                                                                        else "vendor.pub"),
            "--authority-key", test_keys.path("authority.pub"), "--manifest", str(manifest), "--dev-file-key"]
    if problem == "small capacity":
        args += ["--audit-capacity", "10"]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("taxiterm: ")
    assert not (tmp_path / "st" / "keys" / "device.key").exists()


def test_keys_gen_makes_a_pair_and_never_overwrites(tmp_path, capsys):
    prefix = tmp_path / "dev"
    assert main(["keys", "gen", str(prefix)]) == 0
    assert key_mode(tmp_path / "dev.key") == 0o600
    key_id = signing.key_id(keys.load_private(tmp_path / "dev.key").public_key())
    assert key_id in capsys.readouterr().out
    assert main(["keys", "gen", str(prefix)]) == 2
    assert main(["keys", "show", str(tmp_path / "dev.pub")]) == 0
    assert capsys.readouterr().out.strip().endswith(key_id)


def test_commands_need_a_provisioned_state(tmp_path, capsys):
    assert main(["identity", "--state", str(tmp_path / "nothing")]) == 2
    assert "not a provisioned state directory" in capsys.readouterr().err
