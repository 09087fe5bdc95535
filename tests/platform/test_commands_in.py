"""Downlink commands: every malformed, unsupported or unauthorised command gets an error ack and changes nothing."""

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from terminal.app.alarm import EmergencyAlarm
from terminal.app.orders import OrderDesk
from terminal.link import downlink as ci
from terminal.link import payloads as p
from terminal.link import schemas

T0 = 1795000000000
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUB = KEY.public_key()

GOOD = {
    "order_offer": {"cmd_id": "c1", "order_id": "95128-0001", "order_type": "immediate", "pickup_ms": T0 + 600_000,
                    "pickup": {"address": "天河路 385 号", "latitude": 23132000, "longitude": 113321000},
                    "text": "老人出行，请耐心等候"},
    "order_cancel": {"cmd_id": "c2", "order_id": "95128-0001", "reason": "passenger cancelled"},
    "alarm_confirm": {"cmd_id": "c3", "alarm_id": "1795000000000"},
    "alarm_release": {"cmd_id": "c4"},
    "params": {"cmd_id": "c5", "params": {"report_vacant_s": 30, "report_alarm_s": 5}},
    "notice": {"cmd_id": "c6", "notice_id": "n1", "text": "今晚暴雨，注意安全", "priority": "urgent"},
    "time_sync": {"cmd_id": "c7", "utc_ms": T0},
}


def topic(command, tid="T0001", prefix="taxi"):
    return f"{prefix}/{tid}/down/{command}"


def parse(command, payload, **kw):
    kw.setdefault("prefix", "taxi")
    kw.setdefault("terminal_id", "T0001")
    return ci.parse(kw.pop("topic", topic(command)), payload, **kw)


def refused(result, code):
    assert isinstance(result, ci.Refusal), result
    assert result.ack["result"] == code, result.ack
    ack = p.ack(seq=1, ts_ms=T0, **result.ack)
    assert schemas.errors("up_ack", ack) == []
    return result.ack


@pytest.mark.parametrize("command", sorted(GOOD))
def test_every_good_command_parses_from_bytes_and_from_a_dict(command):
    for payload in (json.dumps(GOOD[command]).encode(), GOOD[command]):
        cmd = parse(command, payload)
        assert isinstance(cmd, ci.Command)
        assert cmd.name == command and cmd.cmd_id == GOOD[command]["cmd_id"]
        assert "cmd_id" not in cmd.body
        assert cmd.ack(0) == {"cmd_id": cmd.cmd_id, "command": command, "result": 0, "reason": ""}


@pytest.mark.parametrize("payload, cmd_id", [
    (b"not json", None), (b"\xff\xfe", None), (b"[1, 2]", None), (b'"text"', None), (b"", None),
    (b'{"order_id": "1"}', None),                                       # no cmd_id
    (b'{"cmd_id": 5, "utc_ms": 1}', None),                              # cmd_id not a string
    (b'{"cmd_id": "c9"}', "c9"),                                        # utc_ms missing
    (b'{"cmd_id": "c9", "utc_ms": -1}', "c9"),
    (b'{"cmd_id": "c9", "utc_ms": 1.5}', "c9"),                         # integers only; readable: echoed
    (b'{"cmd_id": "c9", "utc_ms": 1, "set_fare": 0}', "c9"),           # unknown field
    (b'{"cmd_id": "", "utc_ms": 1}', None),
    (b"[" * 100000, None),                                              # oversized
    (b"[" * 1000, None),                                                # nested too deep
    (b'{"cmd_id": "c9", "utc_ms": 1' + b"0" * 5000 + b"}", "c9"),      # a 5,000-digit integer: echoed
    (b'{"cmd_id": "c9", "utc_ms": NaN}', None),                         # NaN is not JSON
])
def test_malformed_time_sync_is_answered_malformed(payload, cmd_id):
    ack = refused(parse("time_sync", payload), p.RESULT_MALFORMED)
    assert ack["cmd_id"] == cmd_id and ack["command"] == "time_sync" and ack["reason"]


