"""Downlink fuzzing against a whole terminal on the shipped broker: the generator and the run.

``messages(rng, ...)`` yields (category, topic, payload, retain) for every kind of bad
downlink the issue names: garbage, truncated JSON, oversized, deeply nested, 5,000-digit
integers, floats, wrong types, unsigned, badly signed (random, zero, another key), signed
for another terminal or command, stale, replayed, retained. ``run(n, tmp)`` starts a
terminal (in this process, so its insides can be counted) with an active alarm and an
accepted order, publishes ``n`` of them as the platform account, and returns what
happened: link deaths, state changes, messages answered or counted, audit growth, and
whether a valid signed command still works afterwards. Used by
tests/link/test_downlink_fuzz.py (2,000 messages) and bench/bench_downlink.py (10,000+).
"""

from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sim.broker import Broker
from sim.platform import SIM_PLATFORM_KEY
from terminal.link import downlink
from tests.link.terminal_process import TID, TerminalProcess

CATEGORIES = ("garbage", "truncated", "oversize", "deep", "huge_int", "float", "wrong_type", "unsigned",
              "bad_sig", "foreign_key", "other_terminal", "other_command", "stale", "replayed", "retained",
              "unknown_command")
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))


def _topic(command: str, tid: str = TID) -> str:
    return f"taxi/{tid}/down/{command}"


def _signed(command: str, body: dict, cmd_id: str, ts: int, *, key=SIM_PLATFORM_KEY, tid: str = TID) -> bytes:
    message = downlink.sign(_topic(command, tid), {"cmd_id": cmd_id, "ts": ts, **body}, key)
    return json.dumps(message, ensure_ascii=False).encode()


def messages(rng: random.Random, n: int, *, now_ms, alarm_id: str, replays: list[tuple[str, bytes]]):
    """``n`` bad downlink messages, categories in turn; ``replays`` are (topic, bytes) already applied."""
    release = {"alarm_id": alarm_id, "reason": "fuzz"}
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        cmd_id = f"fz{i}"
        topic, retain = _topic("alarm_release"), False
        if category == "garbage":
            payload = rng.randbytes(rng.randint(0, 300))
        elif category == "truncated":
            whole = _signed("alarm_release", release, cmd_id, now_ms())
            payload = whole[:rng.randint(0, len(whole) - 1)]
        elif category == "oversize":
            payload = b'{"cmd_id":"' + cmd_id.encode() + b'","reason":"' + b"a" * rng.randint(8200, 60000) + b'"}'
        elif category == "deep":
            depth = rng.randint(50, 5000)
            payload = (b"[" * depth + b"]" * depth) if rng.random() < 0.5 else \
                (b'{"a":' * depth + b"1" + b"}" * depth)
        elif category == "huge_int":
            payload = b'{"cmd_id":"' + cmd_id.encode() + b'","utc_ms":' + b"9" * rng.randint(20, 5000) + b"}"
            topic = _topic("time_sync")
        elif category == "float":
            payload = b'{"cmd_id":"' + cmd_id.encode() + b'","ts":' + str(now_ms()).encode() + b'.5}'
        elif category == "wrong_type":
            payload = json.dumps(rng.choice([[1, 2], "text", 42, None, True, {"cmd_id": 5},
                                             {"cmd_id": cmd_id, "alarm_id": ["x"]},
                                             {"cmd_id": cmd_id, "ts": "yesterday", "sig": 7}])).encode()
        elif category == "unsigned":
            payload = json.dumps({"cmd_id": cmd_id, "ts": now_ms(), **release}).encode()
        elif category == "bad_sig":
            sig = rng.choice(["0" * 128, rng.randbytes(64).hex(), "zz", rng.randbytes(63).hex()])
            payload = json.dumps({"cmd_id": cmd_id, "ts": now_ms(), **release, "sig": sig}).encode()
        elif category == "foreign_key":
            payload = _signed("alarm_release", release, cmd_id, now_ms(), key=OTHER_KEY)
        elif category == "other_terminal":
            payload = _signed("alarm_release", release, cmd_id, now_ms(), tid="T0099")
        elif category == "other_command":
            topic = _topic("alarm_release")
            payload = json.dumps(downlink.sign(_topic("alarm_confirm"), {"cmd_id": cmd_id, "ts": now_ms(),
                                                                         "alarm_id": alarm_id},
                                               SIM_PLATFORM_KEY)).encode()
        elif category == "stale":
            skew = rng.choice([-1, 1]) * rng.randint(301_000, 10**9)
            payload = _signed("alarm_release", release, cmd_id, now_ms() + skew)
        elif category == "replayed":
            topic, payload = rng.choice(replays)
        elif category == "retained":
            payload, retain = _signed("alarm_release", release, cmd_id, now_ms()), True
        else:
            topic = _topic(rng.choice(["reboot", "set_fare", "", "alarm_release/x"]))
            payload = _signed("alarm_release", release, cmd_id, now_ms())
        yield category, topic, payload, retain


