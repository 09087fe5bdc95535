"""Benchmarks of the driving recorder (docs/recorder.md).

record_write_cpu_pct: the recorder desk fed an hour of driving on a virtual clock as the
loop feeds it on the default installation (the counter read every 0.2 s, the five readings
handed over in one ``pulses`` event a second, drivers/pulse.py; a GNSS fix every second; the
loop's periodic turn every 0.2 s; batches flushed to a real database file); CPU seconds it
used (process time) over the hour, in percent. ``record_write_cpu_pct_1hz`` is the same with
the counter read once a second.

record_db_mb_360h: a database holding the full retention (49 h of one-second speed, 361 h
of one-minute positions, every event ring full), minus the same database without the
recorder's tables, in MB (10^6 bytes), after a WAL checkpoint.

record_export_s_48h: seconds to write the JSON lines export of the last 48 h of that
database (every record kind) and its GB/T 19056 data file (blocks 00H-15H) to files.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from drivers.event import Event
from gps.fix import Fix
from terminal.app.recorder import Recorder
from terminal.recorder import export, ring
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000
HOUR_MS = 3600_000


class _Reporting:
    flags: set = set()

    def flag(self, name, active, now) -> None:
        pass


def _term(db: Path):
    meter = SimpleNamespace(powered=True, state="hired", shift_info={"driver": "440100123456", "start_ms": T0},
                            odometer=SimpleNamespace(k=1000))
    return SimpleNamespace(config={}, storage=Storage(db), clock=lambda: T0, meter=meter, reporting=_Reporting(),
                           platform=SimpleNamespace(params={"speed_limit_kmh": 80}),
                           daybook=SimpleNamespace(utc_offset_min=480))


def _cpu_pct(fine_ms: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        term = _term(Path(tmp) / "t.db")
        rec = Recorder(term)
        fixes = [Fix(T0, 22.543096, 114.057865, 10.0, v / 3.6, 0.0, 1, 3, valid=True) for v in range(0, 80)]
        count = 0
        used = 0.0
        t = T0
        fine = []
        for step in range(HOUR_MS // 200):
            t += 200
            kmh = (step // 300) % 2 * 60           # a minute at 60 km/h, a minute standing
            events = []
            if t % fine_ms == 0:
                count += kmh * fine_ms // 3600
                fine.append([t, count])
            if t % 1000 == 0:
                events.append(Event("pulses", t, {"count": count, "fine": fine}))
                fine = []
                events.append(Event("fix", t, {"fix": fixes[kmh]}))
            start = time.process_time()
            for event in events:
                rec.on_event(event)
            rec.periodic(t)
            used += time.process_time() - start
        rec.flush(t)
        term.storage.close()
        return 100.0 * used / (HOUR_MS / 1000)


def record_write_cpu_pct() -> dict:
    return {"value": round(_cpu_pct(200), 4), "unit": "% of one CPU, counter read at 5 Hz (default)", "better": "lower"}


def record_write_cpu_pct_1hz() -> dict:
    return {"value": round(_cpu_pct(1000), 4), "unit": "% of one CPU, counter read at 1 Hz", "better": "lower"}


def fill_full_retention(db: Path) -> int:
    """The recorder's tables at full retention; returns the last time written."""
    storage = Storage(db)
    s = RecordStore(storage)
    end = T0 + ring.POSITION_MINUTES * 60_000
    speed_from = end - ring.SPEED_MINUTES * 60_000
    pos = (22543096, 114057865, 10)
    for m in range(ring.POSITION_MINUTES):
        minute = T0 + m * 60_000
        s.position(minute, pos, 300 + m % 300)
        if minute >= speed_from:
            for i in range(60):
                s.second(minute + i * 1000, (m * 7 + i) % 1200, 3, 1)
            s.flush()
    samples = [[(i * 13) % 900, 3] for i in range(100)]
    for kind, cap in ring.EVENT_CAPACITY.items():
        for i in range(cap):
            t = end - (cap - i) * 60_000
            if kind == "stop":
                body = {"t_ms": t, "reason": "stopped", "driver_cert": "440100123456", "interval_ms": 200,
                        "samples": samples, "age_ms": [(i * 37) % 200 for i in range(100)], "first_ms": t - 19_800,
                        "position": pos}
            elif kind in ("overtime", "overspeed"):
                body = {"driver_cert": "440100123456", "start_ms": t - 4 * HOUR_MS, "end_ms": t, "driven_ms": 14_460_000,
                        "top_01kmh": 900, "limit_kmh": 80, "start_pos": pos, "end_pos": pos}
            elif kind == "speed_status":
                body = {"t_ms": t, "start_ms": t - 59_000, "end_ms": t, "status": 1 + i % 2,
                        "recorded": [600 + j % 7 for j in range(60)], "reference": [603 + j % 5 for j in range(60)]}
            elif kind == "driver":
                body = {"t_ms": t, "driver_cert": "440100123456", "event": "sign_in" if i % 2 else "sign_out"}
            else:
                body = {"t_ms": t, "on": bool(i % 2)}
            s.event(kind, t, body)
    s.flush()
    storage.query("PRAGMA wal_checkpoint(TRUNCATE)")
    storage.close()
    return end


def _size(db: Path) -> int:
    return sum(os.path.getsize(p) for p in (db, Path(str(db) + "-wal")) if p.exists())


def record_db_mb_360h() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.db"
        storage = Storage(empty)
        storage.query("PRAGMA wal_checkpoint(TRUNCATE)")
        storage.close()
        full = Path(tmp) / "full.db"
        fill_full_retention(full)
        return {"value": round((_size(full) - _size(empty)) / 1e6, 3), "unit": "MB", "better": "lower"}


def record_export_s_48h() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "full.db"
        end = fill_full_retention(db)
        storage = Storage(db)
        start = time.perf_counter()
        with (Path(tmp) / "out.jsonl").open("w", encoding="utf-8") as out:
            export.write_jsonl(out, storage, end - 48 * HOUR_MS, end)
        (Path(tmp) / "out.vdr").write_bytes(export.gbt_file(storage, end - 48 * HOUR_MS, end))
        took = time.perf_counter() - start
        storage.close()
        return {"value": round(took, 3), "unit": "s", "better": "lower"}


METRICS = {
    "record_write_cpu_pct": record_write_cpu_pct,
    "record_write_cpu_pct_1hz": record_write_cpu_pct_1hz,
    "record_db_mb_360h": record_db_mb_360h,
    "record_export_s_48h": record_export_s_48h,
}
