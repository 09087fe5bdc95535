"""Outbox rules without a network: sequence numbers, priorities, the window, acks that
overtake their publish call, the bound and its drop policy, resent marking.

The publisher here is a recording stand-in (the broker side is exercised for real in
test_link.py); it lets a test decide exactly when each acknowledgement arrives.
"""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.event import Event
from terminal.link.outbox import Outbox, OutboxError
from terminal.storage.database import Storage

TOPIC = "taxi/T0001/up/"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[int, str, dict]] = []  # (mid, topic, payload)
        self.down = False
        self.ack_inside_publish = None  # an outbox: ack from "the network thread" before returning

    def publish(self, topic: str, payload: bytes) -> int | None:
        if self.down:
            return None
        mid = len(self.sent) + 1
        self.sent.append((mid, topic, json.loads(payload)))
        if self.ack_inside_publish is not None:
            self.ack_inside_publish.on_puback(mid)
        return mid

    def seqs(self) -> list[int]:
        return [p["seq"] for _, _, p in self.sent]


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "t.db", clock=lambda: 1_795_000_000_000) as s:
        yield s


def put(outbox, kind, **body):
    return outbox.enqueue(TOPIC + kind, body, kind)


def ack_all(outbox, rec):
    for mid, _, _ in rec.sent:
        outbox.handle(Event("puback", 0, {"mid": mid, "ok": True}))


def test_seq_is_assigned_in_order_and_survives_a_restart(tmp_path):
    with Storage(tmp_path / "t.db") as s:
        outbox = Outbox(s)
        assert [put(outbox, "location", speed=i) for i in range(3)] == [1, 2, 3]
    with Storage(tmp_path / "t.db") as s:
        outbox = Outbox(s)
        assert put(outbox, "alarm", alarm=1) == 4
        assert [m["payload"]["seq"] for m in outbox.messages()] == [4, 1, 2, 3]  # alarm first


def test_the_envelope_carries_type_seq_ts_and_resent(storage):
    outbox = Outbox(storage)
    put(outbox, "location", latitude=22543096, extra={"mileage": 12})
    outbox.enqueue(TOPIC + "ack", {"cmd_id": "c1", "ts": 5}, "ack")
    messages = outbox.messages()
    assert messages[0]["payload"] == {"type": "ack", "seq": 2, "ts": 5, "resent": False, "cmd_id": "c1"}
    assert messages[1]["payload"] == {"type": "location", "seq": 1, "ts": 1_795_000_000_000, "resent": False,
                                      "latitude": 22543096, "extra": {"mileage": 12}}


def test_a_builder_gets_the_seq_inside_the_storing_transaction(storage):
    outbox = Outbox(storage)
    built = outbox.enqueue(TOPIC + "daily", lambda seq: {"type": "daily", "seq": seq, "ts": 9, "resent": False,
                                                         "trips": 4}, "daily")
    assert outbox.messages()[0]["payload"] == {"type": "daily", "seq": built, "ts": 9, "resent": False, "trips": 4}

    def broken(seq):
        raise ValueError("no position yet")

    with pytest.raises(ValueError):
        outbox.enqueue(TOPIC + "daily", broken, "daily")
    with pytest.raises(OutboxError, match="seq=2"):
        outbox.enqueue(TOPIC + "daily", lambda seq: {"type": "daily", "seq": 99, "ts": 1}, "daily")
    assert outbox.pending() == 1 and put(outbox, "daily") == 2  # failed builds used up no seq


@pytest.mark.parametrize(
    "topic, body, kind, priority, message",
    [
        (TOPIC + "location", {}, "teleport", None, "unknown uplink type"),
        ("taxi/+/up/location", {}, "location", None, "plain MQTT topic"),
        (TOPIC + "location", {"seq": 4}, "location", None, "must not set 'seq'"),
        (TOPIC + "location", {"resent": True}, "location", None, "must not set 'resent'"),
        (TOPIC + "location", {"type": "alarm"}, "location", None, "contradicts"),
        (TOPIC + "location", {"ts": "now"}, "location", None, "ts must be"),
        (TOPIC + "location", {"x": {1, 2}}, "location", None, "not plain JSON"),
        (TOPIC + "location", {}, "location", 10, "priority"),
        (TOPIC + "location", [], "location", None, "object"),
    ],
)
def test_bad_messages_are_refused_and_use_up_nothing(storage, topic, body, kind, priority, message):
    outbox = Outbox(storage)
    with pytest.raises(OutboxError, match=message):
        outbox.enqueue(topic, body, kind, priority)
    assert outbox.pending() == 0 and outbox.last_seq() == 0


