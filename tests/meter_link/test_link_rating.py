"""The passenger's rating of a trip metered by a meter on the 905.2 link reaches that trip's report,
whether the evaluator is on the terminal's bus or the meter relays it (0x00F5); the record stays
unacknowledged (so the meter keeps it) while the terminal waits for the rating, never longer
than the evaluator's timeout."""

import json
import queue

import pytest

from drivers import meter_link_codec as ml
from drivers.event import Event
from meter.tariff import Schedule, parse_tariff
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter.support import tariff_data
from tests.meter_link.test_meter_port import Clock, FakeLink, operation


class FakeEvaluator:
    timeout_s = 30

    def __init__(self):
        self.asked = []

    def ask(self, trip_no):
        self.asked.append(trip_no)


def _terminal(tmp_path, evaluator):
    clock = Clock()
    storage = Storage(tmp_path / "terminal.db", clock)
    link = FakeLink()
    term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=storage,
                    schedule=Schedule([parse_tariff(tariff_data())]), events=queue.Queue(), clock=clock,
                    devices=Devices(meter_link=link, evaluator=evaluator), software_id="0" * 64)
    term.start()
    return term, link, storage, clock


@pytest.fixture
def car(tmp_path):
    term, link, storage, clock = _terminal(tmp_path, FakeEvaluator())
    yield term, link, storage, clock
    storage.close()


@pytest.fixture
def bare(tmp_path):
    term, link, storage, clock = _terminal(tmp_path, None)
    yield term, link, storage, clock
    storage.close()


def _in(term, clock, kind, data, dt=1000):
    clock.t += dt
    term.handle(Event(kind, clock.t, data))


def _report(storage, trip_no):
    for (text,) in storage.query("SELECT payload FROM outbox WHERE kind = 'trip'"):
        body = json.loads(text)
        if body["record"]["trip_no"] == trip_no:
            return body
    return None


def _acks(link, command):
    return [f for f in link.sent if f == ml.ack(command)]


def test_a_rating_from_the_bus_evaluator_goes_out_with_the_link_meters_trip(car):
    term, link, storage, clock = car
    _in(term, clock, "meter_link", {"command": ml.CMD_TRIP_END, "values": operation(1)})
    assert term.devices.evaluator.asked == [1]          # the passenger is asked when the meter settles
    assert storage.trip(1) is None and not _acks(link, ml.CMD_TRIP_END)
    _in(term, clock, "meter_link", {"command": ml.CMD_RESEND, "values": operation(1)})   # the meter insists
    assert storage.trip(1) is None and term.devices.evaluator.asked == [1]
    _in(term, clock, "evaluation", {"trip_no": 1, "evaluation_id": 7, "rating": 1, "extended": 0})
    assert storage.trip(1) is not None and _acks(link, ml.CMD_RESEND)
    assert _report(storage, 1)["evaluation"] == {"id": 7, "rating": 1, "extended": 0}
    _in(term, clock, "meter_link", {"command": ml.CMD_RESEND, "values": operation(1)})   # our ack was lost
    assert len(storage.trips()) == 1


def test_without_a_rating_the_trip_goes_after_the_evaluators_timeout(car):
    term, link, storage, clock = car
    _in(term, clock, "meter_link", {"command": ml.CMD_TRIP_END, "values": operation(1)})
    _in(term, clock, "meter_link", {"command": ml.CMD_RESEND, "values": operation(1)}, dt=29_000)
    assert storage.trip(1) is None
    _in(term, clock, "meter_link", {"command": ml.CMD_RESEND, "values": operation(1)}, dt=2_000)
    assert storage.trip(1) is not None and "evaluation" not in _report(storage, 1)
    assert _acks(link, ml.CMD_RESEND)


def test_a_rating_the_meter_relays_goes_out_with_the_trip(bare):
    term, link, storage, clock = bare
    _in(term, clock, "meter_link", {"command": ml.CMD_EVALUATION, "values": {"trip_no": 1, "rating": 3}})
    assert _acks(link, ml.CMD_EVALUATION)
    _in(term, clock, "meter_link", {"command": ml.CMD_TRIP_END, "values": operation(1)})
    assert _report(storage, 1)["evaluation"] == {"id": 0, "rating": 3, "extended": 0}


def test_once_the_meter_has_relayed_a_rating_the_next_trip_waits_for_its_rating(bare):
    term, link, storage, clock = bare
    _in(term, clock, "meter_link", {"command": ml.CMD_EVALUATION, "values": {"trip_no": 1, "rating": 3}})
    _in(term, clock, "meter_link", {"command": ml.CMD_TRIP_END, "values": operation(1)})
    _in(term, clock, "meter_link", {"command": ml.CMD_TRIP_END, "values": operation(2)})
    assert storage.trip(2) is None                       # this meter rates its trips: wait for it
    _in(term, clock, "meter_link", {"command": ml.CMD_EVALUATION, "values": {"trip_no": 2, "rating": 1}})
    assert storage.trip(2) is not None and _report(storage, 2)["evaluation"]["rating"] == 1
