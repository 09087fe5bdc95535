"""Issue 11, what we want: 'the watchdog is fed only while the loop and its links are healthy'.

``taxiterm run``'s own loop (terminal/cli/commands/run.py) runs in this process with
$NOTIFY_SOCKET pointing at a datagram socket of the test, as systemd's would: READY=1,
then WATCHDOG=1 each second while healthy; none while the terminal's loop hangs; again
once it turns; STOPPING=1 on SIGTERM.
"""

import argparse
import os
import signal
import socket
import sys
import threading

import pytest

import terminal.app.runtime as runtime_module
from sim.broker import Broker
from terminal.app.runtime import configure_logging
from terminal.cli.commands import run as run_command
from tests.link.terminal_process import TID, TerminalProcess


@pytest.fixture
def broker():
    with Broker(terminals=(TID,)) as b:
        yield b


def test_the_watchdog_is_fed_only_while_the_loop_turns(tmp_path, broker, monkeypatch):
    car = TerminalProcess(tmp_path, broker)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setattr(runtime_module, "LOOP_STALL_S", 1.5)
    made = []

    class Runtime(runtime_module.Runtime):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(run_command, "Runtime", Runtime)
    heard: list[str] = []
    hung, release = threading.Event(), threading.Event()

    def systemd():
        """Listens as systemd would, hangs the loop after two pings, lets it go, then stops it."""
        try:
            while len([m for m in heard if m == "WATCHDOG=1"]) < 2:
                heard.append(notify.recv(64).decode())
            periodic = made[0].terminal.periodic

            def hang(now):
                hung.set()
                release.wait(60)
                periodic(now)

            made[0].terminal.periodic = hang
            hung.wait(30)
            heard.append("-- hung")
            notify.settimeout(2.5)      # the loop is stale 1.5 s after it hung: from then on no ping
            try:
                for _ in range(6):      # a terminal that kept feeding the watchdog ends this too
                    heard.append(notify.recv(64).decode())
            except TimeoutError:
                pass
            heard.append("-- released")
            made[0].terminal.periodic = periodic
            release.set()
            notify.settimeout(30)
            heard.append(notify.recv(64).decode())
        finally:
            release.set()
            os.kill(os.getpid(), signal.SIGTERM)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    listener = threading.Thread(target=systemd, daemon=True)
    try:
        listener.start()
        args = argparse.Namespace(board="sim", config=str(car.config), bench_socket=str(tmp_path / "bench.sock"),
                                  log_level="WARNING")
        assert run_command.run(args) == 0
        listener.join(10)
        notify.settimeout(1)
        try:
            while True:
                heard.append(notify.recv(64).decode())
        except TimeoutError:
            pass
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        configure_logging("WARNING", sys.stderr)
        notify.close()
        car.close()
    assert heard[0] == "READY=1"
    cut = heard.index("-- hung")
    after_hang = heard[cut + 1:heard.index("-- released")]
    # at most the ping of the second before the loop counted as stalled, then silence
    assert after_hang.count("WATCHDOG=1") <= 2, heard
    assert heard[heard.index("-- released") + 1] == "WATCHDOG=1", heard     # fed again once it turns
    assert heard[-1] == "STOPPING=1", heard