def test_nothing_is_published_while_the_link_is_down(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec)
    put(outbox, "location")
    assert outbox.pump() == 0 and rec.sent == []


def test_deleted_only_on_puback(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec)
    outbox.handle(Event("link", 0, {"up": True}))
    put(outbox, "trip", trip_no=1)
    put(outbox, "trip", trip_no=2)
    outbox.pump()
    assert rec.seqs() == [1, 2] and outbox.pending() == 2
    outbox.handle(Event("puback", 0, {"mid": 2, "ok": True}))
    outbox.pump()
    assert [m["seq"] for m in outbox.messages()] == [1]


def test_an_ack_that_arrives_before_publish_returns_is_not_lost(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec)
    rec.ack_inside_publish = outbox
    outbox.on_link_up()
    for i in range(5):
        put(outbox, "location", speed=i)
    outbox.pump()
    assert len(rec.sent) == 5
    assert outbox.pending() == 0 and outbox.stats()["inflight"] == 0


def test_the_window_bounds_unacknowledged_messages(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec, window=10)
    outbox.on_link_up(receive_maximum=4)  # the broker's Receive Maximum is lower still
    for i in range(25):
        put(outbox, "location", speed=i)
    outbox.pump()
    assert rec.seqs() == [1, 2, 3, 4]
    for mid in (1, 2):
        outbox.on_puback(mid)
    outbox.pump()
    assert rec.seqs() == [1, 2, 3, 4, 5, 6]


def test_after_a_reconnect_the_backlog_goes_oldest_first_marked_resent_with_alarms_ahead(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec, window=3)
    outbox.on_link_up()
    put(outbox, "location", speed=1)
    outbox.pump()
    assert rec.sent[-1][2]["resent"] is False  # live
    outbox.on_link_down()  # seq 1 was never acknowledged
    for i in range(2, 6):
        put(outbox, "location", speed=i)
    outbox.on_link_up()
    put(outbox, "alarm", alarm=1)  # live alarm: created on this connection
    outbox.pump()
    assert [(p["seq"], p["type"], p["resent"]) for _, _, p in rec.sent[1:]] == [
        (6, "alarm", False), (1, "location", True), (2, "location", True)]
    ack_all(outbox, rec)
    put(outbox, "location", speed=7)
    while outbox.pump():
        ack_all(outbox, rec)
    assert [(p["seq"], p["resent"]) for _, _, p in rec.sent[4:]] == [(3, True), (4, True), (5, True), (7, False)]
    assert outbox.pending() == 0


def test_a_publish_the_link_cannot_take_is_tried_again_after_reconnect(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec)
    outbox.on_link_up()
    put(outbox, "trip", trip_no=1)
    rec.down = True  # the connection dropped; its event has not reached the loop yet
    assert outbox.pump() == 0
    outbox.on_link_down()
    rec.down = False
    outbox.on_link_up()
    outbox.pump()
    assert [(p["seq"], p["resent"]) for _, _, p in rec.sent] == [(1, True)]


def test_a_refused_publish_is_kept_for_the_next_connection(storage):
    rec = Recorder()
    outbox = Outbox(storage, rec)
    outbox.on_link_up()
    put(outbox, "trip", trip_no=1)
    outbox.pump()
    outbox.handle(Event("puback", 0, {"mid": 1, "ok": False, "reason": "Not authorized"}))
    assert outbox.pump() == 0 and outbox.pending() == 1 and outbox.stats()["refused"] == 1
    outbox.on_link_down()
    outbox.on_link_up()
    outbox.pump()
    assert rec.seqs() == [1, 1]


