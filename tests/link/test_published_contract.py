"""The published MQTT contract (docs/mqtt.md, the schema files, broker/), checked from outside.

An integrator's platform (tests/link/integrator.py: paho, its own signer written from the doc,
jsonschema over the schema files) against a whole terminal on the shipped broker configuration.
The terminal trusts the integrator's own Ed25519 key, installed as STATE/keys/platform.pub the
way docs/provisioning.md says. Every message the platform receives is checked against its schema
and against the doc's words (units, names, result codes).

Longer than 400 lines because the tests share one terminal and one platform for the whole
module (starting a terminal costs seconds) and follow the page section by section, in the
order the terminal's state goes through them (the clean stop and the restart come after the
check of every message received).
"""

import json
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.event import Event
from gps.fix import Fix
from sim.broker import Broker
from tests.link.integrator import Integrator, schema_errors, sign, signed_bytes
from tests.link.terminal_process import TID, TerminalProcess

OTHER = "T0099"
KEY = Ed25519PrivateKey.generate()
ELSEWHERE = Ed25519PrivateKey.generate()      # a key the terminal does not know


@pytest.fixture(scope="module")
def broker():
    with Broker(shipped=True, terminals=(TID, OTHER), platform=("platform", "integrator")) as b:
        yield b


@pytest.fixture(scope="module")
def car(tmp_path_factory, broker):
    t = TerminalProcess(tmp_path_factory.mktemp("contract"), broker)
    pem = KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (t.tmp / "state" / "keys" / "platform.pub").write_bytes(pem)      # the integrator's key, not the simulator's
    with open(t.config, "a", encoding="utf-8") as config:            # room for the many error acks below
        config.write("[downlink]\nerror_acks_per_s = 200\nerror_ack_burst = 1000\n")
    t.inline()
    yield t
    t.close()


@pytest.fixture(scope="module")
def centre(broker, car):
    c = Integrator(broker, "integrator", KEY)
    c.wait_for(lambda m: m.kind == "status" and m.tid == TID and m.payload.get("online"), "the terminal online")
    yield c
    c.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def bcd_gmt8(ms: int) -> str:
    return time.strftime("%y%m%d%H%M%S", time.gmtime(ms // 1000 + 8 * 3600))


def ack_of(centre, tid, command, body=None, **kw):
    mark = centre.mark()
    cmd_id = centre.command(tid, command, body, **kw)
    return centre.ack(cmd_id, mark)


def press_alarm(car, centre):
    mark = centre.mark()
    pin = car.runtime.devices.inputs[1].buttons["alarm_a"].pin
    pin.drive_low()
    time.sleep(0.9)
    pin.drive_high()
    return centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "pre_alarm",
                           "pre_alarm", mark).payload


def key(car, name, long=False):
    term = car.runtime.terminal
    term.events.put(Event("key", term.clock(), {"key": name, "long": long}))


# -- the signature, from the doc alone --------------------------------------------------------------

def test_the_worked_example_signs_to_the_documented_bytes_and_signature():
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    key = Ed25519PrivateKey.from_private_bytes(seed)
    command = {"cmd_id": "c-1001", "ts": 1795000000000, "alarm_id": "1795000002950", "reason": "电话核实，误报"}
    data = signed_bytes("taxi/T0001/down/alarm_release", command)
    assert len(data) == 148
    assert data.hex() == (
        "746178697465726d2d636f6d6d616e642d76310a746178692f54303030312f646f776e2f616c61726d5f72656c656173650a"
        "7b22616c61726d5f6964223a2231373935303030303032393530222c22636d645f6964223a22632d31303031222c22726561736f"
        "6e223a22e794b5e8af9de6a0b8e5ae9eefbc8ce8afafe68aa5222c227473223a313739353030303030303030307d")
    assert sign("taxi/T0001/down/alarm_release", command, key)["sig"] == (
        "65971d2a2b36918cc61e3ea263151c662626d08ee2c89d07c1b800074a7a87f4"
        "a62db355952e7d46ea024cbf06db34a01c63e9506aa16965d93f769c356b1d0e")


def test_every_schema_file_is_a_valid_draft_2020_12_schema():
    from jsonschema import Draft202012Validator

    from tests.link.integrator import SCHEMA_DIR
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name


def test_the_topic_tree_lists_every_message_a_schema_file_describes():
    import re
    from pathlib import Path

    from tests.link.integrator import SCHEMA_DIR
    doc = (Path(__file__).resolve().parents[2] / "docs" / "mqtt.md").read_text(encoding="utf-8")
    tree = doc[doc.index("## Topic tree"):doc.index("### Online status")]
    rows = dict(re.findall(r"^\| `\{prefix\}/\{tid\}/([a-z_/]+)` \|.*\| `([a-z_]+\.json)`", tree, re.M))
    files = {p.name for p in SCHEMA_DIR.glob("*.json")} - {"common.json"}
    wanted = {("status" if f == "status.json" else f[:-5].replace("_", "/", 1)): f for f in files}
    assert rows == wanted


# -- online status ----------------------------------------------------------------------------------

def test_the_online_status_is_retained_qos1_and_names_the_terminal(broker, car, centre):
    late = Integrator(broker, "integrator-late", None, filters=(f"taxi/{TID}/status",))
    try:
        status = late.wait_for(lambda m: True, "the retained status")
    finally:
        late.close()
    assert status.retain and status.qos == 1
    assert schema_errors("status", status.payload) == []
    p = status.payload
    assert p["online"] is True and p["terminal_id"] == TID and p["software"]
    assert abs(p["ts"] - now_ms()) < 3600_000            # Unix epoch ms


# -- uplinks in the documented units ----------------------------------------------------------------

def guangzhou_fix(at):
    return Fix(time_ms=at, lat=23.129163, lon=113.264435, alt_m=21.4, speed_mps=11.2, course_deg=87.4, quality=1,
               mode=3, sats=9, valid=True)


def test_a_location_report_says_the_fix_in_jt808_units(car, centre):
    assert ack_of(centre, TID, "params", {"params": {"report_vacant_s": 1}})["result"] == 0
    term = car.runtime.terminal
    at = term.clock()
    fix = guangzhou_fix(at)
    mark = centre.mark()
    term.events.put(Event("fix", at, {"fix": fix}))
    loc = centre.wait_for(lambda m: m.kind == "location" and m.payload["status"] & 2, "a positioned location",
                          mark).payload
    assert ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 30}})["result"] == 0    # 40.3 km/h is over
    mark = centre.mark()
    again = term.clock()
    term.events.put(Event("fix", again, {"fix": guangzhou_fix(again)}))
    fast = centre.wait_for(lambda m: m.kind == "location" and m.payload["extra"]["overspeed"], "overspeed", mark)
    assert fast.payload["speed"] == 403 and fast.payload["status"] & 2
    assert ack_of(centre, TID, "params", {"params": {"report_vacant_s": 30, "speed_limit_kmh": 250}})["result"] == 0
    assert schema_errors("up_location", loc) == []
    assert set(loc["extra"]["chain"]) == {"counter", "hash"}         # a provisioned terminal keeps a chain
    assert (loc["latitude"], loc["longitude"], loc["altitude"]) == (23129163, 113264435, 21)
    assert loc["speed"] == 403 and loc["direction"] == 87            # 0.1 km/h: 11.2 m/s x 36; degrees
    assert loc["time"] == bcd_gmt8(at)                               # the fix's time, GMT+8
    assert not loc["status"] & (1 << 2) and not loc["status"] & (1 << 3)
    extra = loc["extra"]
    assert extra["operating"] == "for_hire" and extra["order_id"] == "0" and extra["overspeed"] is False
    assert extra["satellites"] == 9 and isinstance(extra["mileage"], int)
    assert loc["type"] == "location" and loc["resent"] is False and loc["seq"] >= 1


