"""Ctrl-C in the middle of a command: one line and the shell's status 130, never a traceback, and
what the command had not finished is not stored."""

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


def test_ctrl_c_while_driving_the_calibration_course_stores_no_k(state, tmp_path, monkeypatch, capsys):
    count = tmp_path / "count"
    count.write_text("5000\n")
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{state.root}"\n[board]\npulse_counter = "{count}"\n')
    auth = write_authorisation(state, tmp_path / "auth.json", actions=("set_k",))
    before = audit_records(state)
    monkeypatch.setattr("sys.stdin", CtrlCAtTheFinishLine())
    assert main(["calibrate", "--board", "sim", "--config", str(config), "--authorisation", auth]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "taxiterm: interrupted"
    assert audit_records(state) == before
