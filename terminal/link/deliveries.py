"""Platform-link room: one stored message, delivered separately to every configured link.

The outbox stores each uplink message once (table ``outbox``). When more than one
link is configured (MQTT, JT/T 808, JT/T 905), every link keeps its own delivery
state in ``outbox_link``: one row ``(link, seq)`` per message the link has not yet had
acknowledged. A link's acknowledgement deletes its own row; the stored message goes
when the last link's row goes. So an outage of one link holds back only that link's
rows; priorities, the window, the blind-area "resent" marking and the capacity rules
(the oldest location reports dropped first, for every link at once) are the outbox's
own, applied per link.

The table, its index and the trigger that keeps it in step with the outbox are created
here (``CREATE ... IF NOT EXISTS``), not as a storage migration: a terminal with only
the MQTT link never needs them.
"""

from __future__ import annotations

from collections.abc import Iterable

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox_link (
           link     TEXT    NOT NULL,
           seq      INTEGER NOT NULL,
           priority INTEGER NOT NULL,
           PRIMARY KEY (link, seq)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS outbox_link_by_priority ON outbox_link (link, priority, seq)",
    "CREATE INDEX IF NOT EXISTS outbox_link_by_seq ON outbox_link (seq)",
    # A message dropped for room (or deleted any other way) is gone for every link.
    """CREATE TRIGGER IF NOT EXISTS outbox_link_gone AFTER DELETE ON outbox BEGIN
           DELETE FROM outbox_link WHERE seq = old.seq; END""",
)


def attach(storage, links: Iterable[str], adopt_for: Iterable[str]) -> None:
    """Create the table and bring it in line with the configured ``links``.

    Messages stored while only one link existed have no rows yet: they become pending
    for ``adopt_for`` (the link that used to own the outbox, or every link). Rows of a
    link no longer configured are removed, and messages nobody waits for any more go.
    """
    links, adopt_for = list(links), list(adopt_for)
    with storage.transaction() as db:
        for sql in _SCHEMA:
            db.execute(sql)
        for link in adopt_for:
            db.execute(
                "INSERT OR IGNORE INTO outbox_link (link, seq, priority) SELECT ?, o.seq, o.priority FROM outbox o "
                "WHERE NOT EXISTS (SELECT 1 FROM outbox_link l WHERE l.seq = o.seq)", (link,))
        marks = ",".join("?" * len(links))
        db.execute(f"DELETE FROM outbox_link WHERE link NOT IN ({marks})", links)
        db.execute("DELETE FROM outbox WHERE NOT EXISTS (SELECT 1 FROM outbox_link l WHERE l.seq = outbox.seq)")


def fan_out(db, seq: int, priority: int, links: Iterable[str]) -> None:
    """Inside the storing transaction: the new message is pending for every link."""
    db.executemany("INSERT INTO outbox_link (link, seq, priority) VALUES (?, ?, ?)",
                   [(link, seq, priority) for link in links])


def next_rows(storage, link: str, priority: int, after_seq: int, limit: int) -> list[tuple]:
    """(seq, topic, priority, payload) of ``link``'s pending messages of one priority after a seq."""
    return storage.query(
        "SELECT o.seq, o.topic, o.priority, o.payload FROM outbox_link l JOIN outbox o ON o.seq = l.seq "
        "WHERE l.link = ? AND l.priority = ? AND l.seq > ? ORDER BY l.seq LIMIT ?",
        (link, priority, after_seq, limit))


def settle(db, link: str, seqs: list[int]) -> None:
    """``link`` has its acknowledgement for ``seqs``: its rows go, and each message nobody else waits for."""
    for start in range(0, len(seqs), 500):
        chunk = seqs[start:start + 500]
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM outbox_link WHERE link = ? AND seq IN ({marks})", [link, *chunk])
        db.execute(f"DELETE FROM outbox WHERE seq IN ({marks}) AND NOT EXISTS "
                   "(SELECT 1 FROM outbox_link l WHERE l.seq = outbox.seq)", chunk)


def pending(storage, link: str) -> int:
    return storage.query("SELECT COUNT(*) FROM outbox_link WHERE link = ?", (link,))[0][0]


def pending_rows(storage, link: str, limit: int | None) -> list[tuple]:
    sql = ("SELECT o.seq, o.topic, o.kind, o.priority, o.payload FROM outbox_link l JOIN outbox o ON o.seq = l.seq "
           "WHERE l.link = ? ORDER BY l.priority DESC, l.seq")
    if limit is not None:
        return storage.query(sql + " LIMIT ?", (link, limit))
    return storage.query(sql, (link,))