def nmea_epoch(at_ms: int, altitude_m: float) -> bytes:
    from gps.framer import with_checksum
    t = time.gmtime(at_ms // 1000)
    hms, dmy = time.strftime("%H%M%S", t) + ".00", time.strftime("%d%m%y", t)
    return (with_checksum(f"GPRMC,{hms},A,2307.7498,N,11315.8661,E,21.8,87.4,{dmy},,,A")
            + with_checksum(f"GPGGA,{hms},2307.7498,N,11315.8661,E,1,09,0.9,{altitude_m:.1f},M,-5.0,M,,"))


def test_a_fix_the_receiver_puts_at_12000_m_is_reported_not_fatal(car, centre):
    """The GNSS room takes altitudes up to 20,000 m as possible; the report must carry what it takes."""
    assert ack_of(centre, TID, "params", {"params": {"report_vacant_s": 1}})["result"] == 0
    mark = centre.mark()
    for _ in range(4):
        car.gnss_pty.write(nmea_epoch(now_ms(), 12000.0))
        time.sleep(0.5)
    high = centre.wait_for(lambda m: m.kind == "location" and m.payload["altitude"] == 12000, "12000 m", mark)
    assert high.payload["status"] & 2 and schema_errors("up_location", high.payload) == []
    assert car.runtime.healthy()
    assert ack_of(centre, TID, "params", {"params": {"report_vacant_s": 30}})["result"] == 0


# -- commands: the acknowledgement codes ------------------------------------------------------------

def test_each_result_code_as_the_table_says(car, centre):
    ok = ack_of(centre, TID, "notice", {"notice_id": "n1", "text": "前方施工，请绕行", "priority": "urgent"})
    assert (ok["result"], ok["command"], ok["type"]) == (0, "notice", "ack")
    unsupported = ack_of(centre, TID, "reboot", {})
    assert unsupported["result"] == 3 and unsupported["command"] == "reboot"
    mark = centre.mark()
    centre.command(TID, "notice", raw=b"not json")
    junk = centre.ack(None, mark)
    assert junk["result"] == 2 and junk["cmd_id"] is None
    old_mac = ack_of(centre, TID, "notice", {"notice_id": "n5", "text": "x", "mac": "0" * 64})
    assert old_mac["result"] == 0                     # the first draft's field: signed over, then ignored
    extra_field = ack_of(centre, TID, "notice", {"notice_id": "n2", "text": "x", "colour": "red"})
    assert extra_field["result"] == 2 and "colour" in extra_field["reason"]
    offer_zero = ack_of(centre, TID, "order_offer", {"order_id": "0", "order_type": "immediate", "pickup_ms": now_ms(),
                                                     "pickup": {"address": "x"}, "text": ""})
    assert offer_zero["result"] == 2
    empty_params = ack_of(centre, TID, "params", {"params": {}})
    assert empty_params["result"] == 2
    mark = centre.mark()
    centre.command(TID, "time_sync", raw=b'{"cmd_id":"frac-1","ts":%d,"utc_ms":1.5}' % now_ms())
    fraction = centre.ack("frac-1", mark)                 # readable, with a string cmd_id: echoed
    assert fraction["result"] == 2 and "integer" in fraction["reason"]
    mark = centre.mark()
    centre.command(TID, "time_sync", raw=b'{"cmd_id":"long-1","ts":%d,"utc_ms":%s}' % (now_ms(), b"9" * 25))
    assert centre.ack("long-1", mark)["result"] == 2
    for a in (ok, unsupported, junk, extra_field, offer_zero, empty_params, fraction):
        assert schema_errors("up_ack", a) == []


def test_the_terminal_checks_the_canonical_form_not_the_published_text(car, centre):
    cmd = sign(f"taxi/{TID}/down/notice", {"ts": now_ms(), "text": "司机\t请注意\u0001", "notice_id": "n3",
                                           "cmd_id": "canon-1"}, KEY)
    wire = json.dumps(dict(reversed(list(cmd.items()))), ensure_ascii=True, indent=2).encode()   # \\uXXXX, spaces
    mark = centre.mark()
    centre.command(TID, "notice", raw=wire)
    assert centre.ack("canon-1", mark)["result"] == 0


def test_unauthenticated_stale_future_and_misaddressed_commands_are_refused(car, centre):
    body = {"notice_id": "n4", "text": "x"}
    assert ack_of(centre, TID, "notice", body, key=ELSEWHERE)["result"] == 4           # another key
    mark = centre.mark()
    centre.command(TID, "notice", raw=b'{"cmd_id":"nosig","ts":%d,"notice_id":"n","text":"x"}' % now_ms())
    assert centre.ack("nosig", mark)["result"] == 4                                   # unsigned
    assert ack_of(centre, TID, "notice", body, ts=now_ms() - 301_000)["result"] == 4   # stale
    assert ack_of(centre, TID, "notice", body, ts=now_ms() + 301_000)["result"] == 4   # from the future
    assert ack_of(centre, TID, "notice", body, ts=now_ms() - 290_000)["result"] == 0   # inside the window
    for_other = ack_of(centre, TID, "notice", body, signed_for=f"taxi/{OTHER}/down/notice")
    assert for_other["result"] == 4                                # signed for another terminal
    as_confirm = ack_of(centre, TID, "alarm_release", {}, signed_for=f"taxi/{TID}/down/alarm_confirm")
    assert as_confirm["result"] == 4                               # signed as another command
    mark = centre.mark()                                           # a lone surrogate has no canonical form
    centre.command(TID, "notice", raw=b'{"cmd_id":"lone","ts":%d,"notice_id":"n","text":"\\ud800","sig":"%s"}'
                   % (now_ms(), b"ab" * 64))
    lone = centre.ack("lone", mark)
    assert lone["result"] == 4 and "canonical" in lone["reason"]
    no_ts = {"cmd_id": "nots", "notice_id": "n", "text": "x"}
    mark = centre.mark()
    centre.command(TID, "notice", raw=json.dumps(sign(f"taxi/{TID}/down/notice", no_ts, KEY)).encode())
    assert centre.ack("nots", mark)["result"] == 4


def test_a_repeated_cmd_id_is_acknowledged_again_and_never_applied_again(car, centre):
    first = ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 60}}, cmd_id="rep-1")
    assert ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 80}})["result"] == 0
    again = ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 60}}, cmd_id="rep-1")
    assert (again["result"], again["reason"], again["cmd_id"]) == (first["result"], first["reason"], "rep-1")
    assert again["seq"] != first["seq"]                       # a new acknowledgement, not a duplicate
    assert car.runtime.terminal.platform.params["speed_limit_kmh"] == 80
    reused = ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 90}}, cmd_id="rep-1")  # another command
    assert (reused["command"], reused["result"]) == ("params", 0)
    assert ack_of(centre, TID, "notice", {"notice_id": "r", "text": "x"}, cmd_id="rep-1")["command"] == "params"
    assert car.runtime.terminal.platform.params["speed_limit_kmh"] == 80


