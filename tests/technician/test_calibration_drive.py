"""The calibration drive as a technician gets it wrong: Ctrl-C in the middle (one line, the shell's
status 130, no traceback, no K stored), a wrong path or course found before the drive, not after."""

import io

from terminal.cli import main
from tests.technician.conftest import audit_records, write_authorisation


class CtrlCAtTheFinishLine(io.StringIO):
    """The technician presses Enter at the start line, then Ctrl-C while driving the course."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = 0

    def readline(self, *args) -> str:
        self.lines += 1
        if self.lines == 2:
            raise KeyboardInterrupt
        return "\n"


def _on_the_bench(state, tmp_path):
    """A sim-board configuration whose kernel pulse counter reads 5000, and a set_k authorisation."""
    count = tmp_path / "count"
    count.write_text("5000\n")
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{state.root}"\n[board]\npulse_counter = "{count}"\n')
    return config, write_authorisation(state, tmp_path / "auth.json", actions=("set_k",))


def test_ctrl_c_while_driving_the_calibration_course_stores_no_k(state, tmp_path, monkeypatch, capsys):
    config, auth = _on_the_bench(state, tmp_path)
    before = audit_records(state)
    monkeypatch.setattr("sys.stdin", CtrlCAtTheFinishLine())
    assert main(["calibrate", "--board", "sim", "--config", str(config), "--authorisation", auth]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "taxiterm: interrupted"
    assert audit_records(state) == before


class NobodyDrives(io.StringIO):
    def readline(self, *args) -> str:
        raise AssertionError("the technician was sent to drive the course")


def test_a_wrong_path_or_course_is_refused_before_the_technician_drives(state, tmp_path, monkeypatch, capsys):
    config, auth = _on_the_bench(state, tmp_path)
    monkeypatch.setattr("sys.stdin", NobodyDrives())
    on_board = ["calibrate", "--board", "sim", "--config", str(config)]
    for argv, said in ((on_board + ["--authorisation", str(tmp_path / "auht.json")], "cannot read authorisation"),
                       (on_board + ["--state", str(tmp_path / "nowhere")], "not a provisioned state directory"),
                       (on_board + ["--authorisation", auth, "--distance-m", "100"], "the course must be 1000..100000 m")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert said in err and "START" not in err, err
