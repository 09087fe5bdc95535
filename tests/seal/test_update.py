"""Updates: a vendor-signed bundle, verified before anything is touched, A/B with trial and rollback."""

import io
import json
import tarfile

import pytest

from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.update import bundle as update_bundle
from terminal.update import slots as update
from terminal.update.bundle import BundleError

HEALTHY = "#!/bin/sh\nexit 0\n"
BROKEN = "#!/bin/sh\necho 'meter does not start' >&2\nexit 3\n"


def release(tmp_path, version, check=HEALTHY, name=None):
    src = tmp_path / (name or f"src-{version}")
    (src / "meter").mkdir(parents=True)
    (src / "meter" / "__init__.py").write_text(f'"""meter {version}"""\n')
    (src / "bin").mkdir()
    (src / "bin" / "healthcheck").write_text(check)
    (src / "bin" / "healthcheck").chmod(0o755)
    (src / "VERSION").write_text(version + "\n")
    return src


def bundle(tmp_path, test_keys, version, check=HEALTHY, key=None, min_version="0.0.0"):
    out = tmp_path / f"taxiterm-{version}.tar.gz"
    update_bundle.build(release(tmp_path, version, check), version, key or test_keys.vendor, out,
                        min_version=min_version)
    return out


def run_update(state, root, path, capsys=None):
    code = main(["update", str(path), "--state", str(state.root), "--root", str(root),
                 "--health-check", "sh bin/healthcheck", "--timeout", "30"])
    return code


def events(state):
    audit = open_audit(state, "sid")
    try:
        return [r["event"] for r in audit.records() if r["event"].startswith("update_")]
    finally:
        audit.close()


def snapshot(root):
    """Everything under root: what a refused update must leave untouched."""
    if not root.exists():
        return {}
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = (p.readlink() if p.is_symlink() else
                                         p.read_bytes() if p.is_file() else "dir")
    return out


def test_build_then_install_commit_and_identity_travels(state, tmp_path, test_keys, capsys):
    root = tmp_path / "root"
    path = bundle(tmp_path, test_keys, "0.2.0")
    assert run_update(state, root, path) == 0
    captured = capsys.readouterr()
    assert "0.1.0 -> 0.2.0 (slot a), committed" in captured.out
    assert "100% verify" in captured.err and "[####" in captured.err  # the progress bar
    assert (root / "current").readlink().as_posix() == "slots/a"
    assert (root / "current" / "VERSION").read_text() == "0.2.0\n"
    assert not (root / update.STATE_FILE).exists()
    assert events(state) == ["update_started", "update_verified", "update_installed", "update_trial",
                             "update_committed"]
    # the slot carries its own sealed identity
    from terminal.trust import identity
    status = identity.verify_identity((root / "current" / "meter-manifest.json").read_bytes(),
                                      test_keys.vendor.public_key(), root / "current", version="0.2.0")
    assert status.ok, status.reason
    # the next update goes to the other slot
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.3.0")) == 0
    assert (root / "current").readlink().as_posix() == "slots/b"


def test_failing_health_check_rolls_back(state, tmp_path, test_keys, capsys):
    root = tmp_path / "root"
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.2.0")) == 0
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.3.0", BROKEN)) == 2
    err = capsys.readouterr().err
    assert "health check failed (exit status 3: meter does not start); rolled back to 0.2.0" in err
    assert (root / "current").readlink().as_posix() == "slots/a"
    assert (root / "current" / "VERSION").read_text() == "0.2.0\n"
    assert events(state)[-2:] == ["update_trial", "update_rolled_back"]
    assert not (root / update.STATE_FILE).exists()


@pytest.mark.parametrize("case, message", [
    ("downgrade", "not newer than the installed 0.2.0"),
    ("same version", "not newer"),
    ("bad signature", "does not verify"),
    ("wrong target", "is for target"),
    ("min version", "needs at least version 0.3.0"),
    ("truncated", "truncated"),
    ("altered file", "does not match the signed manifest"),
    ("extra file", "not listed in the signed manifest"),
    ("not a bundle", "not a readable tar archive"),
])
def test_bad_bundles_are_refused_before_anything_is_touched(state, tmp_path, test_keys, capsys, case, message):
    root = tmp_path / "root"
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.2.0")) == 0
    before = snapshot(root)
    if case == "downgrade":
        path = bundle(tmp_path, test_keys, "0.1.5")
    elif case == "same version":
        path = tmp_path / "again.tar.gz"
        update_bundle.build(release(tmp_path, "0.2.0", name="again"), "0.2.0", test_keys.vendor, path)
    elif case == "bad signature":
        path = bundle(tmp_path, test_keys, "0.3.0", key=test_keys.other)
    elif case == "wrong target":
        path = tmp_path / "t.tar.gz"
        update_bundle.build(release(tmp_path, "0.3.0"), "0.3.0", test_keys.vendor, path, target="other-board")
    elif case == "min version":
        path = bundle(tmp_path, test_keys, "0.4.0", min_version="0.3.0")
    elif case == "truncated":
        good = bundle(tmp_path, test_keys, "0.3.0")
        path = tmp_path / "cut.tar.gz"
        path.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    elif case in ("altered file", "extra file"):
        path = rewrite(bundle(tmp_path, test_keys, "0.3.0"), tmp_path / "x.tar.gz", case)
    else:
        path = tmp_path / "junk.tar.gz"
        path.write_bytes(b"\x1f\x8b this is not a bundle")
    assert run_update(state, root, path) == 2
    assert message in capsys.readouterr().err
    assert snapshot(root) == before
    assert events(state)[-1] == "update_refused"