def test_retained_commands_are_refused_live_and_the_stored_copy_too(car, centre):
    mark = centre.mark()
    cmd_id = centre.command(TID, "notice", {"notice_id": "r", "text": "retained"}, retain=True)
    assert centre.ack(cmd_id, mark)["result"] == 4
    centre.command(TID, "notice", raw=b"", retain=True)      # the platform clears what it stored by mistake


def test_a_qos0_command_that_arrives_is_applied_like_a_qos1_one(car, centre):
    mark = centre.mark()
    cmd_id = centre.command(TID, "notice", {"notice_id": "q0", "text": "at most once"}, qos=0)
    assert centre.ack(cmd_id, mark)["result"] == 0


def test_an_oversized_command_is_malformed_and_the_terminal_answers_on(car, centre):
    mark = centre.mark()
    big = {"cmd_id": "big", "ts": now_ms(), "notice_id": "b", "text": "x" * 9000}
    centre.command(TID, "notice", raw=json.dumps(sign(f"taxi/{TID}/down/notice", big, KEY)).encode())
    junk = centre.ack(None, mark)
    assert junk["result"] == 2 and "bytes" in junk["reason"]
    assert ack_of(centre, TID, "notice", {"notice_id": "after", "text": "x"})["result"] == 0


def test_a_packet_over_the_brokers_limit_costs_the_sender_its_connection(broker, car, centre):
    sender = Integrator(broker, "integrator-big", KEY, filters=())
    dropped = threading.Event()
    sender.client.on_disconnect = lambda c, u, f, rc, p: dropped.set()
    try:
        sender.client.publish(f"taxi/{TID}/down/notice", b"x" * 1_100_000, qos=1)
        assert dropped.wait(10)                             # max_packet_size 1048576 in broker/mosquitto.conf
    finally:
        sender.close()
    assert ack_of(centre, TID, "notice", {"notice_id": "after-big", "text": "x"})["result"] == 0


