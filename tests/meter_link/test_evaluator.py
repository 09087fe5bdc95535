"""The passenger service evaluator: its frames, and a rating given at settling that the trip report carries."""

import json
import queue
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.evaluator import EvaluatorDriver
from drivers.peripheral_frame import DEVICE_METER, Frame, FrameError, decode, encode
from meter.tariff import Schedule, parse_tariff
from sim.evaluator_emulator import EvaluatorEmulator
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter.support import tariff_data

T0 = 1795140000000


@settings(max_examples=50, deadline=None)
@given(trip_no=st.integers(0, 2**32 - 1), ev_id=st.integers(0, 2**32 - 1), rating=st.sampled_from(sorted(ev.RATINGS)),
       ext=st.integers(0, 65535))
def test_a_rating_round_trips(trip_no, ev_id, rating, ext):
    values = {"trip_no": trip_no, "evaluation_id": ev_id, "rating": rating, "extended": ext}
    frame = decode(encode(ev.frame(ev.CMD_RATING, ml.UP, values)))
    assert frame.device == ev.DEVICE_EVALUATOR and ev.parse(frame, ml.UP) == (ev.CMD_RATING, values)


def test_the_evaluator_decoder_is_strict():
    with pytest.raises(FrameError, match="not a service evaluator"):
        ev.parse(Frame(DEVICE_METER, 0, ev.CMD_RATING, bytes(11)), ml.UP)
    with pytest.raises(FrameError, match="rating 7"):
        ev.parse(Frame(ev.DEVICE_EVALUATOR, 0, ev.CMD_RATING, bytes(8) + b"\x07\x00\x00"), ml.UP)
    with pytest.raises(FrameError, match="ends inside"):
        ev.parse(Frame(ev.DEVICE_EVALUATOR, 0, ev.CMD_RATING, bytes(5)), ml.UP)
    assert encode(ev.frame(ev.CMD_ASK, ml.DOWN, {"trip_no": 7, "timeout_s": 30})).hex() == \
        "55aa0009060000100000000" + "71e" + "0655aa"


@pytest.fixture
def cab(tmp_path):
    emulator = EvaluatorEmulator(ratings=(2,)).start()
    events = queue.Queue()
    t = [T0]
    driver = EvaluatorDriver(emulator.path, events, lambda: t[0]).start()
    storage = Storage(tmp_path / "terminal.db", lambda: t[0])
    term = Terminal(config_mod.from_dict({}), storage=storage, schedule=Schedule([parse_tariff(tariff_data())]),
                    events=events, clock=lambda: t[0], devices=Devices(evaluator=driver), software_id="0" * 64)
    term.start()
    yield term, emulator, events, storage, t
    driver.close()
    emulator.close()
    storage.close()


def _drain(term, events, until, timeout_s=5.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end and not until():
        try:
            term.handle(events.get(timeout=0.05))
        except queue.Empty:
            pass
    return until()


def test_a_rating_given_at_settling_goes_out_with_the_trip(cab):
    term, emulator, events, storage, t = cab
    for key in ("hire", "settle"):
        t[0] += 60000
        assert term.metering.key(t[0], key)
    assert _drain(term, events, lambda: term.evaluation.for_trip(1) is not None)
    assert emulator.asked == [1]
    t[0] += 1000
    term.metering.key(t[0], "clear")
    (text,) = [r[0] for r in storage.query("SELECT payload FROM outbox WHERE kind = 'trip'")]
    assert json.loads(text)["evaluation"] == {"id": 1, "rating": 2, "extended": 0}
    assert _drain(term, events, lambda: emulator.acked == 1)
    term.evaluation.on_rating(t[0], {"trip_no": 1, "evaluation_id": 9, "rating": 3, "extended": 0})
    assert term.evaluation.for_trip(1)["rating"] == 2          # once per trip: a repeat changes nothing
