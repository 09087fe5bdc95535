"""The recorder's SQLite adapter (recorder room): ring buffers in the terminal's database, written in batches.

Tables (created here, ``CREATE TABLE IF NOT EXISTS``; see docs/recorder.md):

- ``rec_speed``: one row per minute, ``data`` = 60 x (speed WORD in 0.1 km/h, status BYTE,
  source BYTE), big-endian; speed 0xFFFF is a second without a record;
- ``rec_position``: one row per minute (latitude/longitude in signed 1e-6 degree, altitude
  m, mean speed 0.1 km/h; latitude NULL without a fix);
- ``rec_event``: stops, overtime driving, overspeed, driver identity and external power,
  each kind its own ring (``kind``, ``slot``), the record as JSON;
- ``rec_state``: the fatigue and overspeed state, so a restart continues them.

Rows are buffered in memory and written together by ``flush()`` in one transaction of
the terminal's connection (WAL, synchronous=FULL): one commit per batch, not per second.
The desk flushes every ``FLUSH_MS`` and at once for stops, sign-in/out, power changes and
alarms, so a power cut loses at most the last ``FLUSH_MS`` of seconds (and of the
fatigue counters), never a committed batch.
"""

import json
import struct

from terminal.recorder import ring
from terminal.recorder.core import NO_SPEED

FLUSH_MS = 10_000
SECOND = struct.Struct(">HBB")
EMPTY_MINUTE = SECOND.pack(NO_SPEED, 0, 0) * 60

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS rec_speed (
           slot      INTEGER PRIMARY KEY,
           minute_ms INTEGER NOT NULL,
           data      BLOB    NOT NULL CHECK (length(data) = 240))""",
    """CREATE TABLE IF NOT EXISTS rec_position (
           slot      INTEGER PRIMARY KEY,
           minute_ms INTEGER NOT NULL,
           lat       INTEGER,
           lon       INTEGER,
           alt       INTEGER,
           speed     INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS rec_position_by_time ON rec_position (minute_ms)",
    """CREATE TABLE IF NOT EXISTS rec_event (
           kind TEXT    NOT NULL,
           slot INTEGER NOT NULL,
           seq  INTEGER NOT NULL,
           t_ms INTEGER NOT NULL,
           body TEXT    NOT NULL,
           PRIMARY KEY (kind, slot))""",
    """CREATE TABLE IF NOT EXISTS rec_state (
           id   INTEGER PRIMARY KEY CHECK (id = 1),
           body TEXT NOT NULL)""",
)

# Audit events that change a parameter (read from the audit trail, never copied)
PARAMETER_EVENTS = ("parameter", "k_applied", "k_calibrated", "clock_correction", "tariff_installed",
                    "provisioned", "key_installed")


def create_tables(storage) -> None:
    with storage.transaction() as db:
        for statement in SCHEMA:
            db.execute(statement)


