"""Power cut at any moment: a terminal killed with SIGKILL leaves a consistent database and
loses nothing it had committed."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from terminal.storage.database import Storage
from tests.link.crash_child import CAPACITY

ROOT = Path(__file__).resolve().parents[2]
KILLS = 30


def run_and_kill(db: Path, delay_s: float) -> list[str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.link.crash_child", str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line.strip())
            ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(30), "child never started"
    time.sleep(delay_s)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join(5)
    return lines


def check_invariants(db: Path, reported_trip: int, reported_seq: int) -> int:
    with Storage(db) as s:
        assert s.query("PRAGMA integrity_check") == [("ok",)]
        assert s.query("PRAGMA foreign_key_check") == []
        trips = s.trips()
        n = len(trips)
        assert [t["trip_no"] for t in trips] == list(range(1, n + 1))
        for t in trips:  # no torn record
            body = {k: v for k, v in t.items() if k != "digest"}
            assert hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest() == t["digest"]
        assert n >= reported_trip, "a trip reported as stored is gone"
        if n:
            assert s.totalisers() == {"hirings": n, "fares_fen": sum(t["fare_fen"] for t in trips)}
            assert s.query("SELECT trip_no FROM totalisers") == [(n,)]
            assert s.load_meter_state() == f"after {n}".encode()
            job_trips = [row[0] for row in s.query("SELECT trip_no FROM receipt_queue ORDER BY job_id")]
            assert job_trips == sorted(job_trips) and job_trips[-1] == n
        count = s.query("SELECT COUNT(*) FROM outbox")[0][0]
        assert int(s.kv_get("outbox.count")) == count
        last_seq = int(s.kv_get("outbox.seq", "0"))
        assert last_seq >= reported_seq, "a sequence number was handed out twice"
        assert all(seq <= last_seq for (seq,) in s.query("SELECT seq FROM outbox"))
        locations = s.query("SELECT COUNT(*) FROM outbox WHERE kind = 'location'")[0][0]
        assert count <= CAPACITY or locations == 0
        trip_messages = [json.loads(p)["trip_no"] for (p,) in s.query("SELECT payload FROM outbox WHERE kind='trip'")]
        if n and n % 4:  # no acknowledgement round since trip n: its uplink must be stored
            assert n in trip_messages
        return n


def test_sigkill_at_random_moments_never_breaks_the_database(tmp_path):
    db = tmp_path / "terminal.db"
    rng = random.Random(808)
    reported_trip = reported_seq = 0
    progress = []
    for _ in range(KILLS):
        lines = run_and_kill(db, rng.uniform(0.0, 0.06))
        for line in lines:
            words = line.split()
            if words[0] == "trip":
                reported_trip = max(reported_trip, int(words[1]))
            if "seq" in words and words[words.index("seq") + 1] != "None":
                reported_seq = max(reported_seq, int(words[words.index("seq") + 1]))
        progress.append(check_invariants(db, reported_trip, reported_seq))
    assert progress == sorted(progress) and progress[-1] > KILLS  # it kept working across the kills