# -- the broker's ACL: another terminal's account ---------------------------------------------------

def test_another_terminal_can_neither_command_nor_read_nor_impersonate(broker, car, centre):
    spy = Integrator(broker, OTHER, KEY, role="terminal",
                     filters=(f"taxi/{TID}/down/#", "taxi/+/up/#", "taxi/+/status", "taxi/#",
                              "$share/g/taxi/+/up/#", "$SYS/#"))
    try:
        mark = centre.mark()
        forged = spy.command(TID, "notice", {"notice_id": "spy", "text": "signed with a stolen key"})
        spy.command(TID, "alarm_release", {})
        spy.command(OTHER, "notice", {"notice_id": "self", "text": "a terminal writing its own commands"})
        spy.client.publish(f"taxi/{TID}/status", b'{"online": false}', qos=1, retain=True).wait_for_publish(5)
        spy.client.publish(f"taxi/{TID}/up/alarm", b'{"type":"alarm"}', qos=1).wait_for_publish(5)
        sentinel = ack_of(centre, TID, "notice", {"notice_id": "s", "text": "x"})   # after the spy's messages
        centre.command(OTHER, "notice", {"notice_id": "for-spy", "text": "the spy's own command"})
        spy.wait_for(lambda m: m.payload.get("notice_id") == "for-spy", "its own commands: the spy listens")
        assert sentinel["result"] == 0
        seen = centre.received()[mark:]
        assert not [m for m in seen if m.kind == "ack" and m.payload.get("cmd_id") == forged]
        assert not [m for m in seen if m.kind == "status" and m.tid == TID]
        assert not [m for m in seen if m.raw == b'{"type":"alarm"}']
        assert [m for m in spy.received() if m.tid != OTHER] == []
        assert not [m for m in spy.received() if m.payload.get("notice_id") == "self"]   # cannot write its own
    finally:
        spy.close()


def test_another_terminals_last_will_cannot_mark_this_one_offline(broker, car, centre):
    import socket as sockets
    spy = mqtt_client(broker, OTHER)
    spy.will_set(f"taxi/{TID}/status", b'{"online": false}', qos=1, retain=True)
    connected = threading.Event()
    spy.on_connect = lambda c, u, f, rc, p: connected.set()
    mark = centre.mark()
    spy.connect(broker.host, broker.port)
    spy.loop_start()
    try:
        if connected.wait(5):
            spy.socket().shutdown(sockets.SHUT_RDWR)          # vanish: the broker would publish the will
            time.sleep(0.5)
    finally:
        spy.loop_stop()
    sentinel = ack_of(centre, TID, "notice", {"notice_id": "w", "text": "x"})
    assert sentinel["result"] == 0
    assert not [m for m in centre.received()[mark:] if m.kind == "status" and m.tid == TID]
    late = Integrator(broker, "integrator-late2", None, filters=(f"taxi/{TID}/status",))
    try:
        assert late.wait_for(lambda m: True, "the retained status").payload["online"] is True
    finally:
        late.close()


def mqtt_client(broker, name, role="terminal"):
    import paho.mqtt.client as mqtt
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    options = broker.client_options(name, role)
    client.username_pw_set(options["username"], options["password"])
    client.tls_set(ca_certs=options["tls_ca"])
    return client


# -- the emergency alarm, step by step --------------------------------------------------------------

def alarm_stage(centre, stage, mark):
    return centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == stage, stage, mark).payload


