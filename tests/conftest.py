"""Shared pytest fixtures: a real Mosquitto broker on a free loopback port (sim/broker.py).

``mosquitto`` is a fresh broker per test (tests may kill and restart it);
``mosquitto_session`` is one broker for the whole run, for tests that only publish and
subscribe and never stop it. Both yield a ``sim.broker.Broker`` running the shipped
configuration (broker/: TLS only, an account per terminal and per platform client, the
ACL): ``link_config(tid)`` is a terminal's ``[mqtt]`` section with its credentials,
``client_options(name)`` a platform client's (``PlatformEmulator(host, port,
**options)``), ``secure(paho_client, name, role)`` sets up a bare paho client; accounts
are made on first use with the product's credential step. Also host, port, stop(),
restart(). The CA and server certificate are made once per test run.

``keep_the_root_logger`` puts the root logger back after a test that ran ``taxiterm run``
in-process (it points the root logger at that test's captured stderr, closed afterwards);
a module uses it with ``pytestmark = pytest.mark.usefixtures("keep_the_root_logger")``.
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


@pytest.fixture
def keep_the_root_logger():
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