def _platform_client(broker: Broker) -> mqtt.Client:
    # a second platform account: the emulator holds "platform" (the username is the client id)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="centre", protocol=mqtt.MQTTv5)
    options = broker.client_options("centre")
    client.username_pw_set(options["username"], options["password"])
    client.tls_set(ca_certs=options["tls_ca"])
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    up = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: up.set()
    client.connect_async(broker.host, broker.port)
    client.loop_start()
    assert up.wait(15), "platform client never connected"
    return client


def _wait(predicate, what: str, timeout_s: float = 120.0) -> None:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.01)


def run(n: int, tmp: Path, seed: int = 11) -> dict:
    """The whole fuzz run; the figures of the returned dict are described in the module docstring."""
    rng = random.Random(seed)
    with Broker(shipped=True, terminals=(TID,), platform=("platform", "centre")) as broker:
        car = TerminalProcess(tmp, broker)
        try:
            return _run(car, broker, rng, n)
        finally:
            car.close()


def _run(car: TerminalProcess, broker: Broker, rng: random.Random, n: int) -> dict:
    centre = car.platform
    runtime = car.inline()
    term = runtime.terminal
    centre.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 20)
    pin = runtime.devices.inputs[1].buttons["alarm_a"].pin
    pin.drive_low()
    time.sleep(0.9)
    pin.drive_high()
    alarm = centre.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "pre_alarm", 10)
    alarm_id = alarm.payload["extra"]["alarm_id"]
    offer = centre.order_offer(TID, "95128-F", order_type="assigned", cmd_id="setup-offer")
    params = centre.params(TID, {"report_vacant_s": 40, "speed_limit_kmh": 70}, cmd_id="setup-params")
    for cmd_id in (offer, params):
        assert centre.wait_ack(cmd_id, 10)["result"] == 0
    replays = [(m["topic"], json.dumps(m["payload"], ensure_ascii=False).encode())
               for m in map(json.loads, (car.tmp / "mqtt.jsonl").read_text().splitlines())
               if m["dir"] == "out" and m["payload"].get("cmd_id") in (offer, params)]

    def state() -> str:
        snap = term.platform.snapshot()
        snap["alarm"].pop("next_report_ms")      # moves with every periodic alarm report, fuzz or not
        return json.dumps([snap, term.config["report"], term.meter.state], sort_keys=True)

    guard = term.platform.guard
    link = runtime.devices.link
    before = state()
    audit_before = runtime.audit.count() if hasattr(runtime.audit, "count") else _audit_rows(car)
    received_before, answered_before, unanswered_before = guard.received, guard.answered, guard.unanswered
    first = len(centre.messages)
    client = _platform_client(broker)
    wall = lambda: int(time.time() * 1000)  # noqa: E731 - the terminal runs on the wall clock here
    categories: dict[str, int] = {}
    state_changes = 0
    started = time.monotonic()
    sent = 0
    batch = 500
    generated = messages(rng, n, now_ms=wall, alarm_id=alarm_id, replays=replays)
    for category, topic, payload, retain in generated:
        client.publish(topic, payload, qos=1, retain=retain)
        categories[category] = categories.get(category, 0) + 1
        sent += 1
        if sent % batch == 0 or sent == n:
            _wait(lambda s=sent: guard.received - received_before >= s, f"the terminal got {sent} messages")
            state_changes += state() != before
    client.publish(_topic("alarm_release"), b"", qos=1, retain=True).wait_for_publish(10)  # clear the retained
    sent += 1
    _wait(lambda: guard.received - received_before >= sent, "the terminal got every message")
    elapsed = time.monotonic() - started
    state_changes += state() != before
    answered = guard.answered - answered_before
    unanswered = guard.unanswered - unanswered_before
    _wait(lambda: len([m for m in centre.messages[first:] if m.kind == "ack"]) >= answered,
          "every answer reached the platform", 60)
    audit_growth = _audit_rows(car) - audit_before
    received = guard.received - received_before
    # a valid signed command still works: the centre releases the alarm
    release = centre.alarm_release(TID, alarm_id, reason="fuzz over")
    valid_ok = centre.wait_ack(release, 15)["result"] == 0 and not term.alarm.active
    client.disconnect()
    client.loop_stop()
    return {"sent": sent, "received": received, "answered": answered,
            "unanswered": unanswered, "link_deaths": link.restarts + link.callback_faults,
            "state_changes": state_changes, "audit_growth": audit_growth, "faults": dict(guard.faults),
            "categories": categories, "valid_command_ok": valid_ok, "msgs_per_s": sent / elapsed,
            "loop_faults": _software_faults(car)}


def _audit_rows(car: TerminalProcess) -> int:
    import sqlite3
    db = sqlite3.connect(car.tmp / "state" / "terminal.db")
    try:
        return db.execute("SELECT COUNT(*) FROM audit_record").fetchone()[0]
    finally:
        db.close()


def _software_faults(car: TerminalProcess) -> int:
    import sqlite3
    db = sqlite3.connect(car.tmp / "state" / "terminal.db")
    try:
        return db.execute("SELECT COUNT(*) FROM audit_record WHERE event = 'software_fault'").fetchone()[0]
    finally:
        db.close()
