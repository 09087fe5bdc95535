"""Storage: the terminal's one SQLite database (trips, totalisers, shifts, outbox, receipt queue).

This is the strongroom of the house. Legal data (trip records and the totalisers) and
everything that must survive a power dip live in one database file, opened with WAL and
``synchronous=FULL`` so a committed transaction is on the medium before ``commit``
returns. Every write is one transaction; several writes that belong together (a trip,
its receipt job and its uplink) can share one with ``with storage.transaction():``.

The schema carries a version number and is upgraded by numbered migrations; a database
written by newer software is refused rather than guessed at. See docs/storage.md.

Longer than 400 lines because every table's access lives beside the migrations that make
it, so that one transaction can span trips, totalisers, meter state, outbox and receipts.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

Clock = Callable[[], int]

_DIGEST = re.compile(r"^[0-9a-f]{64}$")

# Numbered migrations: each runs once, in its own transaction, together with the
# update of schema_version. Never edit a released migration; add the next number.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE trips (
               trip_no   INTEGER PRIMARY KEY CHECK (trip_no >= 1),
               record    TEXT    NOT NULL,
               digest    TEXT    NOT NULL,
               stored_ms INTEGER NOT NULL)""",
        """CREATE TABLE totalisers (
               id         INTEGER PRIMARY KEY CHECK (id = 1),
               data       TEXT    NOT NULL,
               trip_no    INTEGER REFERENCES trips (trip_no),
               updated_ms INTEGER NOT NULL)""",
        """CREATE TABLE meter_state (
               id       INTEGER PRIMARY KEY CHECK (id = 1),
               blob     BLOB    NOT NULL,
               saved_ms INTEGER NOT NULL)""",
        """CREATE TABLE shifts (
               shift_id    INTEGER PRIMARY KEY AUTOINCREMENT,
               driver_cert TEXT    NOT NULL CHECK (driver_cert <> ''),
               sign_in_ms  INTEGER NOT NULL,
               sign_in     TEXT    NOT NULL,
               sign_out_ms INTEGER CHECK (sign_out_ms IS NULL OR sign_out_ms >= sign_in_ms),
               sign_out    TEXT)""",
        # At most one open shift: a partial unique index over the rows without sign-out.
        "CREATE UNIQUE INDEX shifts_one_open ON shifts ((sign_out_ms IS NULL)) WHERE sign_out_ms IS NULL",
        """CREATE TABLE outbox (
               seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
               topic      TEXT    NOT NULL,
               kind       TEXT    NOT NULL,
               priority   INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
               payload    TEXT    NOT NULL,
               created_ms INTEGER NOT NULL)""",
        "CREATE INDEX outbox_by_priority ON outbox (priority, seq)",
        "CREATE INDEX outbox_by_kind ON outbox (kind, seq)",
        """CREATE TABLE receipt_queue (
               job_id   INTEGER PRIMARY KEY AUTOINCREMENT,
               trip_no  INTEGER REFERENCES trips (trip_no),
               job      TEXT    NOT NULL,
               added_ms INTEGER NOT NULL)""",
        """CREATE TABLE kv (
               key   TEXT PRIMARY KEY,
               value TEXT NOT NULL)""",
        # The outbox row count is kept by triggers in the same transaction as the row
        # change, so the bound check never counts 100,000 rows and never drifts.
        "INSERT INTO kv (key, value) VALUES ('outbox.count', '0')",
        """CREATE TRIGGER outbox_count_up AFTER INSERT ON outbox BEGIN
               UPDATE kv SET value = CAST(value AS INTEGER) + 1 WHERE key = 'outbox.count'; END""",
        """CREATE TRIGGER outbox_count_down AFTER DELETE ON outbox BEGIN
               UPDATE kv SET value = CAST(value AS INTEGER) - 1 WHERE key = 'outbox.count'; END""",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


