"""Audit trail: the append-only, hash-chained, device-signed log of every legally relevant event.

Each record holds counter, time (Unix epoch ms, UTC), event, parameter, old and new
value, actor and software id, plus ``prev`` (the previous record's hash), its own
``hash`` (SHA-256 of the canonical form of those fields) and ``signature`` (Ed25519 by
the device key over that hash). Records live in the terminal's SQLite database
(tables ``audit_record``, ``audit_anchor``, ``audit_nonce``; WAL, synchronous=FULL);
triggers refuse any UPDATE and any DELETE of a record that was not archived.

Capacity: when ``capacity`` records are held the trail is *full* and legal parameter
changes are locked (``Seal`` refuses them) until an inspector exports the trail and
acknowledges it. Acknowledgement is itself a record; it names the last exported record
("counter:hash"), which becomes the *anchor*: records up to it are archived (deleted
here, kept in the inspector's export) and the chain continues from the anchor's hash.
See docs/audit.md.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.trust import signing

if TYPE_CHECKING:   # keys are ed25519.py's or cryptography's; neither module is needed to hold them
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
FIELDS = ("counter", "t_ms", "event", "parameter", "old", "new", "actor", "software_id", "prev")
RECORD_KEYS = frozenset(FIELDS + ("hash", "signature"))
DEFAULT_CAPACITY = 1000
ACK_EVENT = "audit_acknowledged"

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_record (
    counter INTEGER PRIMARY KEY,
    t_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    parameter TEXT,
    old TEXT,
    new TEXT,
    actor TEXT NOT NULL,
    software_id TEXT NOT NULL,
    prev TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    counter INTEGER NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_nonce (
    nonce TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_record_no_update BEFORE UPDATE ON audit_record
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_record_no_delete BEFORE DELETE ON audit_record
WHEN old.counter > COALESCE((SELECT counter FROM audit_anchor WHERE id = 1), 0)
BEGIN SELECT RAISE(ABORT, 'only acknowledged audit records may be archived'); END;
"""


