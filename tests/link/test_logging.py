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


class LoggedRun:
    """``taxiterm run --log-level DEBUG`` on the sim board as a process, its stderr lines collected.

    It gets its own bench control socket (docs/bench.md: $TAXITERM_BENCH_SOCKET), not the user's
    default one: another test run or bench on this machine must not collide with it."""

    def __init__(self, car, tmp_path) -> None:
        self.sock = tmp_path / "run" / "bench.sock"
        env = dict(os.environ, TAXITERM_BENCH_SOCKET=str(self.sock))
        self.proc = subprocess.Popen([sys.executable, "-m", "terminal", "run", "--board", "sim", "--config",
                                      str(car.config), "--log-level", "DEBUG"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line.rstrip("\n"))
                self._seen.notify_all()

    def wait_for(self, text: str, timeout_s: float = 30) -> bool:
        with self._seen:
            return self._seen.wait_for(lambda: any(text in line for line in self.lines), timeout_s)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        status = self.proc.wait(30)
        self.reader.join(5)
        return status


def test_taxiterm_run_logs_the_link_with_priorities_and_stops_on_sigterm(tmp_path, broker):
    car = TerminalProcess(tmp_path, broker)
    try:
        run = LoggedRun(car, tmp_path)
        assert run.wait_for("mqtt: connected to"), "\n".join(run.lines[-20:])
        car.platform.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 20)
        assert run.stop() == 0
    finally:
        car.close()
    lines, sock = run.lines, run.sock
    assert any(line.startswith("<6>terminal.link.mqtt: mqtt: connected to") and "TLS" in line for line in lines)
    assert any(line.startswith("<7>") for line in lines)
    assert any(f"bench socket {sock}" in line for line in lines), lines[:5]
    assert all(line[:3] in {f"<{n}>" for n in range(8)} for line in lines if line), lines[:5]


def test_a_tls_refusal_is_logged_as_one_saying_what_failed(tmp_path, broker, caplog):
    """'link and TLS events at INFO/WARNING': a terminal that does not trust the broker's
    certificate says so, not merely that it cannot reach the broker."""
    import queue

    from terminal.link.broker_setup import make_tls
    from terminal.link.mqtt import MqttLink
    from tests.link.harness import wait_until
    make_tls(tmp_path, ["localhost"], ["127.0.0.1"], valid_days=2)      # another CA than the broker's
    config = broker.link_config(TID, tls_ca=str(tmp_path / "ca.pem"))
    caplog.set_level(logging.INFO, logger="terminal.link.mqtt")
    link = MqttLink(config, queue.Queue(), software="taxiterm test")
    link.start()
    try:
        wait_until(lambda: link.last_error, "the connection fails")
    finally:
        link.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("TLS" in m and "certificate verify failed" in m for m in warnings), warnings
    assert "TLS" in link.last_error


def test_debug_shows_every_downlink_message_and_pahos_packets(tmp_path, broker):
    """docs/config.md: '--log-level DEBUG adds every downlink message and paho's packets'."""
    car = TerminalProcess(tmp_path, broker)
    try:
        run = LoggedRun(car, tmp_path)
        car.platform.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 30)
        car.platform.notice(TID, "n1", "debug")
        assert run.wait_for("mqtt: downlink on"), "\n".join(run.lines[-20:])
        assert run.stop() == 0
    finally:
        car.close()
    lines = run.lines
    assert any(line.startswith(f"<7>terminal.link.mqtt: mqtt: downlink on taxi/{TID}/down/notice")
               for line in lines)
    assert any(line.startswith("<7>terminal.link.paho: Received PUBLISH") for line in lines)
    assert any(line.startswith("<7>terminal.link.paho: Sending PUBLISH") for line in lines)
