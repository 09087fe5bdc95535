"""Outbox: store and forward for every uplink (the blind-area store, 盲区补传).

This is the post room. Nothing goes to the platform without first being written to the
database: ``enqueue`` assigns the per-terminal sequence number and stores the message in
one transaction. ``pump`` publishes stored messages at QoS 1 while the link is up, at
most ``window`` unacknowledged at a time; a message is deleted only after its PUBACK
arrives (with the next message stored, or on its own within ``ACK_HOLD_S``). After the
link comes back every message created before that connection (the backlog) goes out oldest first with ``"resent": true``; alarms carry a higher priority
and go ahead of the backlog. When the store is full the oldest location reports are
dropped first (counted), never trips, alarms, shifts, acks or audit records.

The outbox is driven by the loop that owns the state: it calls ``handle(event)`` for
``link`` and ``puback`` events and ``pump()`` after each batch of events. Delivery is at
least once: the platform recognises a duplicate by its ``seq``.

Several links (MQTT, JT/T 808, JT/T 905) share one outbox: ``add_links`` gives each
other link its own ``Outbox`` view on the same store (made with ``link=`` its name);
a message is stored once and delivered, acknowledged and deleted per link
(``deliveries.py``). Events that carry ``data["link"]`` go to that link's view; the
one outbox the loop holds pumps them all. With one link nothing of this is used.

Longer than 400 lines because storing, the per-link views and the acknowledgement
bookkeeping share one set of cursors, one lock and one transaction discipline.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from drivers.event import Event
from terminal.link import deliveries
from terminal.link.payloads import UPLINK_TYPES
from terminal.storage.database import Storage, StorageError

log = logging.getLogger(__name__)

# Higher goes first. Alarms overtake everything; command answers and order steps overtake the backlog
# so the platform is not kept waiting; everything else drains strictly oldest first. A record_query's
# records share the ack's priority, so they arrive before the ack that closes the answer.
DEFAULT_PRIORITY = {"alarm": 9, "ack": 5, "order": 5, "notice_ack": 5, "record": 5}
# Kinds that may be dropped when the store is full, in the order they are given up.
DROPPABLE = ("location", "health")
DEFAULT_CAPACITY = 100_000
DEFAULT_WINDOW = 100
# Acknowledged messages are deleted with the next message stored (one commit a report, not two),
# or on their own once the oldest has waited ACK_HOLD_S or ACK_BATCH have gathered. Until then a
# power cut can only make them go out again marked resent, as QoS 1 allows.
ACK_HOLD_S = 2.0
ACK_BATCH = 200

_LIVE = ',"resent":false'
_RESENT = ',"resent":true'
_RESERVED = ("seq", "resent")


class OutboxError(ValueError):
    """A message that cannot be queued (bad topic, kind, priority or payload); nothing stored."""


class Publisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> int | None:
        """Publish at QoS 1; return the message id, or None when it could not be sent."""


Builder = Callable[[int], dict]


class Outbox:
    def __init__(
        self,
        storage: Storage,
        publisher: Publisher | None = None,
        *,
        capacity: int = DEFAULT_CAPACITY,
        window: int = DEFAULT_WINDOW,
        link: str | None = None,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise OutboxError(f"outbox capacity must be a positive integer, got {capacity!r}")
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 65_000:
            raise OutboxError(f"outbox window must be an integer in 1..65000, got {window!r}")
        self._storage = storage
        self.publisher = publisher
        self.capacity = capacity
        self.window = window
        self._effective_window = window
        self._up = False
        # Messages with seq <= this were created before the current connection came up.
        self._backlog_mark = 0
        # Per priority: the highest seq published on the current connection.
        self._cursor: dict[int, int] = {}
        # Replaced, never mutated, so the pump can read it while another thread enqueues.
        self._priorities = frozenset(row[0] for row in storage.query("SELECT DISTINCT priority FROM outbox"))
        # Acknowledgement bookkeeping may be touched from a network thread: one lock.
        self._ack_lock = threading.Lock()
        self._inflight: dict[int, int] = {}  # mid -> seq
        self._early: set[int] = set()  # acks whose mid was not recorded yet
        self._acked: list[int] = []  # seqs acknowledged, to delete in one transaction
        self._acked_at: float | None = None  # when the oldest of them was acknowledged (monotonic)
        self.refused = 0
        self.too_large = 0           # messages held back: over the broker's Maximum Packet Size
        self._max_packet: int | None = None
        # Several links: this view's name, the other links' views, and every link a message waits for.
        self.link = link
        self._links: list[Outbox] = []
        self._fanout: tuple[str, ...] = ()
        self._per_link = False
        # Replaced on every store and every link change; the pump skips its query while it
        # is the one it saw when the query last came back empty (nothing new to send).
        self._stored = object()
        self._drained: object | None = None

    def add_links(self, others: list[Outbox], own: str | None) -> None:
        """Deliver every stored message over ``others`` too (``Outbox`` views made with ``link=``
        their names, on the same storage). ``own`` names this outbox's own publisher's link
        (None when it has none). Call once, at start-up, before anything is pumped."""
        names = ([own] if own else []) + [o.link for o in others]
        if any(not n for n in names) or len(set(names)) != len(names):
            raise OutboxError(f"every link needs its own name, got {names!r}")
        deliveries.attach(self._storage, names, adopt_for=[own] if own else names)
        self.link, self._links, self._fanout = own, list(others), tuple(names)
        self._per_link = own is not None
        for other in others:
            other._per_link = True
            other._priorities = self._priorities

    # -- storing ---------------------------------------------------------------------------------

    def enqueue(self, topic: str, payload: dict | Builder, kind: str, priority: int | None = None) -> int | None:
        """Store one uplink message; returns its seq, or None when the store was full and the
        message itself was the one given up (a location report with nothing older to drop).

        ``payload`` is either the message body (a dict without ``seq``/``resent``; the outbox
        adds ``type`` = kind, ``seq``, ``ts`` = now unless given, ``resent`` = false), or a
        builder ``f(seq) -> dict`` that returns the whole message for the seq it is given
        (e.g. ``lambda seq: payloads.location(seq=seq, ...)``); it runs inside the storing
        transaction, so an exception from it stores nothing and uses up no seq.
        """
        if kind not in UPLINK_TYPES:
            raise OutboxError(f"unknown uplink type {kind!r}; known: {', '.join(UPLINK_TYPES)}")
        if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic or "\0" in topic:
            raise OutboxError(f"uplink topic must be a plain MQTT topic name, got {topic!r}")
        if priority is None:
            priority = DEFAULT_PRIORITY.get(kind, 0)
        if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
            raise OutboxError(f"priority must be an integer 0..9, got {priority!r}")
        text_for = None
        if not callable(payload):
            if not isinstance(payload, dict):
                raise OutboxError(f"payload must be an object or a builder, got {type(payload).__name__}")
            for key in _RESERVED:
                if key in payload:
                    raise OutboxError(f"payload must not set {key!r}: the outbox assigns it")
            text_for = self._body_text(kind, payload)
            text_for(1)  # not JSON -> OutboxError before anything is written

        # What the links had acknowledged is deleted in this commit, not in one of its own.
        seq = self._with_acked_deleted(lambda db: self._store(db, topic, payload, kind, priority, text_for))
        if seq is None:
            return None
        if priority not in self._priorities:
            self._priorities = self._priorities | {priority}
            for other in self._links:
                other._priorities = self._priorities
        self._stored = object()
        for other in self._links:
            other._stored = object()
        return seq

    def _store(self, db, topic: str, payload, kind: str, priority: int, text_for) -> int | None:
        seq = int(_kv(db, "outbox.seq", "0")) + 1
        _kv_put(db, "outbox.seq", str(seq))
        count = int(_kv(db, "outbox.count", "0"))
        if count >= self.capacity and not self._make_room(db, count):
            if kind in DROPPABLE:
                self._count_drop(db, kind, 1)
                log.warning("outbox full (%d): %s report seq %d dropped", count, kind, seq)
                return None
            log.warning("outbox full (%d) of records that are never dropped; keeping %s seq %d",
                        count, kind, seq)
        text = self._built_text(kind, seq, payload(seq)) if callable(payload) else text_for(seq)
        db.execute(
            "INSERT INTO outbox (seq, topic, kind, priority, payload, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (seq, topic, kind, priority, text, self._storage.now_ms()),
        )
        if self._fanout:
            deliveries.fan_out(db, seq, priority, self._fanout)
        return seq

    def _body_text(self, kind: str, payload: dict) -> Callable[[int], str]:
        if payload.get("type", kind) != kind:
            raise OutboxError(f"payload type {payload['type']!r} contradicts kind {kind!r}")
        ts = payload.get("ts")
        if ts is None:
            ts = self._storage.now_ms()
        rest = {k: v for k, v in payload.items() if k not in ("type", "ts")}
        return lambda seq: _envelope_text(kind, seq, ts, rest)

    @staticmethod
    def _built_text(kind: str, seq: int, message) -> str:
        if not isinstance(message, dict):
            raise OutboxError(f"{kind} builder returned {type(message).__name__}, not an object")
        if message.get("seq") != seq or message.get("type") != kind or message.get("resent", False) is not False:
            raise OutboxError(
                f"{kind} builder must return type={kind!r}, seq={seq}, resent=false; got type="
                f"{message.get('type')!r}, seq={message.get('seq')!r}, resent={message.get('resent')!r}"
            )
        rest = {k: v for k, v in message.items() if k not in ("type", "seq", "ts", "resent")}
        return _envelope_text(kind, seq, message.get("ts"), rest)

    def _make_room(self, db, count: int) -> bool:
        """Drop the oldest droppable records until there is room for one; False if none."""
        excess = count - self.capacity + 1
        for kind in DROPPABLE:
            rows = db.execute(
                "SELECT seq FROM outbox WHERE kind = ? ORDER BY seq LIMIT ?", (kind, excess)
            ).fetchall()
            if rows:
                db.execute(
                    f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(rows))})", [r[0] for r in rows]
                )
                self._count_drop(db, kind, len(rows))
                excess -= len(rows)
            if excess <= 0:
                return True
        return False

    @staticmethod
    def _count_drop(db, kind: str, n: int) -> None:
        key = f"outbox.dropped.{kind}"
        _kv_put(db, key, str(int(_kv(db, key, "0")) + n))

    # -- link and acknowledgements -----------------------------------------------------------

    def handle(self, event: Event) -> bool:
        """Apply a ``link`` or ``puback`` event; False for any other kind (not ours)."""
        if event.data.get("link", self.link) != self.link:
            return any(other.handle(event) for other in self._links)
        if event.kind == "puback":
            self.on_puback(event.data["mid"], event.data.get("ok", True))
            return True
        if event.kind == "link":
            if event.data["up"]:
                self.on_link_up(event.data.get("receive_maximum"), event.data.get("maximum_packet_size"))
            else:
                self.on_link_down()
            return True
        return False

    def on_link_up(self, receive_maximum: int | None = None, maximum_packet_size: int | None = None) -> None:
        """``maximum_packet_size``: the broker's (MQTT 5 CONNACK); a message over it is held back."""
        self._max_packet = maximum_packet_size or None
        self._stored = object()
        self._backlog_mark = self.last_seq()
        self._effective_window = min(self.window, receive_maximum) if receive_maximum else self.window
        self._cursor.clear()
        with self._ack_lock:
            self._inflight.clear()
            self._early.clear()
        self._up = True

    def on_link_down(self) -> None:
        self._stored = object()
        # Whatever was in flight is published again (marked resent) on the next connection.
        self._up = False
        self._cursor.clear()
        with self._ack_lock:
            self._inflight.clear()
            self._early.clear()

    def on_puback(self, mid: int, ok: bool = True) -> None:
        """The broker acknowledged ``mid``. Safe to call from any thread, even before the
        publishing call has returned the mid (the ack is then matched when it is recorded)."""
        with self._ack_lock:
            seq = self._inflight.pop(mid, None)
            if seq is None:
                self._early.add(mid)
                return
            self._settle(seq, ok)

    def _settle(self, seq: int, ok: bool) -> None:
        if ok:
            if not self._acked:
                self._acked_at = time.monotonic()
            self._acked.append(seq)
        else:
            # Refused by the broker (e.g. not authorised): kept, tried again on the next connection.
            self.refused += 1
            log.warning("outbox: broker refused seq %d; kept for the next connection", seq)

    # -- publishing ----------------------------------------------------------------------------

    def pump(self) -> int:
        """Delete acknowledged messages, then publish as many as the window allows, on every link.

        Returns the number of messages handed to the publishers.
        """
        sent = self._pump_own()
        for other in self._links:
            sent += other.pump()
        return sent

    def _pump_own(self) -> int:
        self._delete_acked_if_due()
        if not self._up or self.publisher is None:
            return 0
        sent = 0
        while True:
            with self._ack_lock:
                free = self._effective_window - len(self._inflight)
            if free <= 0:
                return sent
            stored = self._stored
            if stored is self._drained:
                return sent
            rows = self._next_rows(free)
            if not rows:
                self._drained = stored
                return sent
            for seq, topic, priority, text in rows:
                if seq <= self._backlog_mark:
                    # The envelope comes first, so the first "resent" is the envelope's.
                    text = text.replace(_LIVE, _RESENT, 1)
                data = text.encode()
                if self._max_packet is not None and packet_size(topic, data) > self._max_packet:
                    # The broker would close the connection and the message would go again after
                    # every reconnect, holding up everything else: it stays stored for a broker
                    # that takes it (the next connection asks again).
                    self.too_large += 1
                    log.error("outbox: seq %d (%s, %d bytes) is over the broker's maximum packet size %d; "
                              "kept, not sent on this connection", seq, topic, len(data), self._max_packet)
                    self._cursor[priority] = seq
                    continue
                mid = self.publisher.publish(topic, data)
                if mid is None:
                    # The link is going down; its event will arrive and reset the cursors.
                    return sent
                self._cursor[priority] = seq
                sent += 1
                with self._ack_lock:
                    if mid in self._early:
                        self._early.discard(mid)
                        self._settle(seq, True)
                    else:
                        self._inflight[mid] = seq

    def drain(self, events: queue.Queue, timeout_s: float) -> int:
        """At a clean stop, after the loop ended: take ``puback``/``link`` events off ``events``
        until nothing is in flight (or ``timeout_s``), then delete what was acknowledged, so
        nothing the broker already holds is published again after the restart. Other events
        are left behind (the loop is gone). Returns the messages still unacknowledged."""
        end = time.monotonic() + timeout_s
        while True:
            with self._ack_lock:
                inflight = len(self._inflight)
            if not inflight or not self._up:
                break
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                event = events.get(timeout=min(left, 0.05))
            except queue.Empty:
                continue
            self.handle(event)
        self._delete_acked()
        with self._ack_lock:
            return len(self._inflight)

    def _next_rows(self, limit: int) -> list[tuple]:
        rows: list[tuple] = []
        for priority in sorted(self._priorities, reverse=True):
            if self._per_link:
                rows += deliveries.next_rows(self._storage, self.link, priority, self._cursor.get(priority, 0),
                                             limit - len(rows))
            else:
                rows += self._storage.query(
                    "SELECT seq, topic, priority, payload FROM outbox WHERE priority = ? AND seq > ? "
                    "ORDER BY seq LIMIT ?",
                    (priority, self._cursor.get(priority, 0), limit - len(rows)),
                )
            if len(rows) >= limit:
                break
        return rows

    def _delete_acked_if_due(self) -> None:
        """Delete what was acknowledged if it waited ACK_HOLD_S or ACK_BATCH gathered; else the
        next message stored takes it along."""
        with self._ack_lock:
            due = self._acked and (len(self._acked) >= ACK_BATCH
                                   or time.monotonic() - self._acked_at >= ACK_HOLD_S)
        if due:
            self._delete_acked()

    def _delete_acked(self) -> None:
        if any(view._acked for view in (self, *self._links)):
            self._with_acked_deleted(lambda db: None)

    def _with_acked_deleted(self, write: Callable):
        """``write(db)`` in one transaction with the deletion of what every link had acknowledged;
        if it fails, nothing is deleted and the acknowledgements wait for the next write."""
        taken = []
        for view in (self, *self._links):
            with view._ack_lock:
                taken.append((view, view._acked, view._acked_at))
                view._acked, view._acked_at = [], None
        try:
            with self._storage.transaction() as db:
                for view, acked, _ in taken:
                    if acked:
                        view._delete_rows(db, acked)
                return write(db)
        except BaseException:
            for view, acked, acked_at in taken:
                with view._ack_lock:
                    if acked:
                        view._acked, view._acked_at = acked + view._acked, acked_at
            raise

    def _delete_rows(self, db, acked: list[int]) -> None:
        if self._per_link:
            deliveries.settle(db, self.link, acked)
            return
        for start in range(0, len(acked), 500):
            chunk = acked[start : start + 500]
            db.execute(f"DELETE FROM outbox WHERE seq IN ({','.join('?' * len(chunk))})", chunk)

    # -- what health reports and inspectors see -------------------------------------------------

    def last_seq(self) -> int:
        return int(self._storage.kv_get("outbox.seq", "0"))

    def pending(self) -> int:
        """Messages stored and not yet acknowledged (after deleting the acknowledged ones);
        for another link's view, the messages that link has not had acknowledged."""
        self._delete_acked()
        if self._per_link and not self._fanout:
            return deliveries.pending(self._storage, self.link)
        return int(self._storage.kv_get("outbox.count", "0"))

    def dropped(self) -> dict[str, int]:
        return {kind: int(self._storage.kv_get(f"outbox.dropped.{kind}", "0")) for kind in DROPPABLE}

    def stats(self) -> dict:
        dropped = self.dropped()
        with self._ack_lock:
            inflight = len(self._inflight)
        return {
            "pending": self.pending(),
            "inflight": inflight,
            "window": self._effective_window,
            "capacity": self.capacity,
            "dropped": dropped,
            "dropped_total": sum(dropped.values()),
            "refused": self.refused,
            "too_large": self.too_large,
            "link_up": self._up,
            "last_seq": self.last_seq(),
            **({"links": {other.link: other.stats() for other in self._links}} if self._links else {}),
        }

    def messages(self, limit: int | None = None) -> list[dict]:
        """Stored, unacknowledged messages, highest priority first, oldest first within one."""
        self._delete_acked()
        sql = "SELECT seq, topic, kind, priority, payload FROM outbox ORDER BY priority DESC, seq"
        if self._per_link and not self._fanout:
            rows = deliveries.pending_rows(self._storage, self.link, limit)
        else:
            rows = self._storage.query(sql + (" LIMIT ?" if limit is not None else ""),
                                       (limit,) if limit is not None else ())
        return [{"seq": s, "topic": t, "kind": k, "priority": p, "payload": json.loads(x)}
                for s, t, k, p, x in rows]


