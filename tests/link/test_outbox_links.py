"""One outbox, several links: stored once, delivered and deleted per link, one link's
outage holds back nobody else, priorities/resent/drops the same on every link."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.event import Event
from terminal.link.outbox import Outbox, OutboxError
from terminal.storage.database import Storage
from tests.link.test_outbox import Recorder, put


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "t.db", clock=lambda: 1_795_000_000_000) as s:
        yield s


def three_links(storage, **kw):
    mqtt, jt808, jt905 = Recorder(), Recorder(), Recorder()
    outbox = Outbox(storage, mqtt, **kw)
    views = {"jt808": Outbox(storage, jt808, link="jt808", **kw), "jt905": Outbox(storage, jt905, link="jt905", **kw)}
    outbox.add_links(list(views.values()), own="mqtt")
    return outbox, {"mqtt": mqtt, "jt808": jt808, "jt905": jt905}


def up(outbox, link):
    data = {"up": True} if link == "mqtt" else {"up": True, "link": link}
    outbox.handle(Event("link", 0, data))


def down(outbox, link):
    data = {"up": False} if link == "mqtt" else {"up": False, "link": link}
    outbox.handle(Event("link", 0, data))


def ack(outbox, link, mid, ok=True):
    data = {"mid": mid, "ok": ok} if link == "mqtt" else {"mid": mid, "ok": ok, "link": link}
    assert outbox.handle(Event("puback", 0, data))


def stored(storage):
    return [seq for (seq,) in storage.query("SELECT seq FROM outbox ORDER BY seq")]


def test_a_message_stays_until_every_link_has_its_acknowledgement(storage):
    outbox, rec = three_links(storage)
    for link in rec:
        up(outbox, link)
    seq = put(outbox, "trip", trip_no=1)
    outbox.pump()
    assert all(r.seqs() == [seq] for r in rec.values())
    ack(outbox, "mqtt", 1)
    ack(outbox, "jt808", 1)
    outbox.pump()
    assert stored(storage) == [seq]
    assert outbox.stats()["links"]["jt905"]["pending"] == 1
    assert outbox.stats()["links"]["jt808"]["pending"] == 0
    ack(outbox, "jt905", 1)
    outbox.pump()
    assert outbox.pending() == 0 and stored(storage) == []


def test_an_outage_of_one_link_does_not_delay_the_others(storage):
    outbox, rec = three_links(storage)
    up(outbox, "mqtt")
    up(outbox, "jt808")
    seqs = [put(outbox, "location", speed=i) for i in range(5)]
    outbox.pump()
    assert rec["mqtt"].seqs() == seqs and rec["jt808"].seqs() == seqs and rec["jt905"].sent == []
    # the live ones were not resent on the links that were up
    assert not any(p["resent"] for _, _, p in rec["jt808"].sent)
    up(outbox, "jt905")  # after its outage: everything is backlog, marked resent, alarms first
    alarm = put(outbox, "alarm", stage="alarm")
    outbox.pump()
    assert rec["jt905"].seqs()[0] == alarm
    assert [p["resent"] for _, _, p in rec["jt905"].sent[1:]] == [True] * 5


def test_a_link_that_drops_gets_its_unacknowledged_messages_again_marked_resent(storage):
    outbox, rec = three_links(storage)
    for link in rec:
        up(outbox, link)
    put(outbox, "location", speed=1)
    outbox.pump()
    down(outbox, "jt905")
    ack(outbox, "mqtt", 1)
    ack(outbox, "jt808", 1)
    up(outbox, "jt905")
    outbox.pump()
    assert len(rec["jt905"].sent) == 2 and rec["jt905"].sent[1][2]["resent"] is True
    assert len(rec["mqtt"].sent) == 1


def test_drops_for_room_apply_to_every_link(storage):
    outbox, rec = three_links(storage, capacity=3)
    for i in range(5):
        put(outbox, "location", speed=i)
    assert outbox.dropped()["location"] == 2
    for link in rec:
        up(outbox, link)
    outbox.pump()
    assert all(r.seqs() == [3, 4, 5] for r in rec.values())
    counts = storage.query("SELECT link, COUNT(*) FROM outbox_link GROUP BY link ORDER BY link")
    assert counts == [("jt808", 3), ("jt905", 3), ("mqtt", 3)]


def test_messages_stored_before_the_links_were_added_are_owed_to_the_old_link(storage):
    old = Outbox(storage, Recorder())
    put(old, "trip", trip_no=1)
    outbox, rec = three_links(storage)
    for link in rec:
        up(outbox, link)
    outbox.pump()
    assert rec["mqtt"].seqs() == [1] and rec["jt808"].sent == [] and rec["jt905"].sent == []


def test_a_link_no_longer_configured_holds_nothing_back(storage):
    outbox, rec = three_links(storage)
    put(outbox, "trip", trip_no=1)
    again = Outbox(storage, Recorder())
    again.add_links([Outbox(storage, Recorder(), link="jt905")], own="mqtt")
    assert storage.query("SELECT DISTINCT link FROM outbox_link ORDER BY link") == [("jt905",), ("mqtt",)]
    with pytest.raises(OutboxError):
        Outbox(storage, Recorder()).add_links([Outbox(storage, Recorder(), link="mqtt")], own="mqtt")


def test_without_the_own_link_the_other_links_alone_decide(storage):
    outbox = Outbox(storage)
    rec = Recorder()
    outbox.add_links([Outbox(storage, rec, link="jt905")], own=None)
    put(outbox, "trip", trip_no=1)
    up(outbox, "jt905")
    outbox.pump()
    ack(outbox, "jt905", 1)
    outbox.pump()
    assert outbox.messages() == [] and stored(storage) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["put", "alarm", "pump", "ack", "down", "up"]),
                          st.sampled_from(["mqtt", "jt808", "jt905"])), max_size=40))
def test_every_link_gets_every_message_and_the_store_empties(tmp_path_factory, steps):
    with Storage(tmp_path_factory.mktemp("o") / "t.db", clock=lambda: 1) as storage:
        outbox, rec = three_links(storage, window=3)
        acked = {link: set() for link in rec}
        state = {link: False for link in rec}
        for op, link in steps:
            if op == "put":
                put(outbox, "location", speed=1)
            elif op == "alarm":
                put(outbox, "alarm", stage="alarm")
            elif op == "pump":
                outbox.pump()
            elif op == "ack" and rec[link].sent:
                mid, _, payload = rec[link].sent[-1]
                ack(outbox, link, mid)
            elif op == "down":
                down(outbox, link)
                state[link] = False
            elif op == "up":
                up(outbox, link)
                state[link] = True
        for link in rec:       # the end: every link up, everything acknowledged
            up(outbox, link)
        for _ in range(200):
            if outbox.pump() == 0 and outbox.pending() == 0:
                break
            for link, r in rec.items():
                for mid, _, payload in r.sent:
                    ack(outbox, link, mid)
                    acked[link].add(payload["seq"])
        outbox.pump()
        assert stored(storage) == []
        last = outbox.last_seq()
        for link in rec:
            assert acked[link] == set(range(1, last + 1))
