"""A hostile passenger evaluator: it may not rate a trip the terminal never asked about (a rating
stored ahead for a trip number not yet driven would ride on that trip's report later), and a second
rating of the same trip changes nothing."""

import queue

import pytest

from drivers.event import Event
from meter.tariff import Schedule, parse_tariff
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter.support import tariff_data
from tests.meter_link.test_link_rating import FakeEvaluator

T0 = 1795140000000


@pytest.fixture
def cab(tmp_path):
    storage = Storage(tmp_path / "terminal.db", lambda: T0)
    evaluator = FakeEvaluator()
    term = Terminal(config_mod.from_dict({}), storage=storage, schedule=Schedule([parse_tariff(tariff_data())]),
                    events=queue.Queue(), clock=lambda: T0, devices=Devices(evaluator=evaluator),
                    software_id="0" * 64)
    term.start()
    yield term, evaluator
    storage.close()


def rate(term, trip_no, rating):
    term.handle(Event("evaluation", T0, {"trip_no": trip_no, "evaluation_id": 1, "rating": rating, "extended": 0}))


def test_a_rating_for_a_trip_never_asked_about_is_not_stored(cab):
    term, evaluator = cab
    rate(term, 42, 3)                       # trip 42 does not exist (yet)
    assert term.evaluation.for_trip(42) is None
    term.evaluation.on_state("settling", 42)
    assert evaluator.asked == [42]
    rate(term, 42, 1)
    assert term.evaluation.for_trip(42)["rating"] == 1


def test_a_second_rating_of_the_same_trip_changes_nothing(cab):
    term, _ = cab
    term.evaluation.on_state("settling", 7)
    rate(term, 7, 1)
    rate(term, 7, 3)
    assert term.evaluation.for_trip(7)["rating"] == 1
