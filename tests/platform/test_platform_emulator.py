"""The platform emulator against a real Mosquitto, with a minimal terminal on the other side.

The terminal here is the real pure parts (commands_in, OrderDesk, EmergencyAlarm,
payloads) wired by a few lines of glue over a real paho connection, so the emulator
sees exactly the bytes a terminal publishes.
"""

import json
import queue
import socket

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.broker import Broker
from sim.platform import SIM_PLATFORM_KEY, PlatformEmulator, PlatformError
from terminal.app.alarm import EmergencyAlarm
from terminal.app.orders import OrderDesk
from terminal.link import downlink as commands_in
from terminal.link import payloads

TID = "T0001"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


SIM_PUBLIC_KEY = SIM_PLATFORM_KEY.public_key()


def emulator(broker, **options) -> PlatformEmulator:
    """The platform emulator on its own platform account of the broker."""
    return PlatformEmulator(broker.host, broker.port, **broker.client_options("platform-emulator"), **options)


class TerminalStub:
    def __init__(self, broker, key=SIM_PUBLIC_KEY, prefix="taxi"):
        self.prefix, self.key = prefix, key
        self.seq = 0
        self.now = 1795000000000
        self.desk, self.alarm = OrderDesk(), EmergencyAlarm()
        self.pos = payloads.position(lat_deg=23.13, lon_deg=113.26, alt_m=20, speed_mps=0, course_deg=0,
                                     fix_ms=self.now)
        self.inbox = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=TID, protocol=mqtt.MQTTv5)
        self.client.will_set(f"{prefix}/{TID}/status", json.dumps(payloads.LAST_WILL), qos=1, retain=True)
        self.client.on_message = lambda c, u, m: self.inbox.put((m.topic, m.payload))
        broker.secure(self.client, TID, "terminal")
        self.client.connect(broker.host, broker.port)
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.subscribe(f"{prefix}/{TID}/down/#", qos=1)
        self.client.loop_start()
        self.publish_raw("status", payloads.status(online=True, ts_ms=self.now, software="taxiterm 0.1.0 meter:3f2a9c1b",
                                                   terminal_id=TID), retain=True)

    def publish_raw(self, sub, payload, retain=False):
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        self.client.publish(f"{self.prefix}/{TID}/{sub}", data, qos=1, retain=retain).wait_for_publish(5)

    def report(self, kind, body):
        self.seq += 1
        if kind == "alarm":
            msg = payloads.alarm(seq=self.seq, ts_ms=self.now, pos=self.pos, status=["positioned"], mileage_m=0,
                                 operating=self.desk.meter_state, **body)
        elif kind == "order":
            msg = payloads.order(seq=self.seq, ts_ms=self.now, pos=self.pos, **body)
        else:
            msg = payloads.ack(seq=self.seq, ts_ms=self.now, **body)
        self.publish_raw(f"up/{kind}", msg)

    def carry_out(self, effects):
        for effect in effects:
            if effect[0] == "report":
                self.report(effect[1], effect[2])

    def handle_one(self, timeout=5):
        topic, raw = self.inbox.get(timeout=timeout)
        self.now += 100
        result = commands_in.parse(topic, raw, prefix=self.prefix, terminal_id=TID, platform_key=self.key)
        if isinstance(result, commands_in.Refusal):
            return self.carry_out([("report", "ack", result.ack)])
        handler = {"order_offer": self.desk.offer, "order_cancel": self.desk.centre_cancel,
                   "alarm_confirm": self.alarm.confirm, "alarm_release": self.alarm.release}.get(result.name)
        if handler is None:
            return self.carry_out([("report", "ack", result.ack(payloads.RESULT_OK))])
        return self.carry_out(handler(result, self.now))

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def pair(mosquitto_session, tmp_path):
    terminal = TerminalStub(mosquitto_session)
    with emulator(mosquitto_session, transcript=tmp_path / "t.jsonl") as centre:
        yield terminal, centre
    terminal.close()


def test_retained_online_status_reaches_a_platform_that_starts_later(pair):
    terminal, centre = pair
    status = centre.wait_for(lambda m: m.kind == "status")
    assert status.retained and status.valid and status.payload["online"] is True


def test_order_offer_accept_and_refusal_while_occupied(pair):
    terminal, centre = pair
    cmd = centre.order_offer(TID, "95128-0001", address="天河路 385 号", text="老人出行")
    terminal.handle_one()
    assert centre.wait_ack(cmd)["result"] == 0
    terminal.carry_out(terminal.desk.answer(True, terminal.now))
    accepted = centre.wait_for(lambda m: m.kind == "order" and m.payload["event"] == "accepted")
    assert accepted.valid and accepted.payload["order_id"] == "95128-0001"
    order_id, effects = terminal.desk.boarding(terminal.now)
    terminal.carry_out(effects)
    assert order_id == "95128-0001"
    centre.wait_for(lambda m: m.kind == "order" and m.payload["event"] == "boarded")
    second = centre.order_offer(TID, "95128-0002")
    terminal.handle_one()
    ack = centre.wait_ack(second)
    assert ack["result"] == 4 and "occupied" in ack["reason"]
    assert centre.invalid == 0 and centre.duplicates == 0