def test_when_full_the_oldest_location_reports_go_first_and_are_counted(storage):
    outbox = Outbox(storage, capacity=5)
    put(outbox, "location", n=1)
    put(outbox, "trip", trip_no=1)
    put(outbox, "location", n=2)
    put(outbox, "health", n=1)
    put(outbox, "alarm", alarm=1)
    put(outbox, "shift", event="sign_in")  # full: location n=1 goes
    put(outbox, "audit", what="tariff")  # location n=2 goes
    put(outbox, "ack", cmd_id="c")  # no location left: the health report goes
    assert sorted(m["kind"] for m in outbox.messages()) == ["ack", "alarm", "audit", "shift", "trip"]
    assert outbox.dropped() == {"location": 2, "health": 1}
    assert put(outbox, "location", n=3) is None  # nothing droppable is older: this one is given up
    assert outbox.stats()["dropped_total"] == 4
    put(outbox, "daily", trips=4)  # never dropped: stored above the bound
    assert outbox.pending() == 6
    # the counts are durable, for the next health report after a restart
    assert Outbox(storage, capacity=5).dropped() == {"location": 3, "health": 1}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(st.just("enqueue"), st.sampled_from(["location", "alarm", "trip", "ack"])),
    st.tuples(st.just("up"), st.integers(1, 6)),
    st.tuples(st.just("down"), st.none()),
    st.tuples(st.just("ack"), st.integers(0, 3)),
    st.tuples(st.just("pump"), st.none()),
), max_size=60))
def test_every_message_is_delivered_once_acknowledged_in_order_within_its_priority(
        tmp_path_factory, operations):
    with Storage(tmp_path_factory.mktemp("p") / "t.db", clock=lambda: 1) as storage:
        rec = Recorder()
        outbox = Outbox(storage, rec, window=4)
        enqueued, up, mark = [], False, 0
        connection = []  # messages published on the current connection

        def check_connection():
            for kind_group in ({"alarm"}, {"ack"}, {"location", "trip"}):
                seqs = [p["seq"] for p in connection if p["type"] in kind_group]
                assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

        def pump():
            before = len(rec.sent)
            outbox.pump()
            for _, _, payload in rec.sent[before:]:
                assert payload["resent"] is (payload["seq"] <= mark)
                connection.append(payload)
            check_connection()

        for op, arg in operations:
            if op == "enqueue":
                enqueued.append(put(outbox, arg))
            elif op == "up" and not up:
                outbox.on_link_up(receive_maximum=arg)
                up, mark, connection = True, outbox.last_seq(), []
            elif op == "down" and up:
                outbox.on_link_down()
                up = False
            elif op == "ack" and up and rec.sent:
                mid, _, payload = rec.sent[-1 - min(arg, len(rec.sent) - 1)]
                outbox.on_puback(mid)
            elif op == "pump":
                pump()
        # Drain: a stable connection that acknowledges everything.
        if not up:
            outbox.on_link_up()
            mark, connection = outbox.last_seq(), []
        for mid, _, _ in rec.sent:  # whatever is still in flight is acknowledged now
            outbox.on_puback(mid)
        for _ in range(len(enqueued) + 2):
            before = len(rec.sent)
            pump()
            for mid, _, _ in rec.sent[before:]:
                outbox.on_puback(mid)
        assert outbox.pending() == 0
        assert {p["seq"] for _, _, p in rec.sent} == set(enqueued)


def _rows(storage):
    return [seq for (seq,) in storage.query("SELECT seq FROM outbox ORDER BY seq")]


def _acknowledged(storage, kind="location", **body):
    """An outbox on a live link with one message published and acknowledged, and its publisher."""
    rec = Recorder()
    outbox = Outbox(storage, rec)
    outbox.handle(Event("link", 0, {"up": True}))
    put(outbox, kind, **body)
    outbox.pump()
    ack_all(outbox, rec)
    return outbox, rec


def test_what_was_acknowledged_goes_with_the_next_message_stored(storage):
    outbox, _ = _acknowledged(storage, speed=1)
    outbox.pump()                  # acknowledged: deleted with the next store, not in a commit of its own
    assert put(outbox, "location", speed=2) == 2
    assert _rows(storage) == [2]


def test_an_acknowledged_message_not_yet_deleted_goes_out_again_marked_resent_after_a_power_cut(tmp_path):
    with Storage(tmp_path / "t.db") as s:
        outbox, _ = _acknowledged(s, "trip", trip_no=7)
        outbox.pump()
    # the power goes before anything else was stored: at least once, never lost
    with Storage(tmp_path / "t.db") as s:
        rec = Recorder()
        outbox = Outbox(s, rec)
        outbox.handle(Event("link", 0, {"up": True}))
        outbox.pump()
        assert [(p["trip_no"], p["resent"]) for _, _, p in rec.sent] == [(7, True)]


def test_acknowledgements_wait_at_most_ack_hold_s_for_a_store(storage, monkeypatch):
    import terminal.link.outbox as outbox_mod
    outbox, _ = _acknowledged(storage, speed=1)
    monkeypatch.setattr(outbox_mod, "ACK_HOLD_S", 0.0)
    outbox.pump()
    assert _rows(storage) == []


def test_a_store_that_fails_keeps_the_acknowledgements_for_the_next_one(storage):
    outbox, _ = _acknowledged(storage, speed=1)

    def broken(seq):
        raise OutboxError("no body")
    with pytest.raises(OutboxError):
        outbox.enqueue(TOPIC + "daily", broken, "daily")
    assert _rows(storage) == [1]                 # the failed store deleted nothing
    assert put(outbox, "location", speed=2) == 2
    assert _rows(storage) == [2]
