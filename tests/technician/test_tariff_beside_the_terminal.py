"""`taxiterm tariff install` beside a running terminal: the terminal meters with the tariffs it read
at its start, so the command must not leave the technician believing the new one is charged now."""

from pathlib import Path

from terminal.cli import main
from terminal.storage.run_lock import RunLock
from tests.technician.conftest import write_authorisation

DEMO = Path(__file__).resolve().parents[2] / "sim" / "data" / "tariff-demo.toml"


def new_tariff(state, tmp_path) -> str:
    path = tmp_path / "tariff.toml"
    path.write_text("sequence = 1\n" + DEMO.read_text(encoding="utf-8").replace("per_km_fen = 260", "per_km_fen = 280"),
                    encoding="utf-8")
    assert main(["tariff", "sign", str(path), "--key", str(state.root / "dev-keys" / "authority.key")]) == 0
    return str(path)


def test_install_beside_a_running_terminal_says_it_applies_from_the_restart(state, tmp_path, capsys):
    tariff = new_tariff(state, tmp_path)
    auth = write_authorisation(state, tmp_path / "auth.json", actions=("install_tariff",))
    running = RunLock(state.root)
    running.acquire()                   # what `taxiterm run` holds while it lives
    try:
        capsys.readouterr()
        assert main(["tariff", "install", tariff, "--state", str(state.root), "--authorisation", auth]) == 0
    finally:
        running.release()
    out = capsys.readouterr().out
    assert "installed DEMO-2026A" in out
    assert out.splitlines()[-1].startswith(f"a terminal is running on {state.root}")
    assert "until it is restarted" in out


def test_install_with_no_terminal_running_says_nothing_of_a_restart(state, tmp_path, capsys):
    tariff = new_tariff(state, tmp_path)
    auth = write_authorisation(state, tmp_path / "auth.json", actions=("install_tariff",))
    capsys.readouterr()
    assert main(["tariff", "install", tariff, "--state", str(state.root), "--authorisation", auth]) == 0
    assert "restarted" not in capsys.readouterr().out
