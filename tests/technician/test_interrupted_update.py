"""Ctrl-C in the middle of an update's trial: the terminal's software is put back at once, as
`update recover` would at the next start, and the command says so in one line."""

import terminal
from terminal.cli import main
from tests.technician.conftest import audit_records


def test_ctrl_c_during_an_updates_health_check_rolls_the_trial_back(state, tmp_path, monkeypatch, capsys):
    from terminal.update import slots

    release = tmp_path / "release" / "terminal"
    release.mkdir(parents=True)
    (release / "__init__.py").write_text('__version__ = "9.0.0"\n')
    bundle = tmp_path / "update.tar.gz"
    assert main(["update", "build", str(release.parent), "--key", str(state.root / "dev-keys" / "vendor.key"),
                 "--version", "9.0.0", "--out", str(bundle)]) == 0

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
