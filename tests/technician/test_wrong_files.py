"""A file of the wrong format where a command wants a configuration, an event file or a message:
one line naming the file, exit status 2, no traceback."""

import pytest

from terminal.cli import main

NOT_TEXT = bytes(range(256)) * 4            # a photo, a firmware image: not UTF-8


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(NOT_TEXT)
    return str(path)


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("taxiterm: ") and all(w in err for w in words), err
    return err


@pytest.mark.parametrize("argv", [
    ["run", "--board", "sim", "--config"],
    ["selftest", "--board", "sim", "--display-s", "0", "--config"],
    ["jt", "deregister", "--config"],
    ["calibrate", "--pulses", "4000", "--dry-run", "--config"],
])
def test_a_configuration_that_is_not_text(argv, binary, capsys):
    assert main(argv + [binary]) == 2
    one_line(capsys, binary, "not UTF-8 text")