def test_the_alarm_lifecycle_as_documented(car, centre):
    assert ack_of(centre, TID, "alarm_confirm", {})["result"] == 1                  # nothing active
    assert ack_of(centre, TID, "alarm_release", {})["result"] == 1
    pre = press_alarm(car, centre)
    extra = pre["extra"]
    assert pre["alarm"] & 3 == 3 and extra["alarm_id"] == str(extra["pressed_ms"])
    assert schema_errors("up_alarm", pre) == []
    assert ack_of(centre, TID, "alarm_confirm", {"alarm_id": "1"})["result"] == 1    # another alarm
    mark = centre.mark()
    assert ack_of(centre, TID, "alarm_confirm", {"alarm_id": extra["alarm_id"]})["result"] == 0
    confirmed = alarm_stage(centre, "confirmed", mark)
    assert confirmed["alarm"] & 3 == 1 and confirmed["extra"]["alarm_id"] == extra["alarm_id"]
    assert ack_of(centre, TID, "alarm_confirm", {"alarm_id": extra["alarm_id"]})["result"] == 0   # a repeat
    mark = centre.mark()
    assert ack_of(centre, TID, "params", {"params": {"report_alarm_s": 1}})["result"] == 0
    periodic = alarm_stage(centre, "periodic", mark)
    assert periodic["alarm"] & 1 and periodic["extra"]["alarm_id"] == extra["alarm_id"]
    mark = centre.mark()
    release = ack_of(centre, TID, "alarm_release", {"alarm_id": extra["alarm_id"], "reason": "电话核实，误报"},
                     cmd_id="rel-1")
    assert release["result"] == 0
    released = alarm_stage(centre, "released", mark)
    assert released["alarm"] & 3 == 0
    assert ack_of(centre, TID, "alarm_release", {"alarm_id": extra["alarm_id"]})["result"] == 0   # a repeat
    assert ack_of(centre, TID, "alarm_release", {})["result"] == 1       # no alarm named, none active
    assert ack_of(centre, TID, "params", {"params": {"report_alarm_s": 5}})["result"] == 0
    # a second press; the recorded release (same cmd_id, no alarm_id) is acknowledged, never applied
    second = press_alarm(car, centre)["extra"]["alarm_id"]
    assert second != extra["alarm_id"]
    mark = centre.mark()
    assert ack_of(centre, TID, "alarm_release", {}, cmd_id="rel-1")["result"] == 0
    ack_of(centre, TID, "notice", {"notice_id": "s2", "text": "x"})
    assert not [m for m in centre.received("alarm")[0:] if m.payload["extra"]["stage"] == "released"
                and m.payload["extra"]["alarm_id"] == second]
    assert car.runtime.terminal.alarm.active
    # released before the centre confirmed it: a false alarm ends
    mark = centre.mark()
    assert ack_of(centre, TID, "alarm_release", {"alarm_id": second})["result"] == 0
    assert alarm_stage(centre, "released", mark)["extra"]["alarm_id"] == second


# -- on-call orders, step by step -------------------------------------------------------------------

def order_event(centre, event, mark, order_id):
    return centre.wait_for(lambda m: m.kind == "order" and m.payload["event"] == event
                           and m.payload["order_id"] == order_id, f"order {order_id} {event}", mark).payload


def offer(centre, order_id, order_type="immediate", **kw):
    body = {"order_id": order_id, "order_type": order_type, "pickup_ms": now_ms() + 600_000,
            "pickup": {"address": "天河路 385 号", "latitude": 23132000, "longitude": 113321000},
            "text": "老人出行，请耐心等候", **kw}
    return ack_of(centre, TID, "order_offer", body)


def test_an_offer_accepted_then_cancelled_by_the_centre(car, centre):
    assert offer(centre, "95128-0001")["result"] == 0
    assert offer(centre, "95128-0001")["result"] == 0                # the same offer again: no change
    assert offer(centre, "95128-0002")["result"] == 4                # another order while one is open
    mark = centre.mark()
    key(car, "accept")
    accepted = order_event(centre, "accepted", mark, "95128-0001")
    assert schema_errors("up_order", accepted) == []
    assert ack_of(centre, TID, "order_cancel", {"order_id": "nope"})["result"] == 1
    mark = centre.mark()
    assert ack_of(centre, TID, "order_cancel", {"order_id": "95128-0001", "reason": "乘客取消"})["result"] == 0
    cancelled = order_event(centre, "cancelled", mark, "95128-0001")
    assert cancelled["reason"].startswith("centre")


def test_an_offer_rejected_by_the_driver_and_one_left_unanswered(car, centre):
    assert offer(centre, "95128-0010")["result"] == 0
    mark = centre.mark()
    key(car, "reject")
    assert order_event(centre, "rejected", mark, "95128-0010")["reason"] == "driver"
    mark = centre.mark()
    assert offer(centre, "95128-0011", answer_s=5)["result"] == 0
    late = order_event(centre, "timeout", mark, "95128-0011")         # answer_s passed without a key
    assert schema_errors("up_order", late) == []
    assert offer(centre, "95128-0012")["result"] == 0
    mark = centre.mark()
    key(car, "accept")
    order_event(centre, "accepted", mark, "95128-0012")
    key(car, "reject")                                                # on the way: the driver cancels
    assert order_event(centre, "cancelled", mark, "95128-0012")["reason"].startswith("driver:")
    assert offer(centre, "95128-0013")["result"] == 0
    mark = centre.mark()
    key(car, "hire")                                                  # a street hail while offered
    assert order_event(centre, "rejected", mark, "95128-0013")["reason"] == "occupied"
    key(car, "settle")
    time.sleep(0.5)
    key(car, "hire")
    trip = centre.wait_for(lambda m: m.kind == "trip", "the street hail's trip", mark).payload
    assert trip["record"]["order_id"] == "0"


