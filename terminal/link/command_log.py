"""The replay cache of downlink commands (link room): every authenticated command id with its acknowledgement.

Exactly-once effects: a command is applied in the same transaction that records its
cmd_id and the acknowledgement it got; a command whose cmd_id is already here is
acknowledged again with that stored result and never applied twice, also after a
restart. Rows older than the keep time (twice the timestamp window: by then a replay
is refused as stale anyway) and beyond ``max_rows`` are pruned. The table belongs to
this module (``CREATE TABLE IF NOT EXISTS``), in the terminal's database.
"""

from __future__ import annotations

import json

TABLE = """CREATE TABLE IF NOT EXISTS downlink_commands (
    cmd_id      TEXT PRIMARY KEY,
    command     TEXT NOT NULL,
    issued_ms   INTEGER,
    received_ms INTEGER NOT NULL,
    ack         TEXT NOT NULL
)"""


class CommandLog:
    def __init__(self, storage, keep_ms: int, max_rows: int = 100_000) -> None:
        self.storage = storage
        self.keep_ms = keep_ms
        self.max_rows = max_rows
        with storage.transaction() as db:
            db.execute(TABLE)
            db.execute("CREATE INDEX IF NOT EXISTS downlink_commands_received ON downlink_commands (received_ms)")
        self._since_prune = 0

    def result(self, cmd_id: str) -> dict | None:
        """The acknowledgement body this command id got the first time, or None when it is new."""
        rows = self.storage.query("SELECT ack FROM downlink_commands WHERE cmd_id = ?", (cmd_id,))
        return json.loads(rows[0][0]) if rows else None

    def record(self, cmd_id: str, command: str, issued_ms: int | None, now_ms: int, ack: dict) -> None:
        """Remember ``cmd_id`` and its acknowledgement (call inside the transaction that applies it)."""
        with self.storage.transaction() as db:
            db.execute("INSERT OR REPLACE INTO downlink_commands (cmd_id, command, issued_ms, received_ms, ack) "
                       "VALUES (?, ?, ?, ?, ?)",
                       (cmd_id, command, issued_ms, now_ms, json.dumps(ack, ensure_ascii=False, sort_keys=True)))
            self._since_prune += 1
            if self._since_prune >= 100:
                self._since_prune = 0
                self._prune(db, now_ms)

    def _prune(self, db, now_ms: int) -> None:
        db.execute("DELETE FROM downlink_commands WHERE received_ms < ?", (now_ms - self.keep_ms,))
        db.execute("DELETE FROM downlink_commands WHERE cmd_id IN (SELECT cmd_id FROM downlink_commands "
                   "ORDER BY received_ms DESC LIMIT -1 OFFSET ?)", (self.max_rows,))

    def __len__(self) -> int:
        return self.storage.query("SELECT COUNT(*) FROM downlink_commands")[0][0]