def rewrite(src, dst, case):
    """Re-pack a bundle keeping its signed manifest, changing one file or adding one."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read()
            if case == "altered file" and member.name == "files/VERSION":
                data = b"9.9.9\n"
            member.size = len(data)
            tout.addfile(member, io.BytesIO(data))
        if case == "extra file":
            info = tarfile.TarInfo("files/meter/evil.py")
            info.size = 5
            tout.addfile(info, io.BytesIO(b"x = 1"))
    return dst


@pytest.mark.parametrize("cut", range(1, 20))
def test_every_truncation_point_is_refused(tmp_path, test_keys, cut):
    good = bundle(tmp_path, test_keys, "0.2.0")
    blob = good.read_bytes()
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(blob[: len(blob) * cut // 20])
    with pytest.raises(BundleError):
        update_bundle.verify(path, test_keys.vendor.public_key(), "0.1.0")


def test_interrupted_trial_is_rolled_back_at_start(state, tmp_path, test_keys, capsys):
    root = tmp_path / "root"
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.2.0")) == 0
    # power lost after the switch to slot b, before the health check answered
    slots = update.Slots(root)
    (root / "slots" / "b").mkdir()
    (root / update.STATE_FILE).write_text(json.dumps({"state": "trial", "from": "a", "to": "b",
                                                      "version": "0.3.0", "previous": "0.2.0"}))
    slots.switch("b")
    assert main(["update", "recover", "--state", str(state.root), "--root", str(root)]) == 0
    assert "rolled back to 0.2.0" in capsys.readouterr().out
    assert slots.active() == "a" and slots.trial() is None
    assert events(state)[-1] == "update_rolled_back"
    # and a new update is possible again
    assert run_update(state, root, bundle(tmp_path, test_keys, "0.3.0")) == 0


def test_build_and_verify_commands(tmp_path, test_keys, capsys):
    src = release(tmp_path, "1.0.0")
    out = tmp_path / "b.tar.gz"
    assert main(["update", "build", str(src), "--key", test_keys.path("vendor.key"), "--version", "1.0.0",
                 "--out", str(out)]) == 0
    assert "built" in capsys.readouterr().out
    assert main(["update", "verify", str(out), "--vendor-key", test_keys.path("vendor.pub"),
                 "--root", str(tmp_path / "none")]) == 0
    assert "valid, version 1.0.0" in capsys.readouterr().out
    assert main(["update", "build", str(src), "--key", test_keys.path("vendor.key"), "--version", "1.0",
                 "--out", str(out)]) == 2
    assert "MAJOR.MINOR.PATCH" in capsys.readouterr().err


def test_any_changed_byte_is_refused_or_leaves_the_signed_content_intact(tmp_path, test_keys):
    """Bytes outside the signed content (gzip/tar header times, padding) may change; nothing else may."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    good = bundle(tmp_path, test_keys, "0.2.0")
    blob = good.read_bytes()
    original = [(e["path"], data) for e, data in list(update_bundle.iterate(
        good, test_keys.vendor.public_key(), "0.1.0", "taxiterm"))[1:]]
    path = tmp_path / "flipped.tar.gz"

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, len(blob) - 1), st.integers(1, 255))
    def check(pos, mask):
        bad = bytearray(blob)
        bad[pos] ^= mask
        path.write_bytes(bytes(bad))
        try:
            stream = update_bundle.iterate(path, test_keys.vendor.public_key(), "0.1.0", "taxiterm")
            next(stream)
            got = [(e["path"], data) for e, data in stream]
        except BundleError:
            return
        assert got == original

    check()


def test_another_vendor_key_only_in_development_mode_and_audited(state, tmp_path, test_keys, capsys):
    root = tmp_path / "root"
    path = bundle(tmp_path, test_keys, "0.2.0", key=test_keys.other)
    args = ["update", str(path), "--state", str(state.root), "--root", str(root),
            "--vendor-key", test_keys.path("other.pub")]
    assert main(args) == 2
    assert "is not the provisioned vendor key" in capsys.readouterr().err
    assert not root.exists() or snapshot(root) == {}
    assert main(args + ["--development"]) == 0
    err = capsys.readouterr().err
    assert "health check" not in err          # none ran, none shown
    audit = open_audit(state, "sid")
    rec = next(r for r in audit.records() if r["event"] == "update_vendor_override")
    audit.close()
    from terminal.trust import keys, signing
    assert rec["new"] == signing.key_id(keys.load_public(test_keys.dir / "other.pub"))


def test_a_bundle_version_must_match_the_tree(tmp_path, test_keys):
    src = release(tmp_path, "0.3.0")
    (src / "terminal").mkdir()
    (src / "terminal" / "__init__.py").write_text('__version__ = "0.3.1"\n')
    with pytest.raises(BundleError, match="not the tree's own version 0.3.1"):
        update_bundle.build(src, "0.3.0", test_keys.vendor, tmp_path / "b.tar.gz")
    update_bundle.build(src, "0.3.1", test_keys.vendor, tmp_path / "b.tar.gz")