@pytest.mark.parametrize("change", [
    {"order_id": "0"},                       # "0" means street hail, never an order
    {"order_type": "urgent"},
    {"pickup": {}},
    {"pickup": {"address": "x", "latitude": 23132000}},    # latitude without longitude
    {"pickup": {"address": "x", "latitude": -5, "longitude": 1}},
    {"answer_s": 1},
    {"text": "长" * 501},
])
def test_malformed_order_offers_are_answered_malformed(change):
    ack = refused(parse("order_offer", {**GOOD["order_offer"], **change}), p.RESULT_MALFORMED)
    assert ack["cmd_id"] == "c1"


def test_params_must_set_something_and_only_known_things():
    refused(parse("params", {"cmd_id": "p", "params": {}}), p.RESULT_MALFORMED)
    refused(parse("params", {"cmd_id": "p", "params": {"k_constant": 1000}}), p.RESULT_MALFORMED)
    refused(parse("params", {"cmd_id": "p", "params": {"report_alarm_s": 0}}), p.RESULT_MALFORMED)


def test_unknown_commands_are_unsupported():
    ack = refused(parse("fare_override", {"cmd_id": "x"}), p.RESULT_UNSUPPORTED)
    assert ack == {"cmd_id": "x", "command": "fare_override", "result": 3, "reason": "unsupported command 'fare_override'"}


def test_commands_for_another_terminal_or_prefix_are_refused():
    refused(parse("time_sync", GOOD["time_sync"], topic=topic("time_sync", tid="T0002")), p.RESULT_REFUSED)
    refused(parse("time_sync", GOOD["time_sync"], topic=topic("time_sync", prefix="other")), p.RESULT_REFUSED)
    refused(parse("time_sync", GOOD["time_sync"], topic="taxi/T0001/up/time_sync"), p.RESULT_MALFORMED)
    refused(parse("time_sync", GOOD["time_sync"], topic="taxi/T0001/down/time_sync/x"), p.RESULT_MALFORMED)
    refused(parse("time_sync", GOOD["time_sync"], topic="T0001/down/time_sync"), p.RESULT_MALFORMED)
    refused(parse("time_sync", GOOD["time_sync"], topic="fleet/taxi/T0001/down/time_sync"), p.RESULT_REFUSED)


def test_a_prefix_may_span_several_topic_levels():
    cmd = parse("time_sync", GOOD["time_sync"], topic="fleet/gz/T0001/down/time_sync", prefix="fleet/gz")
    assert isinstance(cmd, ci.Command) and cmd.body == {"utc_ms": T0}


def test_with_a_key_only_signed_commands_pass():
    signed = ci.sign(topic("alarm_release"), GOOD["alarm_release"], KEY)
    assert isinstance(parse("alarm_release", signed, platform_key=PUB), ci.Command)
    assert "no sig" in refused(parse("alarm_release", GOOD["alarm_release"], platform_key=PUB),
                               p.RESULT_REFUSED)["reason"]
    forged = ci.sign(topic("alarm_release"), GOOD["alarm_release"], Ed25519PrivateKey.generate())
    refused(parse("alarm_release", forged, platform_key=PUB), p.RESULT_REFUSED)
    tampered = {**signed, "alarm_id": "1795000000000"}
    refused(parse("alarm_release", tampered, platform_key=PUB), p.RESULT_REFUSED)
    zeros = {**GOOD["alarm_release"], "sig": "0" * 128}
    refused(parse("alarm_release", zeros, platform_key=PUB), p.RESULT_REFUSED)
    # key order and spacing of the JSON text do not matter: the signature covers the canonical form
    reordered = json.dumps(dict(reversed(list(signed.items()))), indent=3).encode()
    assert isinstance(parse("alarm_release", reordered, platform_key=PUB), ci.Command)


def test_the_signature_binds_the_terminal_and_the_command_name():
    for_t2 = ci.sign(topic("alarm_release", tid="T0002"), GOOD["alarm_release"], KEY)
    refused(parse("alarm_release", for_t2, platform_key=PUB), p.RESULT_REFUSED)   # replayed to T0001
    as_confirm = ci.sign(topic("alarm_confirm"), {"cmd_id": "c4"}, KEY)
    refused(parse("alarm_release", as_confirm, platform_key=PUB), p.RESULT_REFUSED)


