"""A cheap, broken or hostile rooftop sign and passenger evaluator on the 905.2 bus, over a real
pseudo-terminal: a sign that answers as another device, says it is broken, acknowledges what it
was never sent or never answers; an evaluator that rates trips that do not exist, rates twice or
sends a rating out of range."""

import queue

import pytest

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.evaluator import EvaluatorDriver
from drivers.sign import SignDriver
from drivers.sign_frame import (
    CMD_QUERY,
    CMD_SET_MARK,
    DEVICE_METER,
    DEVICE_TOP_LIGHT,
    Frame,
    TopLightStatus,
    decode,
    encode,
)
from sim.pty import PtyDevice
from tests.drivers.helpers import VirtualClock, next_event, wait_until


def status(device_state=0, running_state=0):
    return TopLightStatus(vendor_id=0, product_id=5, serial=1, hw_version=1, sw_major=1, sw_minor=0,
                          device_state=device_state, running_state=running_state, night_mode=0)


@pytest.fixture
def sign():
    device = PtyDevice()
    events: queue.Queue = queue.Queue()
    clock = VirtualClock()
    driver = SignDriver(device.path, events, clock, query_interval_ms=5000, answer_timeout_ms=500,
                        fault_after=3).start(pace=False)
    yield device, driver, events, clock
    driver.close()
    device.close()


def ask_and_answer(device, driver, clock, answer: bytes | None):
    driver.pace(clock.t_ms)
    query = decode(device.read(1.0))
    assert query.command == CMD_QUERY
    if answer is not None:
        before = driver.bytes_in
        device.write(answer)
        assert wait_until(lambda: driver.bytes_in >= before + len(answer))
    clock.advance(5000)


def test_a_sign_answering_as_another_device_type_is_a_fault_after_three_queries(sign):
    device, driver, events, clock = sign
    as_meter = encode(Frame(DEVICE_METER, 0, CMD_QUERY, status().to_body()))
    for _ in range(3):
        ask_and_answer(device, driver, clock, as_meter)
    driver.pace(clock.t_ms)
    fault = next_event(events, "sign_fault")
    assert fault.data["active"] and "not the top light" in fault.data["reason"]
    device.read(1.0)
    device.write(encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, status().to_body())))
    assert next_event(events, "sign_fault").data["active"] is False


def test_a_sign_that_reports_itself_broken_is_a_fault_though_it_answers(sign):
    device, driver, events, clock = sign
    broken = encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, status(device_state=1).to_body()))
    for _ in range(3):
        ask_and_answer(device, driver, clock, broken)
    driver.pace(clock.t_ms)
    fault = next_event(events, "sign_fault", timeout=1.0)
    assert fault is not None and fault.data["active"] and "device state 1" in fault.data["reason"]
    device.read(1.0)
    device.write(encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, status().to_body())))
    assert next_event(events, "sign_fault").data["active"] is False


def test_a_sign_that_never_answers_is_a_fault_after_three_queries_not_before(sign):
    device, driver, events, clock = sign
    for _ in range(3):
        ask_and_answer(device, driver, clock, None)
        assert next_event(events, "sign_fault", timeout=0.05) is None
    driver.pace(clock.t_ms)
    assert next_event(events, "sign_fault").data == {"active": True, "reason": "no answer (3 attempts)"}


def test_an_acknowledgement_of_a_mark_never_sent_is_counted_not_believed(sign):
    device, driver, events, clock = sign
    replayed = encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_MARK, b"\x00"))      # recorded earlier, played back
    device.write(replayed)
    assert wait_until(lambda: driver.bytes_in >= len(replayed))
    assert CMD_SET_MARK not in driver.acks and driver.rejected == 1
    driver.show_mark(b"MARK-2026-11-20")
    assert decode(device.read(1.0)).body == b"MARK-2026-11-20"
    device.write(encode(Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_MARK, b"\x01")))   # the sign refuses it
    assert wait_until(lambda: CMD_SET_MARK in driver.acks) and driver.acks[CMD_SET_MARK] == 1


# --- the evaluator ------------------------------------------------------------------------------

@pytest.fixture
def evaluator():
    device = PtyDevice()
    events: queue.Queue = queue.Queue()
    driver = EvaluatorDriver(device.path, events, VirtualClock()).start()
    yield device, driver, events
    driver.close()
    device.close()


def rating(trip_no, value, ev_id=1):
    body = trip_no.to_bytes(4, "big") + ev_id.to_bytes(4, "big") + bytes((value,)) + b"\x00\x00"
    return encode(Frame(ev.DEVICE_EVALUATOR, 0, ev.CMD_RATING, body))


def test_a_rating_out_of_range_is_dropped_counted_and_not_acknowledged(evaluator):
    device, driver, events = evaluator
    device.write(rating(5, 9) + rating(5, 2))
    assert next_event(events, "evaluation").data["rating"] == 2
    assert driver.rejected == 1
    answers = [decode(device.read(1.0))]
    assert [ml.decode_body(f.command, ml.DOWN, f.body, ev.LAYOUTS) for f in answers] == [{"result": 0x90}]
