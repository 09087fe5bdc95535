"""`taxiterm bench up` given the wrong folder: refused before any emulator, broker or key is made."""

import os
import signal
import threading

import pytest

from terminal.cli import main


@pytest.fixture(autouse=True)
def ctrl_c_if_it_comes_up():
    """A bench that wrongly comes up runs until Ctrl-C: send it one, so the test fails instead of hanging."""
    timer = threading.Timer(15, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    yield
    timer.cancel()


def test_bench_up_with_a_state_that_is_not_provisioned_does_not_provision_it(tmp_path, capsys, monkeypatch):
    """Before: `--state dev` (the folder of the vendor's and authority's keys) got a development
    device, its keys and the demo tariff written into it, and the bench came up on it."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    keys_folder = tmp_path / "dev"
    keys_folder.mkdir()
    (keys_folder / "vendor.pub").write_text("a key\n")
    assert main(["bench", "up", "--state", str(keys_folder), "--dir", str(tmp_path / "bench")]) == 2
    err = capsys.readouterr().err
    assert err == (f"taxiterm: bench up: --state {keys_folder} is not a provisioned state directory (leave --state "
                   "out for a new development one in --dir)\n")
    assert sorted(p.name for p in keys_folder.iterdir()) == ["vendor.pub"]
    assert not (tmp_path / "bench").exists()


def test_bench_up_with_a_bad_id_or_a_file_for_dir_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    for argv, said in ((["--id", "bad id", "--dir", str(tmp_path / "b1")], "--id must be 1-64 of A-Z a-z 0-9 _ . -"),
                       (["--dir", str(a_file)], f"--dir {a_file} is a file, not a folder")):
        assert main(["bench", "up", *argv]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.startswith(f"taxiterm: bench up: {said}"), err
    assert not (tmp_path / "b1").exists() and a_file.read_text() == "x"


def test_a_fresh_empty_state_directory_is_taken_as_the_package_makes_it(tmp_path):
    """The Debian package creates /var/lib/taxiterm empty, and `bench up --state /var/lib/taxiterm`
    is how a first installation is tried (packaging/ci-check.sh): an empty folder is a new state
    directory, a provisioned one is used as it is, anything else is refused."""
    from sim.commands.bench_up import _usable_state
    from sim.provision import provision_state

    empty = tmp_path / "empty"
    empty.mkdir()
    assert _usable_state(str(empty))
    provision_state(tmp_path / "state")
    assert _usable_state(str(tmp_path / "state"))
    keys_folder = tmp_path / "dev"
    keys_folder.mkdir()
    (keys_folder / "vendor.pub").write_text("a key\n")
    assert not _usable_state(str(keys_folder))
    assert not _usable_state(str(tmp_path / "no-such-folder"))