def test_retained_commands_are_refused_even_when_signed():
    signed = ci.sign(topic("alarm_release"), {**GOOD["alarm_release"], "ts": T0}, KEY)
    ack = refused(parse("alarm_release", signed, platform_key=PUB, now_ms=T0, window_ms=60_000, retained=True),
                  p.RESULT_REFUSED)
    assert "retained" in ack["reason"]


def test_replayed_commands_are_refused_outside_the_window():
    fresh = ci.sign(topic("alarm_release"), {**GOOD["alarm_release"], "ts": T0}, KEY)
    assert isinstance(parse("alarm_release", fresh, platform_key=PUB, now_ms=T0 + 1000, window_ms=60_000),
                      ci.Command)
    assert "stale" in refused(parse("alarm_release", fresh, platform_key=PUB, now_ms=T0 + 61_000, window_ms=60_000),
                              p.RESULT_REFUSED)["reason"]
    assert "stale" in refused(parse("alarm_release", fresh, platform_key=PUB, now_ms=T0 - 61_000, window_ms=60_000),
                              p.RESULT_REFUSED)["reason"]
    undated = ci.sign(topic("alarm_release"), GOOD["alarm_release"], KEY)
    refused(parse("alarm_release", undated, platform_key=PUB, now_ms=T0, window_ms=60_000), p.RESULT_REFUSED)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)


@given(st.sampled_from(sorted(GOOD) + ["reboot"]),
       st.one_of(json_values, st.dictionaries(st.sampled_from(
           ["cmd_id", "order_id", "order_type", "pickup_ms", "pickup", "text", "alarm_id", "params", "notice_id",
            "utc_ms", "mac", "ts", "reason", "answer_s"]), json_values, max_size=8)),
       st.booleans())
def test_arbitrary_payloads_give_a_valid_command_or_an_error_ack(command, message, with_key):
    result = parse(command, json.dumps(message).encode(), platform_key=PUB if with_key else None)
    if isinstance(result, ci.Command):
        full = {**result.body, "cmd_id": result.cmd_id}
        assert not with_key
        assert schemas.errors(f"down_{command}", {**full, **({"ts": result.issued_ms} if result.issued_ms is not None
                                                               else {})}) == []
    else:
        assert result.ack["result"] in (p.RESULT_MALFORMED, p.RESULT_UNSUPPORTED, p.RESULT_REFUSED)
        assert schemas.errors("up_ack", p.ack(seq=1, ts_ms=T0, **result.ack)) == []


def route(result, desk, alarm, now_ms):
    """What the loop does with a parse result: refusals go straight out as acks."""
    if isinstance(result, ci.Refusal):
        return [("report", "ack", result.ack)]
    handler = {"order_offer": desk.offer, "order_cancel": desk.centre_cancel,
               "alarm_confirm": alarm.confirm, "alarm_release": alarm.release}[result.name]
    return handler(result, now_ms)


@pytest.mark.parametrize("command, payload", [
    ("order_offer", {**GOOD["order_offer"], "order_type": "whenever"}),
    ("order_cancel", {"cmd_id": "c2"}),
    ("alarm_release", GOOD["alarm_release"]),           # unsigned, but a key is configured
    ("alarm_confirm", {**GOOD["alarm_confirm"], "alarm_id": 7}),
])
def test_bad_commands_leave_orders_and_alarm_untouched(command, payload):
    desk, alarm = OrderDesk(), EmergencyAlarm()
    alarm.button(T0, held_ms=3000)
    desk.offer(parse("order_offer", ci.sign(topic("order_offer"), {**GOOD["order_offer"], "order_id": "A1"}, KEY),
                     platform_key=PUB), T0)
    before = (desk.snapshot(), alarm.snapshot())
    effects = route(parse(command, payload, platform_key=PUB), desk, alarm, T0 + 1000)
    assert (desk.snapshot(), alarm.snapshot()) == before
    assert len(effects) == 1 and effects[0][2]["result"] in (p.RESULT_MALFORMED, p.RESULT_REFUSED)