def test_an_assigned_order_runs_to_its_trip_and_the_trip_carries_the_order(car, centre):
    mark = centre.mark()
    assert offer(centre, "95128-0003", "assigned")["result"] == 0
    assert order_event(centre, "accepted", mark, "95128-0003")["reason"] == "assigned"
    assert ack_of(centre, TID, "time_sync", {"utc_ms": now_ms()})["result"] == 0      # for hire: recorded
    too_far = ack_of(centre, TID, "time_sync", {"utc_ms": now_ms() + 600_000})
    assert too_far["result"] == 4 and "limit" in too_far["reason"]                     # more than 5 min
    mark = centre.mark()
    key(car, "hire")
    order_event(centre, "boarded", mark, "95128-0003")
    assert ack_of(centre, TID, "order_cancel", {"order_id": "95128-0003"})["result"] == 4   # passenger on board
    assert ack_of(centre, TID, "time_sync", {"utc_ms": now_ms()})["result"] == 4            # hired
    assert offer(centre, "95128-0004")["result"] == 4                                        # occupied
    key(car, "settle")
    time.sleep(0.5)
    mark = centre.mark()
    key(car, "hire")
    completed = order_event(centre, "completed", mark, "95128-0003")
    assert isinstance(completed["trip_no"], int) and isinstance(completed["total_fen"], int)
    trip = centre.wait_for(lambda m: m.kind == "trip" and m.payload["record"]["order_id"] == "95128-0003",
                           "the trip", mark).payload
    assert schema_errors("up_trip", trip) == []
    assert trip["record"]["trip_no"] == completed["trip_no"] and trip["record"]["total_fen"] == completed["total_fen"]
    witness = trip["witness"]                          # checked offline with the device's public key
    assert (witness["trip_no"], witness["digest"]) == (trip["record"]["trip_no"], trip["record"]["digest"])
    verify_witness(car.tmp / "state" / "keys" / "device.pub", witness)


