"""Test harness: a whole terminal process (tests/link/terminal_child.py) on the shipped broker.

The emulators (sign, printer, GNSS) serve real ptys from this process; the terminal
runs in a child process that can be SIGKILLed and started again on the same state
directory; the platform emulator connects with the platform account of the shipped
broker configuration and signs its commands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from sim.platform import PlatformEmulator
from sim.printer_emulator import PrinterEmulator
from sim.provision import provision_state
from sim.pty import PtyDevice
from sim.sign_emulator import SignEmulator

ROOT = Path(__file__).resolve().parents[2]
TID = "T0042"


class TerminalProcess:
    def __init__(self, tmp: Path, broker, tid: str = TID) -> None:
        self.tmp, self.broker, self.tid = tmp, broker, tid
        self.sign = SignEmulator().start()
        self.printer_pty = PtyDevice()
        self.printer = PrinterEmulator(out_dir=tmp / "receipts")
        self.printer.serve_pty(self.printer_pty)
        self.gnss_pty = PtyDevice()
        provision_state(tmp / "state")
        link = broker.link_config(tid)
        mqtt = "\n".join(f"{k} = {json.dumps(v)}" for k, v in link.items())
        self.config = tmp / "terminal.toml"
        self.config.write_text(f'''
[terminal]
id = "{tid}"
state_dir = "{tmp / 'state'}"
[alarm]
hold_ms = 500
[report]
health_s = 10
[mqtt]
{mqtt}
[board]
serial = {{ sign = "{self.sign.path}", printer = "{self.printer_pty.path}", gnss = "{self.gnss_pty.path}" }}
''', encoding="utf-8")
        self.platform = PlatformEmulator(broker.host, broker.port, transcript=tmp / "mqtt.jsonl",
                                         **broker.client_options("platform")).start()
        self.proc: subprocess.Popen | None = None
        self.runtime = None
        self.log = open(tmp / "terminal.log", "ab")

    def start(self) -> TerminalProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.link.terminal_child", str(self.config)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        assert self.reply(30) == "ready", "terminal never started (see terminal.log)"
        return self

    def inline(self):
        """The same terminal as a ``Runtime`` in this process (for counting inside it); stopped by close()."""
        from terminal.app import config as config_mod
        from terminal.app.runtime import Runtime
        self.runtime = Runtime(config_mod.load(self.config), "sim")
        self.runtime.start()
        assert self.runtime.ready.wait(20)
        return self.runtime

    def reply(self, timeout_s: float = 15) -> str:
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.append(self.proc.stdout.readline().strip()), daemon=True)
        reader.start()
        reader.join(timeout_s)
        assert got, "the terminal process did not answer"
        return got[0]

    def ask(self, line: str, timeout_s: float = 15) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.reply(timeout_s)

    def state(self) -> dict:
        return json.loads(self.ask("state"))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def terminate(self) -> None:
        assert self.ask("term", 30) == "stopped"
        self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        if self.proc is not None:
            self.kill()
        if self.runtime is not None:
            self.runtime.stop()
        self.platform.stop()
        self.printer.close()
        self.printer_pty.close()
        self.gnss_pty.close()
        self.sign.close()
        self.log.close()
