"""Issue 11 item 9: the terminal's log set-up wins over libraries; journald priorities; link events logged.

``taxiterm run`` is started as a process on the sim board against the shipped broker: its
stderr must show the link coming up at INFO (priority 6), debug lines with
``--log-level DEBUG`` (priority 7), and stop cleanly on SIGTERM.
"""

import io
import logging
import os
import signal
import subprocess
import sys
import threading

import pytest

from sim.broker import Broker
from terminal.app.runtime import configure_logging
from tests.link.terminal_process import ROOT, TID, TerminalProcess


def test_configure_logging_replaces_what_a_library_set_up_at_import():
    import escpos.capabilities  # noqa: F401 - calls logging.basicConfig() at import
    logging.basicConfig(level=logging.WARNING)            # as a library would
    out = io.StringIO()
    try:
        configure_logging("DEBUG", out)
        logging.getLogger("terminal.link.mqtt").debug("dbg")
        logging.getLogger("terminal.link.mqtt").info("link up")
        logging.getLogger("taxiterm").warning("tls refused")
        logging.getLogger("taxiterm").error("two\nlines")
        assert out.getvalue().splitlines() == ["<7>terminal.link.mqtt: dbg", "<6>terminal.link.mqtt: link up",
                                               "<4>taxiterm: tls refused", "<3>taxiterm: two", "<3>lines"]
    finally:
        configure_logging("WARNING", sys.stderr)


@pytest.fixture
def broker():
    with Broker(shipped=True, terminals=(TID,)) as b:
        yield b


def test_taxiterm_run_logs_the_link_with_priorities_and_stops_on_sigterm(tmp_path, broker):
    car = TerminalProcess(tmp_path, broker)
    # its own bench control socket (docs/bench.md: $TAXITERM_BENCH_SOCKET), not the user's default
    # one: another test run or bench on this machine must not collide with this terminal
    sock = tmp_path / "run" / "bench.sock"
    env = dict(os.environ, TAXITERM_BENCH_SOCKET=str(sock))
    try:
        proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--board", "sim", "--config",
                                 str(car.config), "--log-level", "DEBUG"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        connected = threading.Event()

        def read():
            for line in proc.stderr:
                lines.append(line.rstrip("\n"))
                if "mqtt: connected to" in line:
                    connected.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert connected.wait(30), "\n".join(lines[-20:])
        car.platform.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 20)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        reader.join(5)
    finally:
        car.close()
    assert any(line.startswith("<6>terminal.link.mqtt: mqtt: connected to") and "TLS" in line for line in lines)
    assert any(line.startswith("<7>") for line in lines)
    assert any(f"bench socket {sock}" in line for line in lines), lines[:5]
    assert all(line[:3] in {f"<{n}>" for n in range(8)} for line in lines if line), lines[:5]