def verify_witness(device_pub, witness):
    """docs/mqtt.md "trip": signature (purpose witness) over the canonical JSON of the first four fields:
    "taxiterm/witness/v1" LF + canonical JSON; Ed25519, or ECDSA P-256 r || s (docs/provisioning.md)."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, utils

    from tests.link.integrator import canonical_json
    body = {k: witness[k] for k in ("trip_no", "digest", "chain_counter", "chain_hash")}
    message = b"taxiterm/witness/v1\n" + canonical_json(body).encode("utf-8")
    signature = base64.b64decode(witness["signature"])
    key = serialization.load_pem_public_key(device_pub.read_bytes())
    if isinstance(key, ec.EllipticCurvePublicKey):
        der = utils.encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    else:
        key.verify(signature, message)


def test_a_record_query_is_answered_on_up_record_then_acknowledged(car, centre):
    mark = centre.mark()
    cmd_id = centre.command(TID, "record_query", {"what": "position", "from": now_ms() - 3600_000, "to": now_ms()})
    ack = centre.wait_for(lambda m: m.kind == "ack" and m.payload["cmd_id"] == cmd_id, "the ack", mark)
    record = centre.wait_for(lambda m: m.kind == "record" and m.payload["cmd_id"] == cmd_id, "the records", mark)
    assert ack.payload["result"] == 0 and record.payload["what"] == "position"
    assert record.payload["seq"] < ack.payload["seq"]
    arrived = centre.received()
    assert arrived.index(record) < arrived.index(ack)      # the ack tells the platform the answer is complete
    assert schema_errors("up_record", record.payload) == []


# -- delivery: resent backlog, last will, clean stop, and every message received ---------------------

def test_the_backlog_after_a_broker_restart_arrives_marked_resent(broker, car, centre):
    import signal
    keeper = Integrator(broker, "integrator-archive", None, persistent=True)   # a session the broker keeps
    try:
        term = car.runtime.terminal
        broker._proc.send_signal(signal.SIGTERM)       # a clean broker restart: it saves sessions first
        broker._proc.wait(10)
        broker._proc = None
        link = car.runtime.devices.link
        deadline = time.monotonic() + 10
        while link.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        mark = keeper.mark()
        term.events.put(Event("key", term.clock(), {"key": "hire", "long": True}))    # out of service: reports
        time.sleep(0.3)
        term.events.put(Event("key", term.clock(), {"key": "hire", "long": True}))    # back for hire
        time.sleep(0.3)
        restarted_ms = now_ms()
        broker.start()
        backlog = keeper.wait_for(lambda m: m.tid == TID and m.kind != "status" and m.payload.get("resent"),
                                  "a report from the backlog", mark)
        assert schema_errors(f"up_{backlog.kind}", backlog.payload) == []
        assert backlog.payload["ts"] <= now_ms()
    finally:
        keeper.close()
    centre.wait_for(lambda m: m.kind == "status" and m.tid == TID and m.payload.get("online")
                    and m.payload["ts"] >= restarted_ms, "online again")


def test_a_terminal_that_vanishes_is_marked_offline_by_its_last_will(car, centre):
    import socket
    link = car.runtime.devices.link
    mark = centre.mark()
    cut_ms = now_ms()
    link._client.socket().shutdown(socket.SHUT_RDWR)        # the car loses its network without a goodbye
    will = centre.wait_for(lambda m: m.kind == "status" and m.tid == TID and not m.payload["online"], "the will", mark)
    assert will.payload == {"online": False} and will.retain and will.qos == 1
    back = centre.wait_for(lambda m: m.kind == "status" and m.tid == TID and m.payload["online"]
                           and m.payload["ts"] >= cut_ms, "online again", mark)
    assert back.retain


def test_every_message_received_keeps_the_envelope_and_its_schema(centre):
    ups = [m for m in centre.received() if m.tid == TID]
    assert len(ups) > 20
    seen: dict[int, dict] = {}
    for m in ups:
        if m.kind == "status":
            assert m.topic == f"taxi/{TID}/status" and m.retain and schema_errors("status", m.payload) == []
            continue
        p = m.payload
        assert m.topic == f"taxi/{TID}/up/{p['type']}" and m.qos == 1 and not m.retain, m.topic
        assert schema_errors(f"up_{p['type']}", p) == [], (m.topic, p)
        if p["seq"] in seen:                          # at least once: a duplicate is the same message
            assert {k: v for k, v in seen[p["seq"]].items() if k != "resent"} == \
                {k: v for k, v in p.items() if k != "resent"}
        seen[p["seq"]] = p
    assert min(seen) >= 1
    faults = sum(1 << b for b in (4, 5, 6, 7, 8, 10, 15, 23))       # health: device faults only
    healths = [p for p in seen.values() if p["type"] == "health"]
    assert healths and all(p["alarm"] & ~faults == 0 for p in healths), [p["alarm"] for p in healths]
    assert not [p for p in seen.values() if p["type"] in ("notice_ack", "audit")]   # reserved, never sent


def test_a_clean_stop_says_offline_itself(car, centre):
    mark = centre.mark()
    car.runtime.stop()
    car.runtime = None
    bye = centre.wait_for(lambda m: m.kind == "status" and m.tid == TID and not m.payload["online"], "offline", mark)
    assert bye.retain and schema_errors("status", bye.payload) == []
    assert bye.payload["online"] is False and bye.payload["terminal_id"] == TID and bye.payload["ts"] <= now_ms()


def test_after_a_restart_seq_goes_on_and_commands_sent_meanwhile_are_gone(car, centre):
    if car.runtime is not None:                       # run on its own: stop the terminal first
        car.runtime.stop()
        car.runtime = None
    before = max((m.payload["seq"] for m in centre.received(tid=TID) if m.kind != "status"), default=0)
    known_before = any(m.payload.get("cmd_id") == "rep-1" for m in centre.received("ack"))
    lost = centre.command(TID, "notice", {"notice_id": "while-off", "text": "the terminal is off"})
    mark = centre.mark()
    started_ms = now_ms()
    car.inline()                                      # the same state directory, a new process life
    centre.wait_for(lambda m: m.kind == "status" and m.tid == TID and m.payload["online"]
                    and m.payload["ts"] >= started_ms, "online again", mark)
    sentinel = ack_of(centre, TID, "notice", {"notice_id": "after", "text": "x"})
    assert sentinel["seq"] > before                   # persisted across the restart
    assert not [m for m in centre.received("ack") if m.payload["cmd_id"] == lost]   # clean start: not queued
    assert ack_of(centre, TID, "notice", {"notice_id": "while-off", "text": "again"}, cmd_id=lost)["result"] == 0
    if known_before:        # the replay cache survives the restart: acknowledged again, not applied
        replay = ack_of(centre, TID, "params", {"params": {"speed_limit_kmh": 60}}, cmd_id="rep-1")
        assert replay["result"] == 0 and car.runtime.terminal.platform.params.get("speed_limit_kmh") == 80


def test_platform_consumers_on_a_shared_subscription_get_each_report_once(broker, car, centre):
    group = [Integrator(broker, f"consumer-{i}", None, filters=("$share/archive/taxi/+/up/#",)) for i in (1, 2)]
    try:
        cmd_ids = [ack_of(centre, TID, "notice", {"notice_id": f"sh{i}", "text": "x"})["cmd_id"] for i in range(6)]
        for cmd_id in cmd_ids:
            end = time.monotonic() + 10
            while not any(m.payload.get("cmd_id") == cmd_id for c in group for m in c.received("ack")):
                assert time.monotonic() < end, f"no consumer got the ack of {cmd_id}"
                time.sleep(0.01)
        got = [m.payload["cmd_id"] for c in group for m in c.received("ack") if m.payload["cmd_id"] in cmd_ids]
        assert sorted(got) == sorted(cmd_ids)                           # each to one member of the group
    finally:
        for c in group:
            c.close()


def test_every_message_of_a_simulated_shift_with_orders_meets_its_schema_file(tmp_path):
    """sim/summary.py's platform_messages_valid checks with the terminal's own small checker; this
    reads the shift's transcript with jsonschema and the schema files alone."""
    from sim.runner import ShiftRunner
    from sim.scenario import BUNDLED, load
    ShiftRunner(load(BUNDLED / "on-call-orders.toml"), tmp_path / "shift").run()
    seen: dict[str, int] = {}
    for line in (tmp_path / "shift" / "mqtt.jsonl").read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        if m["dir"] != "in":
            continue
        kind = m["topic"].rsplit("/", 1)[-1]
        assert schema_errors("status" if kind == "status" else f"up_{kind}", m["payload"]) == [], m
        assert kind == "status" or m["payload"]["type"] == kind
        seen[kind] = seen.get(kind, 0) + 1
    assert {"status", "shift", "location", "health", "ack", "order", "trip"} <= set(seen)


