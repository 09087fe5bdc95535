"""The link's pure parts: configuration checks, the downlink parser, the fallback rule, and
the CONNECT parser the 3.1.1 stand-in relies on."""

import json
import socket

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from sim.broker import connect_protocol_level, read_packet
from terminal.link.mqtt import LinkConfig, LinkConfigError, downlink_event_data, falls_back

BASE = "taxi/T0001"


def test_a_minimal_configuration_gets_the_documented_defaults():
    config = LinkConfig.from_dict({"terminal_id": "T0001"})
    assert (config.host, config.port, config.prefix, config.protocol, config.keepalive_s) == (
        "127.0.0.1", 1883, "taxi", "5", 30)
    assert config.up_topic("location") == "taxi/T0001/up/location"
    assert config.status_topic == "taxi/T0001/status" and config.downlink_filter == "taxi/T0001/down/#"


@pytest.mark.parametrize(
    "data, key",
    [
        ({}, "terminal_id"),
        ({"terminal_id": "T/1"}, "terminal_id"),
        ({"terminal_id": "T1", "prefix": "taxi/#"}, "prefix"),
        ({"terminal_id": "T1", "port": 0}, "port"),
        ({"terminal_id": "T1", "protocol": "4"}, "protocol"),
        ({"terminal_id": "T1", "username": "u"}, "username"),
        ({"terminal_id": "T1", "tls_ca": "/nonexistent/ca.pem"}, "tls_ca"),
        ({"terminal_id": "T1", "reconnect_min_s": 5, "reconnect_max_s": 1}, "reconnect_max_s"),
        ({"terminal_id": "T1", "keepalive": 30}, "unknown key"),
    ],
)
def test_a_bad_configuration_names_the_key(data, key):
    with pytest.raises(LinkConfigError, match=key):
        LinkConfig.from_dict(data)


def test_a_command_becomes_a_platform_event():
    data = downlink_event_data(BASE + "/down/alarm_confirm", b'{"cmd_id":"7","alarm_id":"A1"}', BASE)
    assert data == {"topic": BASE + "/down/alarm_confirm", "command": "alarm_confirm",
                    "payload": {"cmd_id": "7", "alarm_id": "A1"}, "raw": b'{"cmd_id":"7","alarm_id":"A1"}',
                    "error": None, "fault": None, "retained": False}


@pytest.mark.parametrize("raw, error", [(b"\xff\xfe", "not UTF-8"), (b"[1,2]", "JSON object"),
                                        (b"", "not JSON"), (b'{"a":', "not JSON")])
def test_a_malformed_command_still_arrives_with_the_reason(raw, error):
    data = downlink_event_data(BASE + "/down/notice", raw, BASE)
    assert data["payload"] is None and error in data["error"] and data["command"] == "notice"


@given(st.binary(max_size=64))
def test_the_downlink_parser_never_raises_and_is_exactly_one_of_payload_or_error(raw):
    data = downlink_event_data(BASE + "/down/params", raw, BASE)
    assert (data["payload"] is None) != (data["error"] is None)
    assert data["raw"] == raw


@given(st.dictionaries(st.text(max_size=8), st.integers(-2**63, 2**63 - 1) | st.text(max_size=8), max_size=5))
def test_any_json_object_comes_through_unchanged(body):
    assert downlink_event_data(BASE + "/down/params", json.dumps(body).encode(), BASE)["payload"] == body


def test_only_an_unsupported_protocol_refusal_of_mqtt_5_falls_back():
    unsupported = ReasonCode(PacketTypes.CONNACK, aName="Unsupported protocol version").value
    not_authorised = ReasonCode(PacketTypes.CONNACK, aName="Not authorized").value
    assert falls_back("5", "5", unsupported)
    assert not falls_back("5", "5", not_authorised)
    assert not falls_back("3.1.1", "5", unsupported)  # already fallen back
    assert not falls_back("5", "3.1.1", unsupported)


@pytest.mark.parametrize("protocol, level", [(mqtt.MQTTv5, 5), (mqtt.MQTTv311, 4), (mqtt.MQTTv31, 3)])
def test_the_stand_in_reads_the_protocol_level_paho_sends(protocol, level):
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="T0001", protocol=protocol)
        client.connect("127.0.0.1", server.getsockname()[1])  # writes CONNECT before returning
        peer, _ = server.accept()
        with peer:
            peer.settimeout(5)
            assert connect_protocol_level(read_packet(peer)) == level
        client.disconnect()