def test_malformed_unsupported_and_foreign_commands_get_error_acks(pair):
    terminal, centre = pair
    bad = centre.send(TID, "order_offer", raw=b'{"cmd_id": "raw-1", "order_id": 5}')
    terminal.handle_one()
    assert bad == "p1" and centre.wait_ack("raw-1")["result"] == 4           # unsigned: unauthorised
    centre.send(TID, "order_offer", {"order_id": 5}, cmd_id="signed-1")
    terminal.handle_one()
    assert centre.wait_ack("signed-1")["result"] == 2                         # signed, breaks the schema
    centre.send(TID, "reboot", {"now": True}, cmd_id="u-1")
    terminal.handle_one()
    assert centre.wait_ack("u-1")["result"] == 3
    centre.send(TID, "time_sync", raw=b"\x00\x01garbage")
    terminal.handle_one()
    assert centre.wait_ack(None)["result"] == 2
    assert terminal.desk.state == "idle" and centre.invalid == 0


def test_emergency_alarm_round_trip(pair):
    terminal, centre = pair
    terminal.carry_out(terminal.alarm.button(terminal.now, held_ms=3000))
    pre = centre.wait_for(lambda m: m.kind == "alarm")
    assert pre.valid and pre.payload["alarm"] == 3 and pre.payload["extra"]["stage"] == "pre_alarm"
    alarm_id = pre.payload["extra"]["alarm_id"]
    wrong = centre.alarm_confirm(TID, "not-this-one")
    terminal.handle_one()
    assert centre.wait_ack(wrong)["result"] == 1 and terminal.alarm.state == "pre_alarm"
    confirm = centre.alarm_confirm(TID, alarm_id)
    terminal.handle_one()
    assert centre.wait_ack(confirm)["result"] == 0
    confirmed = centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "confirmed")
    assert confirmed.payload["alarm"] == 1
    release = centre.alarm_release(TID, alarm_id, reason="false alarm checked by phone")
    terminal.handle_one()
    assert centre.wait_ack(release)["result"] == 0
    released = centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "released")
    assert released.payload["alarm"] == 0 and centre.invalid == 0


def test_with_a_key_unsigned_commands_are_refused_and_signed_ones_pass(mosquitto_session):
    terminal = TerminalStub(mosquitto_session, key=KEY.public_key())
    try:
        with emulator(mosquitto_session, key=KEY) as centre:
            unsigned = centre.order_offer(TID, "X1", sign=False)
            terminal.handle_one()
            assert centre.wait_ack(unsigned)["result"] == 4 and terminal.desk.state == "idle"
            forged = centre.order_offer(TID, "X1", cmd_id="forged")
            terminal.key = SIM_PLATFORM_KEY.public_key()     # a terminal that trusts another platform
            terminal.handle_one()
            assert centre.wait_ack(forged)["result"] == 4 and terminal.desk.state == "idle"
            terminal.key = KEY.public_key()
            signed = centre.order_offer(TID, "X1")
            terminal.handle_one()
            assert centre.wait_ack(signed)["result"] == 0 and terminal.desk.order_id == "X1"
    finally:
        terminal.close()


def test_invalid_uplinks_are_counted_and_the_transcript_records_everything(pair, tmp_path):
    terminal, centre = pair
    centre.wait_for(lambda m: m.kind == "status")
    terminal.publish_raw("up/location", {"type": "location", "seq": 1, "ts": 1, "resent": False, "latitude": -5})
    terminal.publish_raw("up/weather", {"sunny": True})
    terminal.publish_raw("up/ack", b"not json")
    centre.wait_for(lambda m: m.kind == "ack")
    assert centre.invalid == 3
    lines = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    incoming = [x for x in lines if x["dir"] == "in"]
    assert [x["valid"] for x in incoming] == [True, False, False, False]
    assert all(isinstance(x["rx_ms"], int) for x in incoming)
    assert "no schema" in incoming[2]["errors"][0]


def test_a_prefix_of_several_levels_works_end_to_end():
    with Broker(prefix="fleet/gz") as broker:          # the ACL is written for the broker's prefix
        terminal = TerminalStub(broker, prefix="fleet/gz")
        try:
            with emulator(broker, prefix="fleet/gz") as centre:
                cmd = centre.order_offer(TID, "G1")
                terminal.handle_one()
                assert centre.wait_ack(cmd)["result"] == 0
                assert centre.received("ack")[0].terminal_id == TID and centre.invalid == 0
        finally:
            terminal.close()


def test_last_will_marks_a_terminal_that_vanished_offline(mosquitto_session):
    terminal = TerminalStub(mosquitto_session)
    with emulator(mosquitto_session) as centre:
        centre.wait_for(lambda m: m.kind == "status" and m.payload["online"])
        terminal.client.loop_stop()
        terminal.client.socket().shutdown(socket.SHUT_RDWR)   # power cut: no DISCONNECT packet
        gone = centre.wait_for(lambda m: m.kind == "status" and m.payload == {"online": False})
        assert gone.valid and centre.status(TID) == {"online": False}


def test_waiting_for_something_that_never_comes_fails_loudly(mosquitto_session):
    with emulator(mosquitto_session, prefix="nobody") as centre:
        with pytest.raises(PlatformError):
            centre.wait_for(lambda m: True, timeout_s=0.2)