class StorageError(Exception):
    """Bad input or an inconsistent request; nothing was written."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _dumps(value) -> str:
    # Key order is kept as given: a trip record is stored exactly as the meter emitted it.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _check_int(name: str, value, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StorageError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise StorageError(f"{name} must be >= {minimum}, got {value}")
    return value


class Storage:
    """The database file at ``path`` (created on first use), upgraded to the current schema.

    One ``Storage`` per process. It may be used from several threads (the loop and the
    printer spooler); every access is serialised by one lock.
    """

    def __init__(self, path: str | Path, clock: Clock = wall_clock_ms) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction(): only the outermost one commits
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._migrate()
        self.receipt_queue = ReceiptQueue(self)

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def now_ms(self) -> int:
        return self._clock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of writes. Nested uses join the outermost transaction.

        Yields the connection for SQL; on an exception everything since the outermost
        ``BEGIN`` is rolled back and the exception propagates.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._db
            except BaseException:
                self._depth = 0
                self._db.execute("ROLLBACK")
                raise
            self._depth = 0
            self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read-only SQL for inspection tools and tests."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def schema_version(self) -> int:
        return self.query("SELECT version FROM schema_version")[0][0]

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = self._db.execute("SELECT version FROM schema_version").fetchall()
            current = rows[0][0] if rows else 0
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path}: database schema version {current} is newer than this software "
                    f"understands ({SCHEMA_VERSION}); refusing to touch it"
                )
            for number in range(current + 1, SCHEMA_VERSION + 1):
                with self.transaction() as db:
                    for statement in MIGRATIONS[number]:
                        db.execute(statement)
                    db.execute("DELETE FROM schema_version")
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))

    # -- trips and totalisers -------------------------------------------------------------------

    def store_trip(self, record: dict, totalisers: dict) -> bool:
        """Store a closed trip and the totalisers after it, in one transaction.

        Returns True when stored, False when this exact trip (same trip_no and digest) is
        already stored (a replay after a crash): nothing changes then. A different record
        under a stored trip_no, or malformed input, raises StorageError and changes nothing.
        """
        if not isinstance(record, dict):
            raise StorageError(f"trip record must be an object, got {type(record).__name__}")
        trip_no = _check_int("trip_no", record.get("trip_no"), minimum=1)
        digest = record.get("digest")
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise StorageError(f"trip {trip_no}: digest must be 64 lower-case hex digits, got {digest!r}")
        totals_text = self._totalisers_text(totalisers)
        try:
            text = _dumps(record)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"trip {trip_no}: record is not plain JSON: {exc}") from exc
        with self.transaction() as db:
            row = db.execute("SELECT digest FROM trips WHERE trip_no = ?", (trip_no,)).fetchone()
            if row is not None:
                if row[0] == digest:
                    return False
                raise StorageError(
                    f"trip {trip_no} is already stored with a different digest ({row[0][:12]}…); refused"
                )
            now = self._clock()
            db.execute(
                "INSERT INTO trips (trip_no, record, digest, stored_ms) VALUES (?, ?, ?, ?)",
                (trip_no, text, digest, now),
            )
            db.execute(
                "INSERT INTO totalisers (id, data, trip_no, updated_ms) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET data = excluded.data, trip_no = excluded.trip_no, "
                "updated_ms = excluded.updated_ms",
                (totals_text, trip_no, now),
            )
        return True

    @staticmethod
    def _totalisers_text(totalisers: dict) -> str:
        if not isinstance(totalisers, dict) or not totalisers:
            raise StorageError(f"totalisers must be a non-empty object, got {totalisers!r}")
        for name, value in totalisers.items():
            if not isinstance(name, str):
                raise StorageError(f"totaliser names must be strings, got {name!r}")
            _check_int(f"totaliser {name}", value, minimum=0)
        return _dumps(totalisers)

    def trips(self, last: int | None = None) -> list[dict]:
        """Stored trip records, oldest first; ``last=N`` gives only the newest N."""
        if last is None:
            rows = self.query("SELECT record FROM trips ORDER BY trip_no")
        else:
            _check_int("last", last, minimum=0)
            rows = self.query("SELECT record FROM trips ORDER BY trip_no DESC LIMIT ?", (last,))[::-1]
        return [json.loads(text) for (text,) in rows]

    def trip(self, trip_no: int) -> dict | None:
        rows = self.query("SELECT record FROM trips WHERE trip_no = ?", (trip_no,))
        return json.loads(rows[0][0]) if rows else None

    def totalisers(self) -> dict | None:
        """The totalisers stored with the newest trip, or None before the first trip."""
        rows = self.query("SELECT data FROM totalisers WHERE id = 1")
        return json.loads(rows[0][0]) if rows else None

    # -- meter snapshot (resume after a power dip) ----------------------------------------------

    def save_meter_state(self, blob: bytes) -> None:
        if not isinstance(blob, bytes | bytearray) or not blob:
            raise StorageError("meter state must be non-empty bytes")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO meter_state (id, blob, saved_ms) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET blob = excluded.blob, saved_ms = excluded.saved_ms",
                (bytes(blob), self._clock()),
            )

    def load_meter_state(self) -> bytes | None:
        rows = self.query("SELECT blob FROM meter_state WHERE id = 1")
        return bytes(rows[0][0]) if rows else None

    # -- shifts ----------------------------------------------------------------------------------

    def sign_in(self, driver_cert: str, t_ms: int, record: dict | None = None) -> int:
        """Open a shift for the driver with this qualification certificate number.

        Returns the shift id. Refused (StorageError) while another shift is open.
        """
        if not isinstance(driver_cert, str) or not driver_cert.strip():
            raise StorageError("sign-in needs the driver's qualification certificate number")
        _check_int("sign-in time", t_ms, minimum=0)
        text = self._record_text("sign-in", record)
        with self.transaction() as db:
            open_row = db.execute("SELECT shift_id, driver_cert FROM shifts WHERE sign_out_ms IS NULL").fetchone()
            if open_row is not None:
                raise StorageError(f"shift {open_row[0]} of driver {open_row[1]} is still open; sign out first")
            cursor = db.execute(
                "INSERT INTO shifts (driver_cert, sign_in_ms, sign_in) VALUES (?, ?, ?)",
                (driver_cert, t_ms, text),
            )
            return cursor.lastrowid

    def sign_out(self, t_ms: int, record: dict | None = None) -> dict:
        """Close the open shift with its sign-out record (shift totals); returns the shift."""
        _check_int("sign-out time", t_ms, minimum=0)
        text = self._record_text("sign-out", record)
        with self.transaction() as db:
            row = db.execute("SELECT shift_id, sign_in_ms FROM shifts WHERE sign_out_ms IS NULL").fetchone()
            if row is None:
                raise StorageError("no shift is open; nothing to sign out")
            if t_ms < row[1]:
                raise StorageError(f"sign-out time {t_ms} is before the sign-in time {row[1]}")
            db.execute("UPDATE shifts SET sign_out_ms = ?, sign_out = ? WHERE shift_id = ?", (t_ms, text, row[0]))
            return self._shift_row(db.execute(_SHIFT_SELECT + " WHERE shift_id = ?", (row[0],)).fetchone())

    def open_shift(self) -> dict | None:
        rows = self.query(_SHIFT_SELECT + " WHERE sign_out_ms IS NULL")
        return self._shift_row(rows[0]) if rows else None

    def shifts(self, last: int | None = None) -> list[dict]:
        if last is None:
            rows = self.query(_SHIFT_SELECT + " ORDER BY shift_id")
        else:
            _check_int("last", last, minimum=0)
            rows = self.query(_SHIFT_SELECT + " ORDER BY shift_id DESC LIMIT ?", (last,))[::-1]
        return [self._shift_row(row) for row in rows]

    @staticmethod
    def _record_text(what: str, record: dict | None) -> str:
        if record is None:
            record = {}
        if not isinstance(record, dict):
            raise StorageError(f"{what} record must be an object")
        try:
            return _dumps(record)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"{what} record is not plain JSON: {exc}") from exc

    @staticmethod
    def _shift_row(row: tuple) -> dict:
        shift_id, cert, in_ms, in_text, out_ms, out_text = row
        return {
            "shift_id": shift_id,
            "driver_cert": cert,
            "sign_in_ms": in_ms,
            "sign_in": json.loads(in_text),
            "sign_out_ms": out_ms,
            "sign_out": json.loads(out_text) if out_text is not None else None,
        }

    # -- small persistent values (sequence counters, drop counts) ------------------------------

    def kv_get(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM kv WHERE key = ?", (key,))
        return rows[0][0] if rows else default

    def kv_set(self, key: str, value: str) -> None:
        if not isinstance(key, str) or not isinstance(value, str):
            raise StorageError("kv keys and values are strings")
        with self.transaction() as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def next_counter(self, key: str, step: int = 1) -> int:
        """Add ``step`` to the integer counter ``key`` (starting at 0) and return the new value."""
        _check_int("step", step, minimum=1)
        with self.transaction() as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
            value = (int(row[0]) if row else 0) + step
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )
            return value


_SHIFT_SELECT = "SELECT shift_id, driver_cert, sign_in_ms, sign_in, sign_out_ms, sign_out FROM shifts"


class ReceiptQueue:
    """Print jobs waiting for the printer spooler: ``add``, ``peek``, ``remove``.

    A job stays queued until the spooler removes it after the printer has taken it, so
    a receipt is never lost to a crash or a paper-out; at worst it prints twice.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def add(self, job: dict, trip_no: int | None = None) -> int:
        """Queue a job (plain JSON object); ``trip_no`` ties it to a stored trip. Returns the job id."""
        if not isinstance(job, dict):
            raise StorageError("a receipt job must be an object")
        if trip_no is not None:
            _check_int("trip_no", trip_no, minimum=1)
        try:
            text = _dumps(job)
        except (TypeError, ValueError) as exc:
            raise StorageError(f"receipt job is not plain JSON: {exc}") from exc
        try:
            with self._storage.transaction() as db:
                cursor = db.execute(
                    "INSERT INTO receipt_queue (trip_no, job, added_ms) VALUES (?, ?, ?)",
                    (trip_no, text, self._storage.now_ms()),
                )
                return cursor.lastrowid
        except sqlite3.IntegrityError as exc:
            raise StorageError(f"receipt job for trip {trip_no}: no such trip is stored") from exc

    def peek(self) -> tuple[int, dict] | None:
        """The oldest job as (job_id, job), left in the queue; None when empty."""
        rows = self._storage.query("SELECT job_id, job FROM receipt_queue ORDER BY job_id LIMIT 1")
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def remove(self, job_id: int) -> bool:
        """Remove a finished job; False when it was not queued (already removed)."""
        _check_int("job_id", job_id, minimum=1)
        with self._storage.transaction() as db:
            return db.execute("DELETE FROM receipt_queue WHERE job_id = ?", (job_id,)).rowcount == 1

    def __len__(self) -> int:
        return self._storage.query("SELECT COUNT(*) FROM receipt_queue")[0][0]