def _envelope_text(kind: str, seq: int, ts, rest: dict) -> str:
    """The stored message: envelope fields first, in a fixed order, then the body."""
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        raise OutboxError(f"ts must be non-negative integer epoch ms, got {ts!r}")
    for key in ("type", "seq", "ts", "resent"):
        if key in rest:
            raise OutboxError(f"body must not repeat the envelope field {key!r}")
    try:
        body = json.dumps(rest, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise OutboxError(f"{kind} payload is not plain JSON: {exc}") from exc
    head = f'{{"type":{json.dumps(kind)},"seq":{seq},"ts":{ts}{_LIVE}'
    return head + ("," + body[1:] if len(body) > 2 else "}")


def _kv(db, key: str, default: str) -> str:
    row = db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
    return row[0] if row else default


def _kv_put(db, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def packet_size(topic: str, payload: bytes) -> int:
    """An upper bound of the MQTT 5 PUBLISH packet for ``payload`` on ``topic`` at QoS 1: fixed header
    (at most 5 bytes), topic (2 + its bytes), packet id (2), properties (at most 5 with none set)."""
    return 5 + 2 + len(topic.encode()) + 2 + 5 + len(payload)


__all__ = ["Outbox", "OutboxError", "Publisher", "StorageError", "UPLINK_TYPES"]
