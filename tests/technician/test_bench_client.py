"""`taxiterm bench ...` as an outsider uses it: what it prints, and what it leaves alone when it fails."""


import pytest
from gpiozero.pins.mock import MockFactory

from board.profiles import load_board
from terminal.app.bench_socket import BenchPins, BenchSocket
from terminal.cli import main


@pytest.fixture
def terminal_socket(tmp_path, monkeypatch):
    monkeypatch.setenv("TAXITERM_BENCH_DEVICES", str(tmp_path / "no-bench-up.sock"))   # not someone else's bench
    profile = load_board("sim")
    bench = BenchSocket(tmp_path / "run" / "bench.sock",
                        BenchPins(MockFactory(), profile.keys, profile.inputs, lambda: 1000,
                                  sleep=lambda s: None)).start()
    yield bench.path
    bench.close()


def test_bench_ping_shows_k_and_the_pulses_sent_as_documented(terminal_socket, capsys):
    assert main(["bench", "--socket", str(terminal_socket), "ping"]) == 0
    assert capsys.readouterr().out == "bench ready: K 1000 pulses/km, 0 pulses sent\n"
    assert main(["bench", "--socket", str(terminal_socket), "drive", "--kmh", "36", "--seconds", "1"]) == 0
    capsys.readouterr()
    assert main(["bench", "--socket", str(terminal_socket), "ping"]) == 0
    assert capsys.readouterr().out == "bench ready: K 1000 pulses/km, 10 pulses sent\n"
