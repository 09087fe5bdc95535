"""`taxiterm broker` as a platform operator uses it: a port out of range or a bad folder is one line."""

import pytest

from terminal.cli import main


@pytest.mark.parametrize("port", ["0", "99999", "-1"])
def test_a_port_out_of_range_is_refused_and_writes_nothing(port, tmp_path, capsys):
    broker = tmp_path / "broker"
    assert main(["broker", "init", str(broker), "--host", "h", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"taxiterm: --port {port}: must be 1..65535\n"
    assert not broker.exists()


def test_a_broker_folder_under_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["broker", "init", str(tmp_path / "file" / "broker"), "--host", "h"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("taxiterm: cannot write the broker configuration in")