class AuditError(Exception):
    """An audit operation refused: bad value, acknowledgement of a record that is not there."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def head_message(counter: int, head_hash: str) -> bytes:
    """What the head witness signs (never 32 bytes, so never a record hash)."""
    return b"head:" + str(counter).encode("ascii") + b":" + head_hash.encode("ascii")


def record_hash(record: dict) -> str:
    return hashlib.sha256(signing.canonical_json({k: record[k] for k in FIELDS})).hexdigest()


def _text_value(value, name: str):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise AuditError(f"audit {name} must be text, an integer or None, got {type(value).__name__}")


class AuditVerdict:
    """Result of checking a trail: ``ok``, how many records, and the first bad one with the reason."""

    def __init__(self, ok: bool, count: int, first_bad: int | None = None, reason: str = "") -> None:
        self.ok = ok
        self.count = count
        self.first_bad = first_bad
        self.reason = reason

    def as_dict(self) -> dict:
        return {"ok": self.ok, "count": self.count, "first_bad": self.first_bad, "reason": self.reason}

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail verified: {self.count} records"
        return f"audit trail FAILED at {self.reason}"


def verify_records(records, public_key: Ed25519PublicKey, anchor: dict | None = None) -> AuditVerdict:
    """Check order, chain, hashes and signatures; name the first record that is wrong.

    ``anchor`` ({"counter", "hash"}) is the last archived record when the trail was
    acknowledged before; a signed acknowledgement among ``records`` must vouch for it.
    """
    if not isinstance(records, list):
        return AuditVerdict(False, 0, None, "records: not a list")
    if anchor is None:
        expect_counter, expect_prev = 1, GENESIS
    else:
        if (not isinstance(anchor, dict) or set(anchor) != {"counter", "hash"}
                or not isinstance(anchor["counter"], int) or not isinstance(anchor["hash"], str)):
            return AuditVerdict(False, 0, None, "anchor: malformed")
        expect_counter, expect_prev = anchor["counter"] + 1, anchor["hash"]
    for position, rec in enumerate(records):
        label = f"record #{expect_counter} (position {position})"
        if not isinstance(rec, dict) or set(rec) != RECORD_KEYS:
            return AuditVerdict(False, len(records), expect_counter, f"{label}: fields missing or unknown")
        bad_type = [k for k in ("counter", "t_ms") if not isinstance(rec[k], int) or isinstance(rec[k], bool)]
        bad_type += [k for k in ("event", "actor", "software_id", "prev", "hash")
                     if not isinstance(rec[k], str)]
        bad_type += [k for k in ("parameter", "old", "new") if rec[k] is not None and not isinstance(rec[k], str)]
        if bad_type:
            return AuditVerdict(False, len(records), expect_counter, f"{label}: bad type of {', '.join(bad_type)}")
        if rec["counter"] != expect_counter:
            return AuditVerdict(
                False, len(records), expect_counter,
                f"{label}: counter is {rec['counter']} (a record removed, inserted or reordered)")
        if rec["prev"] != expect_prev:
            return AuditVerdict(
                False, len(records), expect_counter,
                f"{label}: does not chain to the record before it (removed, reordered or altered)")
        if record_hash(rec) != rec["hash"]:
            return AuditVerdict(False, len(records), expect_counter, f"{label}: contents do not match its hash (altered)")
        try:
            signature = signing.decode_signature(rec["signature"], label)
            signing.verify(public_key, "audit", bytes.fromhex(rec["hash"]), signature, label)
        except (signing.SignatureError, ValueError) as exc:
            return AuditVerdict(False, len(records), expect_counter, str(exc))
        expect_counter, expect_prev = expect_counter + 1, rec["hash"]
    if anchor is not None:
        vouched = f"{anchor['counter']}:{anchor['hash']}"
        if not any(r["event"] == ACK_EVENT and r["new"] == vouched for r in records):
            return AuditVerdict(False, len(records), anchor["counter"] + 1,
                                "anchor: no signed acknowledgement vouches for the archived part of the trail")
    return AuditVerdict(True, len(records))


class AuditTrail:
    """The audit trail in a SQLite database (a connection the terminal shares, or a path)."""

    def __init__(
        self,
        db: sqlite3.Connection | str | Path,
        signer: Ed25519PrivateKey,
        software_id: str,
        clock: Callable[[], int] = now_ms,
        capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if capacity < 1:
            raise AuditError("audit capacity must be at least 1 record")
        if isinstance(db, sqlite3.Connection):
            self.conn = db
        else:
            self.conn = sqlite3.connect(str(db), isolation_level=None, timeout=10.0)
        self.signer = signer
        self.software_id = software_id
        self.clock = clock
        self.capacity = capacity
        self.floor = 0          # the highest counter known to have existed (see _insert)
        if not self.conn.in_transaction:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.execute("PRAGMA synchronous=FULL")
        if self.conn.in_transaction:
            raise AuditError("open the audit trail outside a transaction (it creates its tables)")
        self.conn.executescript(SCHEMA)

    # --- writing -----------------------------------------------------------------------------
    def transaction(self):
        """``with trail.transaction():`` records appended inside commit together, or not at all."""
        return _Transaction(self.conn)

    _transaction = transaction

    def append_in(self, conn: sqlite3.Connection, event: str, parameter=None, old=None, new=None,
                  actor: str = "terminal", t_ms: int | None = None) -> dict:
        """Append inside a transaction the caller holds on ``conn`` (another connection to the
        same database file): the record commits together with the caller's own rows, or not at all."""
        if not conn.in_transaction:
            raise AuditError("append_in needs the caller's open transaction")
        return self._insert(event, parameter, old, new, actor, t_ms, conn)

    def _head(self, conn: sqlite3.Connection | None = None) -> tuple[int, str]:
        conn = conn or self.conn
        row = conn.execute("SELECT counter, hash FROM audit_record ORDER BY counter DESC LIMIT 1").fetchone()
        if row:
            return row[0], row[1]
        anchor = conn.execute("SELECT counter, hash FROM audit_anchor WHERE id = 1").fetchone()
        return (anchor[0], anchor[1]) if anchor else (0, GENESIS)

    def head(self) -> tuple[int, str]:
        """(counter, hash) of the newest record (or of the anchor, or 0 and the genesis hash)."""
        return self._head()

    def _insert(self, event: str, parameter, old, new, actor: str, t_ms: int | None,
                conn: sqlite3.Connection | None = None) -> dict:
        if not isinstance(event, str) or not event:
            raise AuditError("audit event must be a non-empty string")
        if not isinstance(actor, str) or not actor:
            raise AuditError("audit actor must be a non-empty string")
        conn = conn or self.conn
        counter, prev = self._head(conn)
        # Never reuse a counter: after a cut tail the next record is numbered above the
        # highest counter ever witnessed, so the gap stays visible to every verifier.
        counter = max(counter, self.floor)
        rec = {
            "counter": counter + 1,
            "t_ms": int(self.clock() if t_ms is None else t_ms),
            "event": event,
            "parameter": _text_value(parameter, "parameter"),
            "old": _text_value(old, "old value"),
            "new": _text_value(new, "new value"),
            "actor": actor,
            "software_id": self.software_id,
            "prev": prev,
        }
        rec["hash"] = record_hash(rec)
        rec["signature"] = signing.encode_signature(signing.sign(self.signer, "audit", bytes.fromhex(rec["hash"])))
        conn.execute(
            "INSERT INTO audit_record (counter, t_ms, event, parameter, old, new, actor, software_id, prev, hash,"
            " signature) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            tuple(rec[k] for k in FIELDS + ("hash", "signature")),
        )
        # the signed head witness, in the same transaction: a cut tail leaves it pointing past the end
        conn.execute(
            "INSERT INTO audit_head (id, counter, hash, signature) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE"
            " SET counter = excluded.counter, hash = excluded.hash, signature = excluded.signature",
            (rec["counter"], rec["hash"], signing.encode_signature(
                signing.sign(self.signer, "audit", head_message(rec["counter"], rec["hash"])))))
        return rec

    def head_witness(self) -> dict | None:
        """The signed head witness row: {"counter", "hash", "signature"} of the newest record ever written."""
        row = self.conn.execute("SELECT counter, hash, signature FROM audit_head WHERE id = 1").fetchone()
        return {"counter": row[0], "hash": row[1], "signature": row[2]} if row else None

    def append(self, event: str, parameter=None, old=None, new=None, actor: str = "terminal",
               t_ms: int | None = None) -> dict:
        """Append one record (committed before returning unless the caller holds a transaction)."""
        with self._transaction():
            return self._insert(event, parameter, old, new, actor, t_ms)

    def use_nonce(self, nonce: str, event: str, parameter, actor: str, t_ms: int | None = None) -> dict:
        """Record a single-use authorisation as spent; AuditError if it was spent before."""
        with self._transaction():
            if self.conn.execute("SELECT 1 FROM audit_nonce WHERE nonce = ?", (nonce,)).fetchone():
                raise AuditError(f"authorisation nonce {nonce} was already used")
            rec = self._insert(event, parameter, None, nonce, actor, t_ms)
            self.conn.execute("INSERT INTO audit_nonce (nonce, counter) VALUES (?, ?)", (nonce, rec["counter"]))
            return rec

    def nonce_used(self, nonce: str) -> bool:
        return self.conn.execute("SELECT 1 FROM audit_nonce WHERE nonce = ?", (nonce,)).fetchone() is not None

    def acknowledge(self, up_to_counter: int, up_to_hash: str, actor: str, t_ms: int | None = None) -> dict:
        """An inspector acknowledges an export ending at record ``up_to_counter``: archive up to it."""
        with self._transaction():
            row = self.conn.execute("SELECT hash FROM audit_record WHERE counter = ?", (up_to_counter,)).fetchone()
            if row is None:
                raise AuditError(f"record #{up_to_counter} is not in the trail (already archived, or never written)")
            if row[0] != up_to_hash:
                raise AuditError(f"record #{up_to_counter} has another hash than the export names; not acknowledged")
            first = self.conn.execute("SELECT MIN(counter) FROM audit_record").fetchone()[0]
            rec = self._insert(ACK_EVENT, "audit_trail", f"{first}..{up_to_counter}",
                               f"{up_to_counter}:{up_to_hash}", actor, t_ms)
            self.conn.execute(
                "INSERT INTO audit_anchor (id, counter, hash) VALUES (1, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET counter = excluded.counter, hash = excluded.hash",
                (up_to_counter, up_to_hash),
            )
            self.conn.execute("DELETE FROM audit_record WHERE counter <= ?", (up_to_counter,))
            return rec

    # --- reading -----------------------------------------------------------------------------
    def anchor(self) -> dict | None:
        row = self.conn.execute("SELECT counter, hash FROM audit_anchor WHERE id = 1").fetchone()
        return {"counter": row[0], "hash": row[1]} if row else None

    def records(self) -> list[dict]:
        cur = self.conn.execute(
            "SELECT counter, t_ms, event, parameter, old, new, actor, software_id, prev, hash, signature"
            " FROM audit_record ORDER BY counter"
        )
        keys = FIELDS + ("hash", "signature")
        return [dict(zip(keys, row, strict=True)) for row in cur]

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM audit_record").fetchone()[0]

    @property
    def full(self) -> bool:
        return self.count() >= self.capacity

    def latest(self, event: str, parameter: str | None = None) -> dict | None:
        sql = "SELECT counter FROM audit_record WHERE event = ?"
        args: tuple = (event,)
        if parameter is not None:
            sql += " AND parameter = ?"
            args += (parameter,)
        row = self.conn.execute(sql + " ORDER BY counter DESC LIMIT 1", args).fetchone()
        if row is None:
            return None
        return next(r for r in self.records_from(row[0]))

    def records_from(self, counter: int):
        cur = self.conn.execute(
            "SELECT counter, t_ms, event, parameter, old, new, actor, software_id, prev, hash, signature"
            " FROM audit_record WHERE counter >= ? ORDER BY counter", (counter,)
        )
        keys = FIELDS + ("hash", "signature")
        for row in cur:
            yield dict(zip(keys, row, strict=True))

    def snapshot(self) -> dict:
        """Plain data for an export: anchor, capacity and every record held."""
        return {"anchor": self.anchor(), "capacity": self.capacity, "records": self.records(),
                "head": self.head_witness()}

    def verify(self, public_key: Ed25519PublicKey | None = None) -> AuditVerdict:
        return verify_records(self.records(), public_key or self.signer.public_key(), self.anchor())

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or nothing when the caller already holds a transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.own = False

    def __enter__(self):
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.own = True
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.own:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
