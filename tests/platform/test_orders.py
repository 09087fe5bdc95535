"""On-call (95128) orders: offer, answer, on call, boarding, completion, cancels, timeouts, occupied refusals."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.app.orders import IDLE, IN_TRIP, OFFERED, ON_CALL, OrderDesk, OrderError
from terminal.link import payloads as p
from terminal.link import schemas
from terminal.link.downlink import Command

T0 = 1795000000000


def offer(order_id="A1", order_type="immediate", cmd_id="c1", **extra):
    body = {"order_id": order_id, "order_type": order_type, "pickup_ms": T0 + 600_000,
            "pickup": {"address": "体育西路 1 号"}, "text": "带轮椅", **extra}
    assert schemas.errors("down_order_offer", {"cmd_id": cmd_id, **body}) == []
    return Command("order_offer", cmd_id, body, None)


def cancel(order_id="A1", cmd_id="c2", reason="passenger gave up"):
    return Command("order_cancel", cmd_id, {"order_id": order_id, "reason": reason}, None)


def reports(effects, kind):
    return [e[2] for e in effects if e[0] == "report" and e[1] == kind]


def acks(effects):
    return [(a["cmd_id"], a["result"]) for a in reports(effects, "ack")]


def steps(effects):
    return [(r["order_id"], r["event"]) for r in reports(effects, "order")]


def sign(effects):
    return [e[1] for e in effects if e[0] == "sign_on_call"]


def check_uplinks(effects):
    for kind in ("ack", "order"):
        for body in reports(effects, kind):
            builder = p.ack if kind == "ack" else p.order
            assert schemas.errors(f"up_{kind}", builder(seq=1, ts_ms=T0, **body)) == []


def test_accepted_order_runs_to_a_completed_trip_carrying_its_id():
    desk = OrderDesk()
    e = desk.offer(offer(), T0)
    assert acks(e) == [("c1", 0)] and desk.state == OFFERED
    shown = [x for x in e if x[0] == "display"]
    assert shown[0][1] == "order_offer" and shown[0][2]["pickup"]["address"] == "体育西路 1 号"
    assert shown[0][2]["answer_by_ms"] == T0 + 20_000
    e = desk.answer(True, T0 + 5000)
    assert steps(e) == [("A1", "accepted")] and sign(e) == [True] and desk.on_call
    order_id, e = desk.boarding(T0 + 600_000)
    assert order_id == "A1" and steps(e) == [("A1", "boarded")] and sign(e) == [False]
    assert desk.state == IN_TRIP
    assert desk.meter("stopped", T0 + 700_000) == [] and desk.meter("hired", T0 + 720_000) == []
    desk.meter("settle", T0 + 1_500_000)
    e = desk.trip_closed("A1", 12, 4200, T0 + 1_560_000)
    assert steps(e) == [("A1", "completed")]
    assert reports(e, "order")[0]["trip_no"] == 12 and reports(e, "order")[0]["total_fen"] == 4200
    assert desk.state == IDLE and desk.order_id == "0"
    check_uplinks(e)


def test_a_hire_without_an_order_is_a_street_hail():
    desk = OrderDesk()
    order_id, e = desk.boarding(T0)
    assert order_id == "0" and e == []
    assert desk.trip_closed("0", 1, 1300, T0 + 60_000) == []


@pytest.mark.parametrize("state", ["hired", "stopped", "settle"])
def test_offers_are_refused_while_passengers_are_aboard(state):
    desk = OrderDesk()
    desk.meter(state, T0)
    e = desk.offer(offer(), T0 + 1)
    assert acks(e) == [("c1", 4)] and "occupied" in reports(e, "ack")[0]["reason"]
    assert desk.state == IDLE and sign(e) == [] and not [x for x in e if x[0] == "display"]


def test_offers_are_refused_out_of_service_and_while_another_order_is_open():
    desk = OrderDesk()
    desk.meter("out_of_service", T0)
    assert acks(desk.offer(offer(), T0)) == [("c1", 4)]
    desk.meter("for_hire", T0 + 1)
    desk.offer(offer("A1"), T0 + 2)
    e = desk.offer(offer("B2", cmd_id="c9"), T0 + 3)
    assert acks(e) == [("c9", 4)] and "A1" in reports(e, "ack")[0]["reason"]
    assert desk.order_id == "A1"


def test_a_redelivered_offer_is_acknowledged_again_but_not_applied_twice():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    desk.answer(True, T0 + 1000)
    before = desk.snapshot()
    e = desk.offer(offer(), T0 + 2000)
    assert acks(e) == [("c1", 0)] and desk.snapshot() == before and sign(e) == []


def test_rejected_offer_closes_without_touching_the_sign():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    e = desk.answer(False, T0 + 3000)
    assert steps(e) == [("A1", "rejected")] and sign(e) == [] and desk.state == IDLE


def test_unanswered_offer_lapses_at_its_answer_time():
    desk = OrderDesk(answer_ms=15_000)
    desk.offer(offer(answer_s=30), T0)
    assert desk.tick(T0 + 29_999) == []
    e = desk.tick(T0 + 30_000)
    assert steps(e) == [("A1", "timeout")] and desk.state == IDLE
    assert desk.answer(True, T0 + 30_001) == [("display", "no_order", {})]
    desk.offer(offer("B2"), T0 + 40_000)
    assert desk.tick(T0 + 54_999) == [] and steps(desk.tick(T0 + 55_000)) == [("B2", "timeout")]


def test_assigned_orders_need_no_answer():
    desk = OrderDesk()
    e = desk.offer(offer(order_type="assigned"), T0)
    assert acks(e) == [("c1", 0)] and steps(e) == [("A1", "accepted")] and sign(e) == [True]
    assert reports(e, "order")[0]["reason"] == "assigned" and desk.state == ON_CALL
    assert desk.tick(T0 + 10**7) == []


def test_centre_cancels_an_offer_or_an_order_on_the_way_but_not_a_trip_under_way():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    e = desk.centre_cancel(cancel(), T0 + 1000)
    assert acks(e) == [("c2", 0)] and steps(e) == [("A1", "cancelled")] and sign(e) == []
    desk.offer(offer("B2"), T0 + 2000)
    desk.answer(True, T0 + 3000)
    e = desk.centre_cancel(cancel("B2"), T0 + 4000)
    assert acks(e) == [("c2", 0)] and sign(e) == [False] and desk.state == IDLE
    assert reports(e, "order")[0]["reason"] == "centre: passenger gave up"
    check_uplinks(e)
    desk.offer(offer("C3"), T0 + 5000)
    desk.answer(True, T0 + 6000)
    desk.boarding(T0 + 7000)
    e = desk.centre_cancel(cancel("C3"), T0 + 8000)
    assert acks(e) == [("c2", 4)] and desk.state == IN_TRIP


def test_cancel_of_an_order_the_terminal_does_not_hold_fails_and_changes_nothing():
    desk = OrderDesk()
    desk.offer(offer("A1"), T0)
    before = desk.snapshot()
    assert acks(desk.centre_cancel(cancel("Z9"), T0 + 1)) == [("c2", 1)]
    assert desk.snapshot() == before


def test_driver_cancels_with_a_reason():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    desk.answer(True, T0 + 1000)
    with pytest.raises(OrderError):
        desk.driver_cancel("  ", T0 + 2000)
    e = desk.driver_cancel("passenger not found", T0 + 900_000)
    assert steps(e) == [("A1", "cancelled")] and sign(e) == [False]
    assert reports(e, "order")[0]["reason"] == "driver: passenger not found"
    assert desk.driver_cancel("again", T0 + 900_001) == [("display", "no_order", {})]


def test_street_passenger_while_an_offer_waits_withdraws_the_offer():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    order_id, e = desk.boarding(T0 + 2000)
    assert order_id == "0" and steps(e) == [("A1", "rejected")]
    assert reports(e, "order")[0]["reason"] == "occupied" and desk.state == IDLE


def test_going_out_of_service_withdraws_a_waiting_offer_but_keeps_an_accepted_order():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    assert steps(desk.meter("out_of_service", T0 + 1)) == [("A1", "rejected")]
    desk.meter("for_hire", T0 + 2)
    desk.offer(offer("B2"), T0 + 3)
    desk.answer(True, T0 + 4)
    assert desk.meter("out_of_service", T0 + 5) == [] and desk.on_call


def test_trip_closed_for_an_order_the_desk_does_not_serve_is_loud():
    desk = OrderDesk()
    with pytest.raises(OrderError):
        desk.trip_closed("A1", 3, 1500, T0)


def test_snapshot_restore_across_a_power_dip():
    desk = OrderDesk()
    desk.offer(offer(), T0)
    desk.answer(True, T0 + 1000)
    again = OrderDesk()
    again.restore(desk.snapshot())
    assert again.on_call and again.order_id == "A1"
    order_id, _ = again.boarding(T0 + 5000)
    assert order_id == "A1"
    # a waiting offer whose answer time passed during the outage lapses at the first tick
    waiting = OrderDesk()
    waiting.offer(offer("B2"), T0)
    back = OrderDesk()
    back.restore(waiting.snapshot())
    assert steps(back.tick(T0 + 60_000)) == [("B2", "timeout")]
    with pytest.raises(OrderError):
        back.restore({"state": "on_call", "order": None, "meter_state": "for_hire", "answer_ms": 1000})
    with pytest.raises(OrderError):
        back.restore({"state": "idle"})


ops = st.lists(st.one_of(
    st.tuples(st.just("offer"), st.sampled_from(["A", "B"]), st.sampled_from(["immediate", "reservation", "assigned"])),
    st.tuples(st.just("answer"), st.booleans()),
    st.tuples(st.just("cancel"), st.sampled_from(["A", "B"])),
    st.tuples(st.just("driver_cancel")),
    st.tuples(st.just("meter"), st.sampled_from(["for_hire", "hired", "stopped", "settle", "out_of_service"])),
    st.tuples(st.just("tick"), st.integers(0, 60_000)),
    st.tuples(st.just("close")),
), max_size=40)


@given(ops)
def test_any_sequence_keeps_the_sign_and_the_reports_consistent(sequence):
    desk = OrderDesk()
    now = T0
    sign_on = False
    for op in sequence:
        now += 1000
        if op[0] == "offer":
            e = desk.offer(offer(op[1], op[2]), now)
            assert len(acks(e)) == 1
        elif op[0] == "answer":
            e = desk.answer(op[1], now)
        elif op[0] == "cancel":
            e = desk.centre_cancel(cancel(op[1]), now)
        elif op[0] == "driver_cancel":
            e = desk.driver_cancel("no passenger", now)
        elif op[0] == "meter":
            if op[1] == "hired" and desk.meter_state not in ("hired", "stopped", "settle"):
                _, e = desk.boarding(now)
            else:
                e = desk.meter(op[1], now)
        elif op[0] == "tick":
            now += op[1]
            e = desk.tick(now)
        else:
            e = desk.trip_closed(desk.order_id, 1, 1000, now) if desk.state == IN_TRIP else []
            if desk.meter_state != "out_of_service":
                desk.meter("for_hire", now)
        for x in e:
            if x[0] == "sign_on_call":
                assert x[1] != sign_on, "sign told what it already shows"
                sign_on = x[1]
        check_uplinks(e)
        assert sign_on == desk.on_call
        assert not (desk.state in (OFFERED, ON_CALL) and desk.order_id == "0")
        restored = OrderDesk()
        restored.restore(desk.snapshot())
        assert restored.snapshot() == desk.snapshot()
