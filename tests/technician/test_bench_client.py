"""`taxiterm bench ...` as an outsider uses it: what it prints, and what it leaves alone when it fails."""

import json
import socket
import threading

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


def test_bench_drive_without_a_running_terminal_does_not_start_the_bench_gnss(tmp_path, monkeypatch, capsys):
    """Before: the GNSS of `bench up` drove off at 40 km/h, then the command failed for want of a terminal."""
    devices = tmp_path / "bench-devices.sock"
    heard: list[dict] = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(devices))
    server.listen()
    server.settimeout(5)

    def answer() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as lines:
            line = lines.readline()
            if line:
                heard.append(json.loads(line))
                conn.sendall(b'{"ok": true, "detail": "gnss moving"}\n')

    listener = threading.Thread(target=answer, daemon=True)
    listener.start()
    monkeypatch.setenv("TAXITERM_BENCH_DEVICES", str(devices))
    try:
        assert main(["bench", "--socket", str(tmp_path / "no-terminal.sock"), "drive", "--kmh", "40",
                     "--seconds", "30"]) == 2
    finally:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as done:    # wake the listener: an empty request
            done.connect(str(devices))
        listener.join(5)
        server.close()
    err = capsys.readouterr().err
    assert err.startswith("taxiterm: no bench socket at") and err.count("\n") == 1
    assert heard == []


def test_a_long_key_hold_or_alarm_is_waited_for_not_timed_out(tmp_path, monkeypatch, capsys):
    """`bench key menu --hold 40` (holds up to 60 s are allowed) failed after 30 s with 'timed out'
    while the terminal went on holding the key: the wait is the hold plus a margin."""
    import terminal.cli.commands.bench as bench_command

    monkeypatch.setattr(bench_command, "ANSWER_MARGIN_S", 2.0)     # the hold below is longer than the margin
    monkeypatch.setenv("TAXITERM_BENCH_DEVICES", str(tmp_path / "no-bench-up.sock"))
    profile = load_board("sim")
    bench = BenchSocket(tmp_path / "run" / "bench.sock",
                        BenchPins(MockFactory(), profile.keys, profile.inputs, lambda: 1000)).start()
    try:
        assert main(["bench", "--socket", str(bench.path), "key", "menu", "--hold", "2.5"]) == 0
        assert main(["bench", "--socket", str(bench.path), "alarm", "--hold", "2.5"]) == 0
    finally:
        bench.close()
    assert "timed out" not in capsys.readouterr().err


class FakeBenchDevices:
    """The devices socket of `bench up`: records each request, answers ok."""

    def __init__(self, path) -> None:
        self.path, self.heard = path, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                line = lines.readline()
                if line:
                    self.heard.append(json.loads(line))
                    conn.sendall(b'{"ok": true, "detail": "ok"}\n')

    def close(self) -> None:
        self.server.close()


def test_ctrl_c_during_bench_drive_stops_the_car_and_the_bench_gnss(tmp_path, monkeypatch, capsys):
    """Before: Ctrl-C ended the command, but the terminal went on receiving pulses for the whole
    --seconds and the bench GNSS went on moving."""
    import os
    import signal
    import time

    devices = FakeBenchDevices(tmp_path / "bench-devices.sock")
    monkeypatch.setenv("TAXITERM_BENCH_DEVICES", str(devices.path))
    profile = load_board("sim")
    pins = BenchPins(MockFactory(), profile.keys, profile.inputs, lambda: 1000)
    bench = BenchSocket(tmp_path / "run" / "bench.sock", pins).start()
    ctrl_c = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    ctrl_c.start()
    try:
        assert main(["bench", "--socket", str(bench.path), "drive", "--kmh", "36", "--seconds", "30"]) == 130
        deadline = time.monotonic() + 10
        while pins._driving.locked() and time.monotonic() < deadline:     # the drive loop sees the halt
            time.sleep(0.01)
        sent = pins.pulses_sent
        time.sleep(0.3)
        assert pins.pulses_sent == sent and 0 < sent < 300      # 300: the whole 30 s drive at 10 pulses a second
        assert main(["bench", "--socket", str(bench.path), "drive", "--kmh", "36", "--seconds", "0.2"]) == 0
    finally:
        ctrl_c.cancel()
        bench.close()
        devices.close()
    assert [r["kmh"] for r in devices.heard if r["action"] == "gnss_drive"] == [36, 0, 36]
    assert capsys.readouterr().err.strip().endswith("taxiterm: interrupted")
