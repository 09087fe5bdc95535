"""The recorder's store: bounded rings, batches, a restart inside a minute, and a power cut in the middle of a batch."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.recorder import ring, store
from terminal.recorder.core import NO_SPEED
from terminal.recorder.store import FLUSH_MS, RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000
ROOT = Path(__file__).resolve().parents[2]


def test_nothing_reaches_the_database_before_the_batch_is_flushed(tmp_path):
    storage = Storage(tmp_path / "t.db")
    s = RecordStore(storage)
    for i in range(9):
        s.second(T0 + i * 1000, 300 + i, 1, 1)
    assert storage.query("SELECT COUNT(*) FROM rec_speed")[0][0] == 0
    s.flush()
    [(minute, data)] = store.speed_minutes(storage, T0, T0 + 60_000)
    assert minute == T0
    assert store.seconds(data)[:10] == [(300 + i, 1, 1) for i in range(9)] + [(NO_SPEED, 0, 0)]


def test_a_restart_inside_a_minute_keeps_the_seconds_already_stored(tmp_path):
    storage = Storage(tmp_path / "t.db")
    s = RecordStore(storage)
    s.second(T0, 100, 1, 1)
    s.flush()
    s2 = RecordStore(storage)
    s2.second(T0 + 5000, 200, 1, 1)
    s2.event("power", T0 + 5000, {"t_ms": T0 + 5000, "on": True})
    s2.flush()
    secs = store.seconds(store.speed_minutes(storage, T0, T0)[0][1])
    assert secs[0] == (100, 1, 1) and secs[5] == (200, 1, 1)
    assert store.events(storage, "power", 0, T0 + 10_000) == [{"t_ms": T0 + 5000, "on": True}]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(sorted(ring.EVENT_CAPACITY)), min_size=1, max_size=700),
       st.integers(0, 3 * ring.SPEED_MINUTES))
def test_every_ring_stays_within_its_capacity_and_keeps_the_newest(kinds, minutes):
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(Path(tmp) / "t.db")
        s = RecordStore(storage)
        for i, kind in enumerate(kinds):
            s.event(kind, T0 + i, {"t_ms": T0 + i, "i": i})
        step = max(1, minutes // 50)
        for m in range(0, minutes, step):
            s.second(T0 + m * 60_000, 1, 0, 1)
            s.position(T0 + m * 60_000, (1, 2, 3), 1)
        s.flush()
        for kind, cap in ring.EVENT_CAPACITY.items():
            mine = [i for i, k in enumerate(kinds) if k == kind]
            kept = [b["i"] for b in store.events(storage, kind, 0, T0 + 10 ** 9)]
            assert kept == mine[-cap:]
        assert storage.query("SELECT COUNT(*) FROM rec_speed")[0][0] <= ring.SPEED_MINUTES
        assert storage.query("SELECT COUNT(*) FROM rec_position")[0][0] <= ring.POSITION_MINUTES
        newest = T0 + (max(range(0, minutes, step), default=0)) * 60_000
        if minutes:
            assert store.speed_minutes(storage, newest, newest)[0][0] == newest
        storage.close()


WRITER = textwrap.dedent("""
    import sys
    from terminal.recorder.store import FLUSH_MS, RecordStore
    from terminal.storage.database import Storage
    s = RecordStore(Storage(sys.argv[1]))
    t = int(sys.argv[2])
    i = 0
    while True:                     # one virtual second per row; a batch every FLUSH_MS
        s.second(t + i * 1000, i % 1000, 1, 1)
        i += 1
        if i * 1000 % FLUSH_MS == 0:
            s.flush()
            print(i, flush=True)    # seconds committed so far
""")


def test_a_power_cut_mid_batch_loses_at_most_the_open_batch(tmp_path):
    db = tmp_path / "t.db"
    Storage(db).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(T0)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    committed = 0
    try:
        for line in proc.stdout:
            committed = int(line)
            if committed >= 60 * 30:        # half an hour of seconds, then the supply goes
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    storage = Storage(db)
    stored = []
    for minute, data in store.speed_minutes(storage, T0, T0 + 10 ** 9):
        for j, (speed, _status, _source) in enumerate(store.seconds(data)):
            if speed != NO_SPEED:
                stored.append((minute + j * 1000, speed))
    # what is there is exactly what was written, without holes; at least every committed batch
    assert stored == [(T0 + i * 1000, i % 1000) for i in range(len(stored))]
    assert committed <= len(stored) <= committed + FLUSH_MS // 1000 * 2
    assert storage.query("PRAGMA integrity_check")[0][0] == "ok"
