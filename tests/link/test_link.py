"""The uplink against a real Mosquitto: acknowledged and deleted, the broker killed and
restarted mid-stream, connections cut, sequence numbers across restarts, last will,
MQTT 5 -> 3.1.1 fallback, username/password, TLS, downlink commands."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from sim.broker import Broker, Gate
from tests.link.harness import Collector, Uplink, wait_until

ROOT = Path(__file__).resolve().parents[2]
STREAM = 1000  # long enough that the broker dies with messages in flight


@pytest.fixture
def collector(mosquitto):
    c = Collector(mosquitto)
    yield c
    c.close()


def started(tmp_path, config, **kw) -> Uplink:
    uplink = Uplink(tmp_path / "terminal.db", config, **kw).start()
    wait_until(lambda: uplink.outbox.stats()["link_up"], "link up")
    return uplink


def first_occurrences(seqs: list[int]) -> list[int]:
    seen, out = set(), []
    for s in seqs:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def test_published_acknowledged_then_deleted(tmp_path, mosquitto, collector):
    uplink = started(tmp_path, mosquitto.link_config())
    try:
        for i in range(50):
            uplink.enqueue("location", {"speed": i})
        wait_until(lambda: uplink.outbox.pending() == 0, "all acknowledged")
        wait_until(lambda: len(collector.seqs("/up/location")) == 50, "all received")
        assert collector.seqs("/up/location") == list(range(1, 51))
        assert {p["resent"] for p in collector.payloads("/up/location")} == {False}
    finally:
        uplink.stop()


def test_online_status_is_retained_and_a_clean_stop_says_offline(tmp_path, mosquitto):
    uplink = started(tmp_path, mosquitto.link_config(terminal_id="T0042"))
    late = Collector(mosquitto, "taxi/+/status", client_id="late")  # subscribes after the fact
    try:
        wait_until(lambda: late.messages, "retained status")
        topic, payload, retained = late.messages[0]
        assert topic == "taxi/T0042/status" and retained
        status = json.loads(payload)
        assert status["online"] is True and status["terminal_id"] == "T0042"
        assert status["software"] == "taxiterm test" and isinstance(status["ts"], int)
        uplink.stop()
        wait_until(lambda: len(late.payloads("/status")) == 2, "offline status")
        assert late.payloads("/status")[1]["online"] is False
    finally:
        late.close()


def test_broker_killed_and_restarted_mid_stream_loses_nothing_and_keeps_order(tmp_path, mosquitto):
    gate = Gate(mosquitto.port)
    gate.hold()
    collector = Collector(mosquitto)
    uplink = Uplink(tmp_path / "terminal.db", mosquitto.link_config(port=gate.port), window=20).start()
    try:
        for i in range(STREAM):  # a backlog, so the stream is in full flow when the broker dies
            uplink.enqueue("location", {"speed": i})
        gate.release()
        wait_until(lambda: len(collector.seqs()) >= 40, "some delivered before the kill")
        gate.hold()  # the terminal must not reconnect before the platform is back and listening
        mosquitto.stop()  # SIGKILL, mid-stream
        wait_until(lambda: not uplink.outbox.stats()["link_up"], "link down seen by the loop")
        # What the dead broker had not acknowledged is still on disk; the rest it had taken
        # over (a broker without persistence may lose that, which is not the terminal's to fix).
        unacknowledged = {m["seq"] for m in uplink.outbox.messages()}
        assert unacknowledged  # killed mid-stream indeed
        for i in range(STREAM, STREAM + 100):  # blind area: stored, not sent
            uplink.enqueue("location", {"speed": i})
        alarm_seq = uplink.enqueue("alarm", {"alarm": 1})
        received_before = collector.seqs()
        collector.close()
        mosquitto.restart()
        collector = Collector(mosquitto)
        gate.release()
        wait_until(lambda: uplink.outbox.pending() == 0, "backlog drained")
        owed = unacknowledged | set(range(STREAM + 1, STREAM + 102))
        wait_until(lambda: owed <= set(collector.seqs()), "every unacknowledged message received")
        missing = set(range(1, STREAM + 102)) - set(received_before) - set(collector.seqs())
        assert not missing & owed
        after = collector.uplinks()
        assert after[0]["seq"] == alarm_seq and after[0]["type"] == "alarm"  # the alarm goes ahead
        locations = [p["seq"] for p in after if p["type"] == "location"]
        assert locations == sorted(locations) and len(set(locations)) == len(locations)
        assert all(p["resent"] for p in after)  # everything after the reconnect came from the backlog
        assert received_before == sorted(received_before)
    finally:
        uplink.stop()
        collector.close()
        gate.close()


def test_connection_cut_while_streaming(tmp_path, mosquitto, collector):
    gate = Gate(mosquitto.port)
    uplink = started(tmp_path, mosquitto.link_config(port=gate.port), window=10)
    try:
        stop = threading.Event()

        def report() -> None:
            for i in range(400):
                uplink.enqueue("location", {"speed": i})
                if i % 50 == 0 and i:
                    gate.cut()  # three cuts while the reports keep coming
                if stop.is_set():
                    return

        reporter = threading.Thread(target=report)
        reporter.start()
        reporter.join()
        wait_until(lambda: uplink.outbox.pending() == 0 and uplink.link.connected, "drained after the cuts")
        wait_until(lambda: set(collector.seqs()) == set(range(1, 401)), "all received")
        assert uplink.link.connects >= 2
        payloads = collector.uplinks()
        assert first_occurrences([p["seq"] for p in payloads]) == list(range(1, 401))
        assert any(p["resent"] for p in payloads)
        # A message is marked resent only when it waited for a later connection: never a
        # message sent live is a repeat of one already received.
        seen = set()
        for p in payloads:
            if p["seq"] in seen:
                assert p["resent"]
            seen.add(p["seq"])
    finally:
        stop.set()
        uplink.stop()
        gate.close()


def test_seq_keeps_rising_across_process_restarts(tmp_path, mosquitto, collector):
    gate = Gate(mosquitto.port)
    gate.hold()
    first = Uplink(tmp_path / "terminal.db", mosquitto.link_config(port=gate.port)).start()
    for i in range(5):  # no connection yet: all stored
        first.enqueue("trip", {"trip_no": i + 1})
    first.stop()  # the process ends with its backlog on disk
    gate.release()
    second = started(tmp_path, mosquitto.link_config(port=gate.port))
    try:
        for i in range(5):
            second.enqueue("location", {"speed": i})
        wait_until(lambda: len(collector.seqs("/up/location")) == 5 and len(collector.seqs("/up/trip")) == 5,
                   "both generations received")
        assert collector.seqs("/up/trip") == [1, 2, 3, 4, 5]
        assert all(p["resent"] for p in collector.payloads("/up/trip"))
        assert collector.seqs("/up/location") == [6, 7, 8, 9, 10]
    finally:
        second.stop()
        gate.close()


def test_last_will_marks_a_killed_terminal_offline(tmp_path, mosquitto, collector):
    config = json.dumps(mosquitto.link_config(terminal_id="T0007"))
    child = subprocess.Popen([sys.executable, "-m", "tests.link.link_child", str(tmp_path / "t.db"), config],
                             cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        wait_until(lambda: collector.payloads("T0007/status"), "online status")
        assert collector.payloads("T0007/status")[0]["online"] is True
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        wait_until(lambda: len(collector.payloads("T0007/status")) == 2, "last will")
        assert collector.payloads("T0007/status")[1] == {"online": False}
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    late = Collector(mosquitto, "taxi/T0007/status", client_id="late")
    try:
        wait_until(lambda: late.messages, "retained will")
        assert late.messages[0][2] and json.loads(late.messages[0][1]) == {"online": False}
    finally:
        late.close()


def test_falls_back_to_mqtt_311_when_the_broker_refuses_5(tmp_path, mosquitto, collector):
    gate = Gate(mosquitto.port, refuse_v5=True, tls=mosquitto)  # a 3.1.1-only broker stand-in
    uplink = started(tmp_path, mosquitto.link_config(port=gate.port))
    try:
        assert uplink.link.protocol == "3.1.1"
        assert gate.refused >= 1 and set(gate.relayed_levels) == {4}
        uplink.enqueue("location", {"speed": 1})
        wait_until(lambda: collector.seqs("/up/location") == [1], "delivered over 3.1.1")
        wait_until(lambda: uplink.outbox.pending() == 0, "the PUBACK deletes the row")   # it may trail the delivery
        gate.cut()  # reconnects stay on 3.1.1
        wait_until(lambda: uplink.link.connects == 2, "reconnected")
        assert set(gate.relayed_levels) == {4}
    finally:
        uplink.stop()
        gate.close()


def test_mqtt_5_is_used_when_the_broker_speaks_it(tmp_path, mosquitto):
    gate = Gate(mosquitto.port, tls=mosquitto)
    uplink = started(tmp_path, mosquitto.link_config(port=gate.port))
    try:
        assert uplink.link.protocol == "5" and gate.relayed_levels == [5]
    finally:
        uplink.stop()
        gate.close()


def test_username_and_password(tmp_path):
    with Broker(users={"T0001": "s3cret", "platform": "p"}) as broker:
        good = started(tmp_path, broker.link_config(username="T0001", password="s3cret"))
        good.enqueue("location", {"speed": 1})
        wait_until(lambda: good.outbox.pending() == 0, "delivered with credentials")
        good.stop()

        bad = Uplink(tmp_path / "other.db", broker.link_config(username="T0001", password="wrong")).start()
        try:
            bad.enqueue("trip", {"trip_no": 1})
            wait_until(lambda: bad.link.last_error and "refused" in bad.link.last_error, "refusal seen")
            assert "authori" in bad.link.last_error.lower() or "password" in bad.link.last_error.lower()
            assert not bad.link.connected and bad.outbox.pending() == 1  # kept for when it is let in
        finally:
            bad.stop()


def test_tls_with_the_platform_ca(tmp_path):
    with Broker(tls=True) as broker:
        collector = Collector(broker)
        uplink = started(tmp_path, broker.link_config(port=broker.tls_port, tls_ca=str(broker.ca_path)))
        try:
            uplink.enqueue("alarm", {"alarm": 1})
            wait_until(lambda: collector.seqs("/up/alarm") == [1], "delivered over TLS")
        finally:
            uplink.stop()
            collector.close()


def test_downlink_commands_arrive_as_platform_events(tmp_path, mosquitto):
    uplink = started(tmp_path, mosquitto.link_config())
    platform = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="platform", protocol=mqtt.MQTTv5)
    mosquitto.secure(platform, "platform")
    platform.connect(mosquitto.host, mosquitto.port)
    platform.loop_start()
    try:
        offer = {"cmd_id": "c-1", "order_id": "95128-7", "type": "immediate"}
        platform.publish("taxi/T0001/down/order_offer", json.dumps(offer), qos=1).wait_for_publish(5)
        platform.publish("taxi/T0001/down/notice", b"{not json", qos=1).wait_for_publish(5)
        platform.publish("taxi/T0002/down/notice", b"{}", qos=1).wait_for_publish(5)  # another car's
        wait_until(lambda: len([e for e in uplink.other if e.kind == "platform"]) == 2, "two commands")
        good, bad = [e.data for e in uplink.other if e.kind == "platform"]
        assert good["command"] == "order_offer" and good["payload"] == offer and good["error"] is None
        assert bad["command"] == "notice" and bad["payload"] is None and "not JSON" in bad["error"]
        assert bad["raw"] == b"{not json"
    finally:
        platform.disconnect()
        platform.loop_stop()
        uplink.stop()
