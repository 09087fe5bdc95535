"""`taxiterm update` as a technician meets it: Ctrl-C in the middle of the trial puts the software
back at once (as `update recover` would at the next start); beside a running terminal it says that
terminal runs the old version until it is restarted."""

import terminal
from terminal.cli import main
from tests.technician.conftest import audit_records


def _bundle_9_0_0(state, tmp_path):
    """A signed update bundle of version 9.0.0, built as the vendor would."""
    release = tmp_path / "release" / "terminal"
    release.mkdir(parents=True)
    (release / "__init__.py").write_text('__version__ = "9.0.0"\n')
    bundle = tmp_path / "update.tar.gz"
    assert main(["update", "build", str(release.parent), "--key", str(state.root / "dev-keys" / "vendor.key"),
                 "--version", "9.0.0", "--out", str(bundle)]) == 0
    return bundle


def test_ctrl_c_during_an_updates_health_check_rolls_the_trial_back(state, tmp_path, monkeypatch, capsys):
    from terminal.update import slots

    bundle = _bundle_9_0_0(state, tmp_path)

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(slots, "_health_check", ctrl_c)
    root = tmp_path / "slots"
    capsys.readouterr()
    assert main(["update", str(bundle), "--state", str(state.root), "--root", str(root),
                 "--health-check", "true"]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"taxiterm: interrupted: interrupted trial of 9.0.0 rolled back to {terminal.__version__}\n"), err
    assert slots.Slots(root).trial() is None and not (root / "current").exists()
    assert [r["event"] for r in audit_records(state)][-1] == "update_rolled_back"


def test_update_beside_a_running_terminal_says_it_runs_the_old_version_until_restarted(state, tmp_path, capsys):
    from terminal.storage.run_lock import RunLock

    bundle = _bundle_9_0_0(state, tmp_path)
    running = RunLock(state.root)
    running.acquire()
    try:
        capsys.readouterr()
        assert main(["update", str(bundle), "--state", str(state.root), "--root", str(tmp_path / "slots")]) == 0
    finally:
        running.release()
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith(f"updated {terminal.__version__} -> 9.0.0")
    assert out[-1].startswith(f"a terminal is running on {state.root}")
    assert f"it runs {terminal.__version__} until it is restarted" in out[-1]
