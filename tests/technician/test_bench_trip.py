"""A technician at the bench: `taxiterm bench up`, self-test 6 of 6, `taxiterm run --board sim`, then a
whole trip driven only through `taxiterm bench` commands, ending in a printed receipt and a trip at the broker."""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest

TAXITERM = [sys.executable, "-m", "terminal"]


class Process:
    """A long-running ``taxiterm`` command whose output lines arrive on a queue."""

    def __init__(self, args: list[str], env: dict, stream: str) -> None:
        self.proc = subprocess.Popen(TAXITERM + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        for name in ("stdout", "stderr"):
            threading.Thread(target=self._read, args=(getattr(self.proc, name),), daemon=True).start()

    def _read(self, pipe) -> None:
        for line in pipe:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float = 20.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout_s} s; saw: " + "\n".join(self.seen[-30:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def taxiterm(args: list[str], env: dict, timeout_s: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(TAXITERM + args, env=env, capture_output=True, text=True, timeout=timeout_s)


@pytest.fixture
def bench(tmp_path):
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path / "run"), PYTHONUNBUFFERED="1")
    env.pop("TAXITERM_BENCH_SOCKET", None)
    env.pop("TAXITERM_BENCH_DEVICES", None)
    up = Process(["bench", "up", "--dir", str(tmp_path / "bench")], env, "stdout")
    try:
        up.wait_for("bench up: ready")
        yield env, tmp_path / "bench"
    finally:
        assert up.stop() == 0
    assert not (tmp_path / "run" / "taxiterm" / "bench-devices.sock").exists()


@pytest.mark.timeout(120)
def test_a_whole_trip_driven_from_the_bench(bench, tmp_path):
    env, where = bench
    config = str(where / "terminal.toml")

    selftest = taxiterm(["selftest", "--board", "sim", "--config", config, "--display-s", "0", "--json"], env)
    report = json.loads(selftest.stdout)
    assert selftest.returncode == 0 and report["ok"], selftest.stdout + selftest.stderr
    assert [c["name"] for c in report["checks"] if c["ok"]] == ["display", "sign", "printer", "gnss", "pulse", "mqtt"]

    terminal = Process(["run", "--board", "sim", "--config", config], env, "stderr")
    try:
        ready = terminal.wait_for("ready:")
        assert ready.startswith("<6>taxiterm: ready")      # INFO is syslog priority 6 for journald
        sock = tmp_path / "run" / "taxiterm" / "bench.sock"
        assert sock.is_socket() and stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700

        for step in (["key", "hire"], ["drive", "--kmh", "36", "--seconds", "4"], ["seal", "open"],
                     ["seal", "close"], ["key", "settle"], ["key", "hire"]):
            done = taxiterm(["bench", *step], env)
            assert done.returncode == 0, (step, done.stdout, done.stderr)
            if step[0] == "drive":
                assert "gnss: moving east at 36 km/h" in done.stdout
                assert "40 pulses at K=1000 (40 m)" in done.stdout

        refused = taxiterm(["bench", "key", "hire", "--hold", "99"], env)
        assert refused.returncode == 2 and "--hold" in refused.stderr

        receipt = where / "receipts" / "receipt_0002.txt"      # 0001 is the self-test page
        deadline = time.monotonic() + 15
        while not receipt.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = receipt.read_text(encoding="utf-8")
        assert "粤A·D1234" in text and "合计" in text

        trip = None
        while trip is None and time.monotonic() < deadline:
            lines = [json.loads(line) for line in (where / "mqtt.jsonl").read_text(encoding="utf-8").splitlines()]
            trips = [m for m in lines if m["topic"].endswith("/up/trip")]
            trip = trips[0] if trips else None
            time.sleep(0.1)
        assert trip is not None and trip["valid"], trip
        record = trip["payload"]["record"]
        total = f"{record['total_fen'] // 100}.{record['total_fen'] % 100:02d}"
        assert total in text
        assert 30 <= record["distance_m"] <= 50
    finally:
        assert terminal.stop() == 0, "\n".join(terminal.seen[-20:])
    assert not (tmp_path / "run" / "taxiterm" / "bench.sock").exists()
    gone = taxiterm(["bench", "key", "hire"], env)
    assert gone.returncode == 2 and "no bench socket" in gone.stderr

    from terminal.trust import keys
    db = sqlite3.connect(keys.DeviceState(where / "state").database)
    switch = [row[0] for row in db.execute("SELECT new FROM audit_record WHERE event = 'seal_switch' ORDER BY counter")]
    assert switch[-2:] == ["open", "closed"], switch      # the seal switch pin, audited by the terminal
