"""Issue 11 item 7 (restart-safe state): an order-desk change made by a key or a tick is stored
in the same transaction as the report it sends, not at the end of the loop turn.

A whole ``Terminal`` without threads (tests/cabin/bench.py). The power is "cut" right
after the event's effect, before the loop turn ends (``periodic``'s end-of-turn save
never runs); what the database holds then is what a restart would find: the order
report that left and the desk's state must agree.
"""

import json

import pytest

from drivers.event import Event
from sim.platform import SIM_PLATFORM_KEY
from terminal.app.desk_state import KEY
from terminal.link import downlink
from tests.cabin.bench import Bench, provisioned


class PowerCut(BaseException):
    """The process ends here: nothing after this point of the loop turn happens."""


@pytest.fixture
def bench(tmp_path, tmp_path_factory):
    b = Bench(provisioned(tmp_path, tmp_path_factory.getbasetemp()))
    yield b
    b.close()


def offer(bench, order_id="95128-1", answer_s=20):
    topic = "taxi/T0042/down/order_offer"
    cmd = downlink.sign(topic, {"cmd_id": f"o-{order_id}", "ts": bench.clock.t, "order_id": order_id,
                                "order_type": "immediate", "pickup_ms": bench.clock.t,
                                "pickup": {"address": "候车点"}, "text": "", "answer_s": answer_s}, SIM_PLATFORM_KEY)
    bench.clock.t += 100
    bench.term.platform.on_command(topic, json.dumps(cmd).encode(), bench.clock.t)
    assert bench.term.orders.state == "offered"


def stored_orders(bench) -> dict:
    return json.loads(bench.storage.kv_get(KEY))["orders"]


def stored_order_events(bench) -> list[str]:
    """The up/order reports stored in the outbox (sent or not), in order."""
    rows = bench.storage.query("SELECT payload FROM outbox WHERE topic LIKE '%/up/order' ORDER BY seq")
    return [json.loads(p)["event"] for (p,) in rows]


def cut_before_end_of_turn(bench, monkeypatch):
    def cut(*args, **kwargs):
        raise PowerCut()
    monkeypatch.setattr(bench.term.platform, "persist", cut)


def test_the_drivers_accept_is_stored_with_its_report_before_the_turn_ends(bench, monkeypatch):
    offer(bench)
    assert stored_orders(bench)["state"] == "offered"
    cut_before_end_of_turn(bench, monkeypatch)
    bench.clock.t += 300
    bench.term.handle(Event("key", bench.clock.t, {"key": "accept", "long": False}))
    with pytest.raises(PowerCut):
        bench.term.periodic(bench.clock.t)
    assert "accepted" in stored_order_events(bench)
    assert stored_orders(bench)["state"] == "on_call"


def test_the_drivers_refusal_is_stored_with_its_report(bench, monkeypatch):
    offer(bench)
    cut_before_end_of_turn(bench, monkeypatch)
    bench.clock.t += 300
    bench.term.handle(Event("key", bench.clock.t, {"key": "reject", "long": False}))
    assert "rejected" in stored_order_events(bench)
    assert stored_orders(bench)["state"] == "idle"


def test_an_offer_that_expires_on_a_tick_is_stored_with_its_report(bench, monkeypatch):
    offer(bench, answer_s=5)
    bench.clock.t += 6000

    def cut(now):
        raise PowerCut()
    monkeypatch.setattr(bench.term.reporting, "periodic", cut)   # the turn dies right after the ticks
    with pytest.raises(PowerCut):
        bench.term.periodic(bench.clock.t)
    events = stored_order_events(bench)
    assert events and events[-1] == "timeout"
    assert stored_orders(bench)["state"] == "idle"


def test_boarding_and_completion_are_stored_with_the_meter_keys(bench, monkeypatch):
    offer(bench)
    bench.press("accept")
    assert bench.term.orders.state == "on_call"
    cut_before_end_of_turn(bench, monkeypatch)
    bench.clock.t += 300
    bench.term.handle(Event("key", bench.clock.t, {"key": "hire", "long": False}))
    assert bench.term.orders.state == "in_trip"
    assert stored_orders(bench)["state"] == "in_trip"
    assert "boarded" in stored_order_events(bench)


def test_a_completed_on_call_trip_is_stored_with_its_report(bench, monkeypatch):
    offer(bench)
    bench.press("accept")
    bench.press("hire")
    bench.drive(2000)
    bench.press("settle")
    assert bench.term.orders.state == "in_trip"
    cut_before_end_of_turn(bench, monkeypatch)
    bench.clock.t += 300
    bench.term.handle(Event("key", bench.clock.t, {"key": "hire", "long": False}))   # clear: the trip closes
    assert bench.term.orders.state == "idle"
    assert stored_order_events(bench)[-1] == "completed"
    assert stored_orders(bench)["state"] == "idle"


def test_a_drivers_cancel_on_the_way_is_stored_with_its_report(bench, monkeypatch):
    offer(bench)
    bench.press("accept")
    cut_before_end_of_turn(bench, monkeypatch)
    bench.clock.t += 300
    bench.term.handle(Event("key", bench.clock.t, {"key": "reject", "long": False}))
    assert stored_order_events(bench)[-1] == "cancelled"
    assert stored_orders(bench)["state"] == "idle"
