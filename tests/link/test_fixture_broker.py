"""Issue 11 item 3: the broker every test runs against is the shipped configuration.

The ``mosquitto`` fixture (tests/conftest.py) is what the link, platform and terminal
tests use; it must be the platform broker as shipped (broker/: TLS only, an account per
terminal, the ACL), not an open one. "Never arrives" is proven with a sentinel sent
after the forbidden message on the same connection.
"""

import queue
import socket
import threading

import paho.mqtt.client as mqtt

from sim.broker import connack_code
from tests.link.harness import DEADLINE_S

ACCEPTED, BAD_CREDENTIALS, NOT_AUTHORISED = 0, 4, 5


class Client:
    def __init__(self, broker, name: str, role: str) -> None:
        self.inbox: queue.Queue = queue.Queue()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        broker.secure(self.client, name, role)
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def subscribe(self, topic: str) -> None:
        self.ready.clear()
        self.client.subscribe(topic, qos=1)
        assert self.ready.wait(DEADLINE_S)

    def publish(self, topic: str, payload: bytes = b"x") -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(DEADLINE_S)

    def until(self, sentinel: str) -> list[tuple[str, bytes]]:
        """Every message up to and including the first on topic ``sentinel``."""
        got = []
        while not got or got[-1][0] != sentinel:
            got.append(self.inbox.get(timeout=DEADLINE_S))
        return got

    def topics_until(self, sentinel: str) -> list[str]:
        return [topic for topic, _ in self.until(sentinel)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_the_fixture_broker_turns_away_anonymous_and_plain_clients(mosquitto):
    ca = str(mosquitto.ca_path)
    assert connack_code(mosquitto.host, mosquitto.port, ca, "T0001", mosquitto.account("T0001")) == ACCEPTED
    assert connack_code(mosquitto.host, mosquitto.port, ca, "", "") in (BAD_CREDENTIALS, NOT_AUTHORISED)
    assert connack_code(mosquitto.host, mosquitto.port, ca, "T0001", "guess") in (BAD_CREDENTIALS, NOT_AUTHORISED)
    # without TLS an MQTT CONNECT gets no CONNACK: the listener speaks only TLS
    with socket.create_connection((mosquitto.host, mosquitto.port), timeout=DEADLINE_S) as sock:
        sock.sendall(bytes([0x10, 12]) + b"\x00\x04MQTT\x04\x02\x00\x05\x00\x00")
        try:
            answer = sock.recv(4)
        except OSError:
            answer = b""
    assert not answer.startswith(b"\x20")
    link = mosquitto.link_config("T0001")
    assert link["tls_ca"] == ca and link["username"] == "T0001" and link["password"]


def test_on_the_fixture_broker_terminal_a_neither_reads_nor_writes_terminal_bs_topics(mosquitto):
    platform = Client(mosquitto, "platform", "platform")
    a, b = Client(mosquitto, "T0001", "terminal"), Client(mosquitto, "T0002", "terminal")
    try:
        platform.subscribe("taxi/+/up/#")
        platform.subscribe("taxi/+/status")
        a.subscribe("taxi/T0002/down/#")           # refused or filtered: either way nothing arrives
        a.subscribe("taxi/+/up/#")
        a.subscribe("taxi/T0001/down/#")
        b.subscribe("taxi/T0002/down/#")
        # A reads nothing of B's: neither B's commands nor B's reports
        platform.publish("taxi/T0002/down/alarm_release", b"for B only")
        b.publish("taxi/T0002/up/location", b"B is here")
        platform.publish("taxi/T0001/down/notice", b"sentinel")
        assert a.topics_until("taxi/T0001/down/notice") == ["taxi/T0001/down/notice"]
        assert b.inbox.get(timeout=DEADLINE_S)[0] == "taxi/T0002/down/alarm_release"
        # A writes nothing of B's: no forged report, status or command reaches anyone
        a.publish("taxi/T0002/up/location", b"forged position")
        a.publish("taxi/T0002/status", b"forged status")
        a.publish("taxi/T0002/down/alarm_release", b"forged command")
        a.publish("taxi/T0001/up/location", b"A's own")
        assert platform.until("taxi/T0001/up/location") == [("taxi/T0002/up/location", b"B is here"),
                                                            ("taxi/T0001/up/location", b"A's own")]
        platform.publish("taxi/T0002/down/notice", b"sentinel")
        assert b.topics_until("taxi/T0002/down/notice") == ["taxi/T0002/down/notice"]
    finally:
        for c in (platform, a, b):
            c.close()
