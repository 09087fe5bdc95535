"""Shared pytest fixtures: a real Mosquitto broker on a free loopback port (sim/broker.py).

``mosquitto`` is a fresh broker per test (tests may kill and restart it);
``mosquitto_session`` is one broker for the whole run, for tests that only publish and
subscribe and never stop it. Both yield a ``sim.broker.Broker`` (host, port, stop(),
restart(), link_config()).
"""

import pytest

from sim.broker import Broker


@pytest.fixture
def mosquitto():
    with Broker() as broker:
        yield broker


@pytest.fixture(scope="session")
def mosquitto_session():
    with Broker() as broker:
        yield broker
