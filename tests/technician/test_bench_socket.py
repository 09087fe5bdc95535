"""The bench's control socket on its own: the pins it drives, what it refuses, who may use it."""

import json
import queue
import socket
import stat

import pytest
from gpiozero.pins.mock import MockFactory

from board.profiles import load_board
from drivers.keys import DriverKeys
from drivers.sense import seal_switch
from terminal.app.bench_socket import BenchError, BenchPins, BenchSocket, bind_private


def ask(path, message) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(5)
        conn.connect(str(path))
        conn.sendall((message if isinstance(message, bytes) else json.dumps(message).encode()) + b"\n")
        return json.loads(conn.makefile("rb").readline())


@pytest.fixture
def wired(tmp_path):
    profile = load_board("sim")
    factory = MockFactory()
    events: queue.Queue = queue.Queue()
    clock = iter(range(0, 10**9, 500)).__next__
    keys = DriverKeys(profile.keys, events, clock, factory)
    seal = seal_switch(profile.inputs["seal"], events, clock, factory)
    bench = BenchSocket(tmp_path / "run" / "bench.sock",
                        BenchPins(factory, profile.keys, profile.inputs, lambda: 1000, sleep=lambda s: None)).start()
    yield bench, events, factory, profile
    bench.close()
    keys.close()
    seal.close()


def drain(events) -> list:
    out = []
    while not events.empty():
        out.append(events.get())
    return out


def test_a_key_request_is_a_key_event_from_the_pin(wired):
    bench, events, factory, profile = wired
    assert [(e.kind, e.data) for e in drain(events)] == [("seal", {"closed": True})]    # wired up: sealed
    assert stat.S_IMODE(bench.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bench.path.parent.stat().st_mode) == 0o700
    assert ask(bench.path, {"action": "key", "key": "hire"})["ok"]
    assert [(e.kind, e.data) for e in drain(events)] == [("key", {"key": "hire", "long": False})]
    assert ask(bench.path, {"action": "seal", "state": "open"})["ok"]
    assert [(e.kind, e.data) for e in drain(events)] == [("seal", {"closed": False})]
    assert factory.pin(profile.inputs["seal"]).state is True      # open: the pull-up holds it high


def test_bad_requests_are_refused_and_change_nothing(wired):
    bench, events, _, _ = wired
    drain(events)
    for bad, says in ((b"not json", "Expecting value"), (b"[1]", "one JSON object"),
                      ({"action": "key", "key": "horn"}, "unknown key 'horn'"),
                      ({"action": "key", "key": "hire", "hold_s": -1}, "hold_s must be"),
                      ({"action": "drive", "kmh": 900, "seconds": 1}, "kmh must be"),
                      ({"action": "seal", "state": "ajar"}, "seal takes close or open"),
                      ({"action": "fly"}, "unknown action 'fly'")):
        answer = ask(bench.path, bad)
        assert not answer["ok"] and says in answer["error"], answer
    assert drain(events) == []
    assert ask(bench.path, {"action": "ping"})["ok"]     # still serving


def test_drive_sends_k_pulses_per_km(wired):
    bench, _, _, _ = wired
    answer = ask(bench.path, {"action": "drive", "kmh": 72, "seconds": 0.5})    # 10 m at K = 1000
    assert answer["ok"] and answer["pulses"] == 10


def test_a_live_socket_is_not_taken_over_and_a_stale_one_is_replaced(wired, tmp_path):
    bench, _, _, _ = wired
    with pytest.raises(BenchError, match="in use"):
        bind_private(bench.path)
    stale = tmp_path / "stale" / "bench.sock"
    stale.parent.mkdir()
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))
    leftover.close()                     # a socket file nobody listens on: what a killed terminal leaves
    bind_private(stale).close()
    plain = tmp_path / "stale" / "file"
    plain.write_text("x")
    with pytest.raises(BenchError, match="not a socket"):
        bind_private(plain)


def test_sign_and_printer_emulators_have_commands(tmp_path):
    import subprocess
    import sys

    import serial

    from drivers.sign_frame import FrameDecoder, encode, state_frame

    sign = subprocess.Popen([sys.executable, "-m", "terminal", "emulate", "sign"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    printer = subprocess.Popen([sys.executable, "-m", "terminal", "emulate", "printer", "--out",
                                str(tmp_path / "receipts")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with serial.serial_for_url(sign.stdout.readline().strip(), timeout=2) as port:
            port.write(encode(state_frame("occupied")))
            answer = port.read(8)
            assert list(FrameDecoder().feed(answer + port.read(port.in_waiting)))       # acknowledged
        with serial.serial_for_url(printer.stdout.readline().strip(), timeout=2) as port:
            port.write(b"\x10\x04\x01")                     # DLE EOT 1: printer status
            assert port.read(1) == b"\x12"                  # online, nothing wrong
    finally:
        for proc in (sign, printer):
            proc.terminate()
            assert proc.wait(timeout=10) == 0
    assert "sign shows occupied" in sign.stderr.read()


def test_the_evaluator_emulator_is_a_command_that_rates_the_trip_it_is_asked_about():
    import subprocess
    import sys

    import serial

    from drivers import evaluator_codec as ev
    from drivers import meter_link_codec as ml
    from drivers.peripheral_frame import FrameDecoder, encode

    evaluator = subprocess.Popen([sys.executable, "-m", "terminal", "emulate", "evaluator", "--ratings", "3",
                                  "--delay-s", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with serial.serial_for_url(evaluator.stdout.readline().strip(), timeout=0.5) as port:
            port.write(encode(ev.frame(ev.CMD_ASK, ml.DOWN, {"trip_no": 7, "timeout_s": 30})))
            decoder, seen = FrameDecoder(), []
            for _ in range(20):
                seen += [ev.parse(f, ml.UP) for f in decoder.feed(port.read(64))]
                if any(command == ev.CMD_RATING for command, _ in seen):
                    break
        assert seen[0] == (ev.CMD_ASK, {"result": ml.RESULT_OK})
        rating = next(values for command, values in seen if command == ev.CMD_RATING)
        assert rating["trip_no"] == 7 and rating["rating"] == 3
    finally:
        evaluator.terminate()
        assert evaluator.wait(timeout=10) == 0
    bad = subprocess.run([sys.executable, "-m", "terminal", "emulate", "evaluator", "--ratings", "5"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "ratings are numbers 0-3" in bad.stderr


def test_closing_the_socket_ends_its_thread_and_removes_the_file(tmp_path):
    """The accept blocks (no timed polling while nobody uses the bench); close() still ends it."""
    from terminal.app.bench_socket import JsonLineServer
    server = JsonLineServer(tmp_path / "s.sock", lambda request: {}, "bench-test").start()
    assert ask(tmp_path / "s.sock", {"x": 1}) == {"ok": True}
    server.close()
    assert not server._thread.is_alive()
    assert not (tmp_path / "s.sock").exists()
