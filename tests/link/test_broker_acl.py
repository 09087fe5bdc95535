"""Issue 11 item 3: the shipped broker configuration (broker/) keeps every terminal to its own topics.

A real Mosquitto runs broker/mosquitto.conf and the ACL from broker/acl.template, made by
the same code as ``taxiterm broker`` (TLS only, one password per account). "Never
arrives" is proven with a sentinel: the forbidden message is sent first, an allowed one
after it on the same connection; once the allowed one arrived, the forbidden one
would have too.
"""

import queue
import threading

import paho.mqtt.client as mqtt
import pytest

from sim.broker import Broker
from terminal.link.broker_setup import BrokerDir, password_line
from tests.link.harness import DEADLINE_S


@pytest.fixture(scope="module")
def broker():
    with Broker(shipped=True, terminals=("T1", "T2")) as b:
        yield b


class Client:
    def __init__(self, broker, user, password=None, client_id=None, tls=True):
        self.inbox: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.refused: list = []
        self.granted: list = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"{user}-test",
                                  protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, broker.credentials.get(user) if password is None else password)
        if tls:
            self.client.tls_set(ca_certs=str(broker.ca_path))
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = self._on_subscribe
        self.client.connect_async(broker.host, broker.port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            self.refused.append(reason_code)
        else:
            self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        self.granted = [not rc.is_failure for rc in reason_codes]
        self._subscribed.set()

    def subscribe(self, topic):
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(DEADLINE_S)
        return self.granted[0]

    def publish(self, topic, payload=b"x"):
        self.client.publish(topic, payload, qos=1).wait_for_publish(DEADLINE_S)

    def received_until(self, sentinel_topic):
        got = []
        while True:
            topic, _ = self.inbox.get(timeout=DEADLINE_S)
            got.append(topic)
            if topic == sentinel_topic:
                return got

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(broker):
    made = []

    def make(*args, **kw):
        c = Client(broker, *args, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def connected(c):
    assert c.connected.wait(DEADLINE_S), c.refused
    return c


def test_anonymous_and_wrong_passwords_are_turned_away(clients):
    for c in (clients(None), clients("T1", password="guess"), clients("nobody", password="x")):
        c.client.reconnect_delay_set(5, 5)
        for _ in range(500):
            if c.refused or c.connected.is_set():
                break
            threading.Event().wait(0.01)
        assert c.refused and not c.connected.is_set()


def test_a_terminal_cannot_read_another_terminals_commands(clients):
    platform, t1, t2 = connected(clients("platform")), connected(clients("T1")), connected(clients("T2"))
    t1.subscribe("taxi/T2/down/#")           # refused or granted-but-filtered: either way nothing arrives
    t1.subscribe("taxi/#")
    assert t1.subscribe("taxi/T1/down/#")
    assert t2.subscribe("taxi/T2/down/#")
    platform.publish("taxi/T2/down/alarm_release", b"secret for T2")
    platform.publish("taxi/T1/down/notice", b"sentinel")
    assert t1.received_until("taxi/T1/down/notice") == ["taxi/T1/down/notice"]
    assert t2.inbox.get(timeout=DEADLINE_S)[0] == "taxi/T2/down/alarm_release"


def test_a_terminal_cannot_write_another_terminals_topics_or_commands(clients):
    platform, t1, t2 = connected(clients("platform")), connected(clients("T1")), connected(clients("T2"))
    assert platform.subscribe("taxi/+/up/#") and platform.subscribe("taxi/+/status")
    assert t2.subscribe("taxi/T2/down/#")
    t1.publish("taxi/T2/up/location", b"forged position")
    t1.publish("taxi/T2/status", b"forged status")
    t1.publish("taxi/T2/down/alarm_release", b"forged command")
    t1.publish("taxi/T1/down/alarm_release", b"to itself")        # a terminal never writes commands
    t1.publish("taxi/T1/up/location", b"own position")
    assert platform.received_until("taxi/T1/up/location") == ["taxi/T1/up/location"]
    t1.publish("taxi/T1/status", b"own status")
    assert platform.received_until("taxi/T1/status") == ["taxi/T1/status"]
    platform.publish("taxi/T2/down/notice", b"sentinel")
    assert t2.received_until("taxi/T2/down/notice") == ["taxi/T2/down/notice"]


def test_a_terminal_cannot_read_the_platforms_view(clients):
    platform, t1, t2 = connected(clients("platform")), connected(clients("T1")), connected(clients("T2"))
    t1.subscribe("taxi/+/up/#")
    t1.subscribe("taxi/T2/status")
    assert t1.subscribe("taxi/T1/down/#")
    t2.publish("taxi/T2/up/location", b"T2 is here")
    t2.publish("taxi/T2/status", b"T2 online")
    platform.publish("taxi/T1/down/notice", b"sentinel")
    assert t1.received_until("taxi/T1/down/notice") == ["taxi/T1/down/notice"]


def test_the_client_id_is_the_username_so_no_one_takes_over_a_terminals_session(clients):
    t2 = connected(clients("T2", client_id="T2"))
    assert t2.subscribe("taxi/T2/down/#")
    connected(clients("T1", client_id="T2"))       # T1 claims T2's client id
    platform = connected(clients("platform"))
    platform.publish("taxi/T2/down/notice", b"still there")
    assert t2.inbox.get(timeout=DEADLINE_S)[0] == "taxi/T2/down/notice"
    assert t2.connected.is_set()


def test_the_password_file_lines_are_what_mosquitto_passwd_writes(tmp_path):
    import subprocess
    line = password_line("T9", "s3cret", salt=b"0123456789ab")
    (tmp_path / "p").write_text(line + "\n")
    user, rest = line.split(":", 1)
    assert user == "T9" and rest.startswith("$7$101$")
    # mosquitto_passwd -U would rewrite plain lines; a hashed line must be left as it is
    plain = tmp_path / "q"
    plain.write_text("T9:s3cret\n")
    subprocess.run(["mosquitto_passwd", "-U", str(plain)], check=True)
    assert plain.read_text().startswith("T9:$7$101$")


def test_account_names_with_wildcards_or_slashes_are_refused(tmp_path):
    from terminal.link.broker_setup import BrokerSetupError
    setup = BrokerDir(tmp_path / "b")
    setup.init(names=["localhost"], addresses=[], port=8883)
    for bad in ("T/1", "T+", "#", "", "x" * 65):
        with pytest.raises(BrokerSetupError):
            setup.add_terminal(bad)
    setup.add_terminal("T1")
    with pytest.raises(BrokerSetupError):
        setup.add_platform("T1")
