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


def test_identity_names_the_tariff_in_force_or_its_absence(state, capsys):
    """README: identity shows the SHA-256 of the code and the tariff. Before: only 8 hex of the tariff,
    and nothing at all on a terminal with no tariff, which cannot hire."""
    import shutil

    assert main(["identity", "--state", str(state.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    digest = lines[0].split("tariff:")[1]
    tariff_line = next(line for line in lines if line.startswith("tariff "))
    assert tariff_line.split()[1].startswith(digest) and len(tariff_line.split()[1]) == 64
    shutil.rmtree(state.tariffs)
    state.tariffs.mkdir()
    main(["identity", "--state", str(state.root)])
    assert "tariff       none in force: the terminal cannot hire (taxiterm tariff install FILE)" in \
        capsys.readouterr().out.splitlines()
