"""Software identification: the digest the brief defines, the sealed manifest, refusal of changed code."""

import hashlib
import json
import shutil

import pytest

from terminal.cli import main
from terminal.trust import identity, keys

VENDOR = keys.generate()


@pytest.fixture
def code(tmp_path):
    """A copy of the real legally relevant code."""
    root = tmp_path / "code"
    shutil.copytree(identity.default_code_root() / "meter", root / "meter",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def sealed(code, version="0.1.0", key=VENDOR) -> bytes:
    return identity.seal_manifest(key, identity.make_manifest(code, version, 1795000000000))


def test_digest_is_sha256_over_path_nul_length_nul_bytes_sorted(tmp_path):
    (tmp_path / "meter" / "sub").mkdir(parents=True)
    (tmp_path / "meter" / "b.py").write_bytes(b"B = 2\n")
    (tmp_path / "meter" / "a.py").write_bytes(b"A = 1\n")
    (tmp_path / "meter" / "sub" / "c.py").write_bytes(b"")
    (tmp_path / "meter" / "notes.txt").write_bytes(b"not code")
    (tmp_path / "meter" / "__pycache__").mkdir()
    (tmp_path / "meter" / "__pycache__" / "x.py").write_bytes(b"cache")
    expected = hashlib.sha256(b"meter/a.py\x006\x00A = 1\n" b"meter/b.py\x006\x00B = 2\n"
                              b"meter/sub/c.py\x000\x00").hexdigest()
    assert identity.meter_digest(tmp_path) == expected
    assert identity.software_id("0.1.0", expected) == f"taxiterm 0.1.0 meter:{expected[:8]}"


def test_sealed_code_verifies(code):
    status = identity.verify_identity(sealed(code), VENDOR.public_key(), code, tariff_digest="ab" * 32)
    assert status.ok, status.reason
    assert status.software_id == f"taxiterm 0.1.0 meter:{status.meter_digest[:8]}"
    assert status.display().endswith(" tariff:abababab")
    assert status.expected == status.meter_digest and len(status.checksum) == 64


def test_changed_code_is_refused_naming_the_file(code):
    manifest = sealed(code)
    victim = sorted((code / "meter").glob("*.py"))[-1]
    victim.write_bytes(victim.read_bytes() + b"\n# one more line\n")
    status = identity.verify_identity(manifest, VENDOR.public_key(), code)
    assert not status.ok and f"meter/{victim.name}" in status.reason
    assert status.meter_digest != status.expected and "NOT SEALED" in status.display()


def test_added_file_is_refused(code):
    manifest = sealed(code)
    (code / "meter" / "backdoor.py").write_text("FREE_RIDES = True\n")
    status = identity.verify_identity(manifest, VENDOR.public_key(), code)
    assert not status.ok and "meter/backdoor.py" in status.reason


@pytest.mark.parametrize("case", ["missing", "other key", "altered", "version"])
def test_bad_manifests_are_refused(code, case):
    manifest = sealed(code)
    key = VENDOR.public_key()
    if case == "missing":
        manifest = None
    elif case == "other key":
        key = keys.generate().public_key()
    elif case == "altered":
        doc = json.loads(manifest)
        doc["payload"]["meter_digest"] = identity.meter_digest(code)[::-1]
        manifest = json.dumps(doc).encode()
    else:
        manifest = sealed(code, version="0.0.9")
    status = identity.verify_identity(manifest, key, code)
    assert not status.ok and status.reason


def test_identity_command_prints_the_short_form_and_json(state, capsys):
    assert main(["identity", "--state", str(state.root)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("taxiterm 0.1.0 meter:")
    assert main(["identity", "--state", str(state.root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["meter_digest"] == identity.meter_digest()


def test_identity_command_exits_1_for_unsealed_code(state, code, capsys):
    (code / "meter" / "extra.py").write_text("X = 1\n")
    assert main(["identity", "--state", str(state.root), "--code-root", str(code)]) == 1
    assert "NOT SEALED" in capsys.readouterr().out


def test_vendor_seals_a_manifest_with_the_command(tmp_path, test_keys, code, capsys):
    out = tmp_path / "m.json"
    assert main(["identity", "--seal", test_keys.path("vendor.key"), "--code-root", str(code),
                 "--out", str(out)]) == 0
    assert identity.verify_identity(out.read_bytes(), test_keys.vendor.public_key(), code).ok


def test_identity_names_the_device_key_store(state, capsys):
    from terminal.cli import main
    main(["identity", "--state", str(state.root)])
    assert "device key   PKCS#11 token (non-extractable)" in capsys.readouterr().out