def test_the_code_names_in_the_fleet_and_mqtt_pages_exist():
    """An integrator reading the pages next to the code finds every `terminal.x.y` they name."""
    import importlib
    import re
    from pathlib import Path
    docs = Path(__file__).resolve().parents[2] / "docs"
    for page in ("fleet.md", "mqtt.md"):
        for name in sorted(set(re.findall(r"`(terminal(?:\.[A-Za-z_]+)+)", (docs / page).read_text("utf-8")))):
            parts = name.split(".")
            for cut in range(len(parts), 0, -1):
                try:
                    found = importlib.import_module(".".join(parts[:cut]))
                    break
                except ModuleNotFoundError:
                    continue
            for attr in parts[cut:]:
                assert hasattr(found, attr), f"{page}: {name} does not exist"
                found = getattr(found, attr)


def test_a_terminal_id_outside_the_documented_characters_is_refused_by_both_sides(tmp_path):
    from terminal.link.broker_setup import BrokerDir, BrokerSetupError
    from terminal.link.mqtt import LinkConfigError, MqttLink
    setup = BrokerDir(tmp_path / "broker")
    for bad in ("粤A12345", "T 1", "T/1", "T+", "x" * 65):
        with pytest.raises(LinkConfigError):
            MqttLink({"terminal_id": bad}, None)
        with pytest.raises(BrokerSetupError):
            setup.add_terminal(bad)


def test_the_jt808_conversions_round_as_the_unit_table_says():
    from terminal.link import payloads
    assert payloads.altitude_m(21.5) == 22 and payloads.altitude_m(-0.5) == -1 and payloads.altitude_m(-1.4) == -1
    assert payloads.latitude_1e6(-0.0000004) == (0, False) and payloads.latitude_1e6(-0.0000005) == (1, True)
    assert payloads.longitude_1e6(-180) == (180000000, False)
    assert payloads.speed_01kmh(11.2) == 403 and payloads.direction_deg(359.5) == 0 == payloads.direction_deg(360)
    assert payloads.mileage_01km(199) == 1 and payloads.bcd_time(1795000000000) == "261118190640"


def test_a_speed_query_over_a_ten_hour_shift_is_answered_whole(car, centre):
    """600 one-second speed minutes (the query's ceiling) make an up/record of about 300 KB."""
    import struct

    from terminal.recorder import ring
    term = car.runtime.terminal
    first = (now_ms() // 60_000 - 700) * 60_000
    minute = b"".join(struct.pack(">HBB", 600 + (i * 37) % 700, 3, 0) for i in range(60))
    with term.storage.transaction() as db:             # ten hours of driving, as the recorder stores them
        db.executemany("INSERT OR REPLACE INTO rec_speed (slot, minute_ms, data) VALUES (?, ?, ?)",
                       [(ring.minute_slot(first + k * 60_000, ring.SPEED_MINUTES), first + k * 60_000, minute)
                        for k in range(600)])
    mark = centre.mark()
    cmd_id = centre.command(TID, "record_query", {"what": "speed", "from": first, "to": first + 600 * 60_000 - 1})
    ack = centre.ack(cmd_id, mark, timeout_s=30)
    record = centre.wait_for(lambda m: m.kind == "record" and m.payload["cmd_id"] == cmd_id, "the records", mark)
    assert ack["result"] == 0 and len(record.payload["records"]) == 600 and len(record.raw) > 256 * 1024
    assert schema_errors("up_record", record.payload) == []
    assert car.runtime.devices.link.connected


def test_on_a_broker_with_a_smaller_packet_limit_one_large_uplink_does_not_block_the_rest(tmp_path):
    """A platform's own broker announcing a Maximum Packet Size below an uplink: that one waits in the
    outbox for a broker that takes it, everything else still goes out, the link stays up."""
    from tests.link.harness import Collector, Uplink, wait_until
    small = Broker(shipped=True, terminals=("T0007",), platform=("platform", "archive"))
    small._config.write_text(small._config.read_text().replace("max_packet_size 1048576", "max_packet_size 262144"))
    with small:
        collector = Collector(small, "taxi/+/up/#", client_id="archive")
        car = Uplink(tmp_path / "t.db", small.link_config("T0007")).start()
        try:
            wait_until(lambda: car.link.connected, "connected")
            big = car.enqueue("record", {"cmd_id": "q", "what": "speed", "from": 0, "to": 1, "truncated": False,
                                         "records": [{"type": "speed", "t": 0, "pad": "x" * 300_000}]})
            after = car.enqueue("ack", {"cmd_id": "c", "command": "notice", "result": 0, "reason": ""})
            wait_until(lambda: after in collector.seqs(), "the uplink after the large one")
            assert big not in collector.seqs() and car.link.connected and car.link.connects == 1
            assert car.outbox.too_large == 1
        finally:
            car.stop()
            collector.close()