class RecordStore:
    def __init__(self, storage) -> None:
        self.storage = storage
        create_tables(storage)
        self.minutes: dict[int, bytearray] = {}
        self.dirty: set[int] = set()
        self.positions: list[tuple] = []
        self.events: list[tuple] = []
        self.state: str | None = None
        self.seq = {kind: 0 for kind in ring.EVENT_CAPACITY}
        for kind, seq in storage.query("SELECT kind, MAX(seq) FROM rec_event GROUP BY kind"):
            if kind in self.seq:
                self.seq[kind] = seq

    # -- buffering --------------------------------------------------------------------------------
    def second(self, t_ms: int, speed_01: int, status: int, source: int) -> None:
        minute = ring.minute_of(t_ms)
        buf = self.minutes.get(minute)
        if buf is None:
            buf = self.minutes[minute] = bytearray(self._stored_minute(minute))
        SECOND.pack_into(buf, (t_ms - minute) // 1000 * SECOND.size, min(speed_01, NO_SPEED), status & 0xFF,
                         source & 0xFF)
        self.dirty.add(minute)

    def position(self, minute_ms: int, pos, speed_01: int) -> None:
        lat, lon, alt = pos if pos is not None else (None, None, None)
        self.positions.append((ring.minute_slot(minute_ms, ring.POSITION_MINUTES), minute_ms, lat, lon, alt,
                               speed_01))

    def event(self, kind: str, t_ms: int, body: dict) -> None:
        self.seq[kind] += 1
        seq = self.seq[kind]
        self.events.append((kind, ring.event_slot(seq, kind), seq, t_ms,
                            json.dumps(body, ensure_ascii=False, separators=(",", ":"))))

    def set_state(self, snapshot: dict) -> None:
        self.state = json.dumps(snapshot, separators=(",", ":"), sort_keys=True)

    def pending(self) -> bool:
        return bool(self.dirty or self.positions or self.events)

    def flush(self) -> None:
        """Write everything buffered in one transaction; keep only the newest minute in memory."""
        if not (self.pending() or self.state):
            return
        with self.storage.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO rec_speed (slot, minute_ms, data) VALUES (?, ?, ?)",
                           [(ring.minute_slot(m, ring.SPEED_MINUTES), m, bytes(self.minutes[m]))
                            for m in sorted(self.dirty)])
            if self.positions:      # a statement only for rows there are (positions: one a minute)
                db.executemany("INSERT OR REPLACE INTO rec_position (slot, minute_ms, lat, lon, alt, speed) "
                               "VALUES (?, ?, ?, ?, ?, ?)", self.positions)
            if self.events:
                db.executemany("INSERT OR REPLACE INTO rec_event (kind, slot, seq, t_ms, body) "
                               "VALUES (?, ?, ?, ?, ?)", self.events)
            if self.state is not None:
                db.execute("INSERT OR REPLACE INTO rec_state (id, body) VALUES (1, ?)", (self.state,))
        self.dirty.clear()
        self.positions.clear()
        self.events.clear()
        self.state = None
        if len(self.minutes) > 1:
            newest = max(self.minutes)
            self.minutes = {newest: self.minutes[newest]}

    def _stored_minute(self, minute: int) -> bytes:
        rows = self.storage.query("SELECT data FROM rec_speed WHERE slot = ? AND minute_ms = ?",
                                  (ring.minute_slot(minute, ring.SPEED_MINUTES), minute))
        return rows[0][0] if rows else EMPTY_MINUTE


# -- reading (export, show, the platform's query) ------------------------------------------------------

def speed_minutes(storage, from_ms: int, to_ms: int) -> list[tuple[int, bytes]]:
    return storage.query("SELECT minute_ms, data FROM rec_speed WHERE minute_ms BETWEEN ? AND ? ORDER BY minute_ms",
                         (ring.minute_of(from_ms), to_ms))


def seconds(data: bytes):
    """The 60 (speed_01, status, source) of one ``rec_speed`` row."""
    return list(SECOND.iter_unpack(data))


def positions(storage, from_ms: int, to_ms: int) -> list[tuple]:
    return storage.query("SELECT minute_ms, lat, lon, alt, speed FROM rec_position WHERE minute_ms BETWEEN ? AND ? "
                         "ORDER BY minute_ms", (ring.minute_of(from_ms), to_ms))


def events(storage, kind: str, from_ms: int, to_ms: int) -> list[dict]:
    rows = storage.query("SELECT body FROM rec_event WHERE kind = ? AND t_ms BETWEEN ? AND ? ORDER BY seq",
                         (kind, from_ms, to_ms))
    return [json.loads(body) for (body,) in rows]


def last_events(storage, kind: str, n: int) -> list[dict]:
    rows = storage.query("SELECT body FROM rec_event WHERE kind = ? ORDER BY seq DESC LIMIT ?", (kind, n))
    return [json.loads(body) for (body,) in reversed(rows)]


def parameter_changes(storage, from_ms: int, to_ms: int) -> list[dict]:
    """Parameter changes straight from the audit trail (empty where the terminal keeps none)."""
    if not storage.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_record'"):
        return []
    marks = ",".join("?" * len(PARAMETER_EVENTS))
    rows = storage.query(f"SELECT counter, t_ms, event, parameter, old, new, actor FROM audit_record "
                         f"WHERE event IN ({marks}) AND t_ms BETWEEN ? AND ? ORDER BY counter",
                         (*PARAMETER_EVENTS, from_ms, to_ms))
    keys = ("counter", "t_ms", "event", "parameter", "old", "new", "actor")
    return [dict(zip(keys, row, strict=False)) for row in rows]


def saved_state(storage) -> dict | None:
    rows = storage.query("SELECT body FROM rec_state WHERE id = 1")
    return json.loads(rows[0][0]) if rows else None
