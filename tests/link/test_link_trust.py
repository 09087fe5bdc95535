"""Issue 11 items 1, 2, 4, 5, 6 and 8, each as the integrator or attacker saw it, against a whole
terminal (in this process) on the shipped broker configuration."""

import json
import socket
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from drivers.event import Event
from gps.fix import Fix
from sim.broker import Broker
from terminal.link import downlink
from tests.link.harness import wait_until
from tests.link.terminal_process import TID, TerminalProcess


@pytest.fixture(scope="module")
def broker():
    with Broker(shipped=True, terminals=(TID,), platform=("platform", "centre")) as b:
        yield b


@pytest.fixture
def car(tmp_path, broker):
    t = TerminalProcess(tmp_path, broker)
    t.inline()
    t.platform.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 20)
    yield t
    t.close()


def press_alarm(car):
    pin = car.runtime.devices.inputs[1].buttons["alarm_a"].pin
    pin.drive_low()
    time.sleep(0.9)
    pin.drive_high()
    pre = car.platform.wait_for(lambda m: m.kind == "alarm" and m.payload["extra"]["stage"] == "pre_alarm", 10)
    return pre.payload["extra"]["alarm_id"]


def audit_events(car):
    import sqlite3
    db = sqlite3.connect(car.tmp / "state" / "terminal.db")
    try:
        return [r for r in db.execute("SELECT event, parameter FROM audit_record ORDER BY counter")]
    finally:
        db.close()


def test_item1_an_oversized_deeply_nested_or_huge_number_message_does_not_silence_the_terminal(car):
    centre = car.platform
    link = car.runtime.devices.link
    centre.send(TID, "params", raw=b'{"cmd_id":"n","params":' + b"[" * 1000 + b"]" * 1000 + b"}")
    centre.send(TID, "time_sync", raw=b'{"cmd_id":"h","utc_ms":' + b"7" * 5000 + b"}")
    centre.send(TID, "notice", raw=b'{"cmd_id":"o","text":"' + b"x" * 100_000 + b'"}')  # under the broker's limit
    ok = centre.time_sync(TID)
    assert centre.wait_ack(ok, 10)["result"] == 0              # still answering afterwards
    assert link.restarts == 0 and link.callback_faults == 0 and link.connected
    assert car.runtime.healthy()
    faults = car.runtime.terminal.platform.guard.faults
    assert faults.get("too_deep") == 1 and faults.get("number_too_large") == 1 and faults.get("oversize") == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")   # the thread dies on purpose
def test_item1_a_dead_network_thread_is_noticed_and_restarted(car):
    centre = car.platform
    link = car.runtime.devices.link
    dead = threading.Event()

    def explode(self, client, userdata, message):
        dead.set()
        raise RuntimeError("a bug in the receive path")

    connects = link.connects
    link._client.on_message = explode.__get__(link)            # past every guard of the real one
    seen = len(centre.messages)
    centre.notice(TID, "n1", "boom")
    assert dead.wait(10)
    wait_until(lambda: link.restarts == 1, "the supervisor restarts the network thread")
    wait_until(lambda: link.connects > connects and link.connected, "reconnected")
    # its online status follows its subscription: from then on commands reach it
    centre.wait_for(lambda m: m.kind == "status" and m.payload.get("online"), 15, after=seen)
    ok = centre.notice(TID, "n2", "after the restart")
    assert centre.wait_ack(ok, 15)["result"] == 0
    assert car.runtime.healthy()


def test_item1_the_watchdog_is_fed_only_while_the_loop_and_reader_threads_live(car, monkeypatch):
    import terminal.app.runtime as runtime_module
    runtime = car.runtime
    assert runtime.healthy()
    hung, release = threading.Event(), threading.Event()
    periodic = runtime.terminal.periodic

    def hang(now):
        hung.set()
        release.wait(30)
        periodic(now)

    monkeypatch.setattr(runtime_module, "LOOP_STALL_S", 0.5)
    monkeypatch.setattr(runtime.terminal, "periodic", hang)       # the loop hangs in its turn
    assert hung.wait(10)
    wait_until(lambda: not runtime.healthy(), "a hung loop is unhealthy")
    assert runtime.threads()["loop"] is False
    monkeypatch.setattr(runtime.terminal, "periodic", periodic)
    release.set()
    wait_until(lambda: runtime.healthy(), "the loop turns again")
    gnss = runtime.devices.gnss
    stop = threading.Event()
    gnss._thread = threading.Thread(target=stop.wait)  # a reader thread that has ended
    assert not runtime.healthy() and runtime.threads()["gnss"] is False
    assert runtime.supervise() == ["gnss"]
    assert runtime.threads()["gnss"] and runtime.healthy()


def test_item2_an_anonymous_forged_release_changes_nothing(car, broker):
    alarm_id = press_alarm(car)
    forged = {"cmd_id": "evil", "ts": int(time.time() * 1000) - 365 * 86400_000, "alarm_id": alarm_id,
              "mac": "0" * 64}
    car.platform.send(TID, "alarm_release", raw=json.dumps(forged).encode())
    ack = car.platform.wait_ack("evil", 10)
    assert ack["result"] == 4 and car.runtime.terminal.alarm.active
    unsigned = car.platform.alarm_release(TID, alarm_id, sign=False)
    assert car.platform.wait_ack(unsigned, 10)["result"] == 4 and car.runtime.terminal.alarm.active
    zero_sig = {"cmd_id": "zero", "ts": int(time.time() * 1000), "alarm_id": alarm_id, "sig": "0" * 128}
    car.platform.send(TID, "alarm_release", raw=json.dumps(zero_sig).encode())
    assert car.platform.wait_ack("zero", 10)["result"] == 4 and car.runtime.terminal.alarm.active
    year_ago = int(time.time() * 1000) - 365 * 86400_000     # properly signed, a year old: a recording
    stale = car.platform.alarm_release(TID, alarm_id, ts=year_ago)
    assert car.platform.wait_ack(stale, 10)["result"] == 4 and car.runtime.terminal.alarm.active
    faults = car.runtime.terminal.platform.guard.faults
    assert faults.get("unsigned") == 2 and faults.get("bad_signature") == 1 and faults.get("stale") == 1
    signed = car.platform.alarm_release(TID, alarm_id)
    assert car.platform.wait_ack(signed, 10)["result"] == 0 and not car.runtime.terminal.alarm.active


def test_item4_a_retained_release_is_refused_live_and_on_every_later_connection(car, broker):
    alarm_id = press_alarm(car)
    centre = car.platform
    retained = centre.alarm_release(TID, alarm_id, retain=True)
    assert centre.wait_ack(retained, 10)["result"] == 4
    link = car.runtime.devices.link
    connects = link.connects
    restarted_ms = int(time.time() * 1000)
    link._client.socket().shutdown(socket.SHUT_RDWR)   # the car drives into a tunnel and out again
    wait_until(lambda: link.connects > connects and link.connected, "the terminal reconnects")
    # the terminal's new online status follows its subscription, which brought the retained copy
    centre.wait_for(lambda m: m.kind == "status" and m.payload.get("online")
                    and m.payload.get("ts", 0) >= restarted_ms, 20)
    sentinel = centre.time_sync(TID)        # answered after the retained copy was handled
    assert centre.wait_ack(sentinel, 10)["result"] == 0
    assert car.runtime.terminal.alarm.active and car.runtime.terminal.alarm.alarm_id == alarm_id
    assert car.runtime.terminal.platform.guard.faults.get("retained", 0) == 2   # live, then stored
    centre.send(TID, "alarm_release", raw=b"", retain=True)   # clear it for the other tests


def test_item5_junk_is_answered_under_a_rate_limit_counted_and_audited_once_per_kind(car, broker):
    before = len(audit_events(car))
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="centre", protocol=mqtt.MQTTv5)
    options = broker.client_options("centre")
    client.username_pw_set(options["username"], options["password"])
    client.tls_set(ca_certs=options["tls_ca"])
    client.max_inflight_messages_set(200)
    client.connect(broker.host, broker.port)
    client.loop_start()
    for i in range(900):
        client.publish(f"taxi/{TID}/down/notice", b"[%d]" % i, qos=1)
    guard = car.runtime.terminal.platform.guard
    wait_until(lambda: guard.received >= 900, "every junk message reached the terminal")
    client.disconnect()
    client.loop_stop()
    assert guard.faults["not_object"] == 900
    assert guard.answered + guard.unanswered == guard.received and 1 <= guard.answered <= 50
    junk_acks = car.platform.wait_for(lambda m: m.kind == "ack" and m.payload["cmd_id"] is None, 10)
    assert junk_acks.valid and junk_acks.payload["result"] == 2
    added = audit_events(car)[before:]
    assert added.count(("downlink_fault", "not_object")) == 1 and len(added) <= 2
    car.runtime.terminal.reporting.health(car.runtime.terminal.clock())
    car.runtime.terminal.outbox.pump()
    health = car.platform.wait_for(lambda m: m.kind == "health" and m.payload["downlink"]["received"] >= 900, 10)
    assert health.valid and health.payload["downlink"]["faults"]["not_object"] == 900
    # the 1,000-record trail is far from full, so legal changes (a tariff install) are not locked
    term = car.runtime.terminal
    assert term.audit.capacity == 1000 and not term.audit.full
    decision = term.seal.decide("install_tariff", term.clock(), None, audit_full=term.audit.full)
    assert "audit trail is full" not in decision.reason


def test_item6_a_repeated_command_id_is_acknowledged_again_never_reapplied(car):
    centre = car.platform
    first = centre.time_sync(TID, cmd_id="ts-1")
    ack1 = centre.wait_ack(first, 10)
    centre.time_sync(TID, cmd_id="ts-1")
    centre.time_sync(TID, cmd_id="ts-1")
    wait_until(lambda: len([m for m in centre.received("ack") if m.payload["cmd_id"] == "ts-1"]) == 3, "3 acks")
    acks = [m.payload for m in centre.received("ack") if m.payload["cmd_id"] == "ts-1"]
    assert all((a["result"], a["reason"]) == (ack1["result"], ack1["reason"]) for a in acks)
    assert [e for e in audit_events(car) if e[0] == "clock_correction"] == [("clock_correction", "clock_offset_ms")]


def test_item8_reports_say_only_what_is_true(car):
    term = car.runtime.terminal
    centre = car.platform
    ack = centre.params(TID, {"speed_limit_kmh": 60})
    assert centre.wait_ack(ack, 10)["result"] == 0
    now = term.clock()
    fast = Fix(time_ms=now, lat=23.13, lon=113.26, alt_m=20.0, speed_mps=25.0, course_deg=90.0, quality=1,
               mode=3, sats=9, valid=True)
    term.events.put(Event("fix", now, {"fix": fast}))
    wait_until(lambda: term.reporting.fix is fast, "fix taken")
    assert "positioned" in term.reporting.status() and term.reporting.overspeed(term.clock())
    term.reporting.fix_rx_ms -= 60_000                      # the GNSS went silent a minute ago
    now = term.clock()
    assert "positioned" not in term.reporting.status()
    assert term.reporting.position(now)["speed"] == 0 and not term.reporting.overspeed(now)
    term.events.put(Event("key", now, {"key": "hire", "long": True}))
    wait_until(lambda: term.meter.state == "out_of_service", "out of service")
    assert "out_of_service" in term.reporting.status()
    term.reporting.location(term.clock())
    term.outbox.pump()
    loc = centre.wait_for(lambda m: m.kind == "location" and m.payload["extra"]["operating"] == "out_of_service", 10)
    assert loc.valid and loc.payload["status"] & (1 << 4) and not loc.payload["status"] & (1 << 1)
    # the meter stops answering: alarm bit 10 and health's meter.ok say the same
    term.events.put(Event("meter_fault", term.clock(), {"active": True, "reason": "no answer"}))
    wait_until(lambda: "meter_fault" in term.reporting.flags, "meter fault raised")
    term.reporting.health(term.clock())
    term.outbox.pump()
    health = centre.wait_for(lambda m: m.kind == "health" and m.payload["alarm"] & (1 << 10), 10)
    assert health.valid and health.payload["devices"]["meter"]["ok"] is False


def test_item2_the_signature_in_the_payload_is_the_one_of_docs(car):
    """The emulator's command, checked the way the terminal does, with the public key it holds."""
    from terminal.trust.keys import DeviceState
    key = DeviceState(car.tmp / "state").platform_key()
    cmd_id = car.platform.notice(TID, "n9", "签名")
    sent = [json.loads(line) for line in (car.tmp / "mqtt.jsonl").read_text().splitlines()]
    message = next(m["payload"] for m in sent if m["dir"] == "out" and m["payload"].get("cmd_id") == cmd_id)
    assert downlink.verify(f"taxi/{TID}/down/notice", message, key) == ""


def test_wanted_every_reader_thread_counts_for_the_watchdog_the_sign_and_jt_links_too(car):
    """'If a reader thread dies anyway, the terminal notices and restarts it, and the watchdog is
    fed only while the loop and its links are healthy': the serial sign's threads and the JT/T
    links' threads count like the GNSS reader's."""
    runtime = car.runtime
    assert runtime.healthy()
    sign = runtime.devices.sign
    real = list(sign._threads)
    sign._threads[0] = threading.Thread(target=lambda: None, name="sign-reader")   # ended by an exception
    try:
        assert runtime.threads()["sign"] is False and not runtime.healthy()
    finally:
        sign._threads[:] = real
    assert runtime.healthy()

    class JtLink:                               # a JT/T 808 link whose reader thread ended
        name = "jt808"

        def __init__(self):
            self.stopped = threading.Event()
            self._thread = threading.Thread(target=lambda: None, name="link-jt808")

        def _run(self):
            self.stopped.wait()

    link = JtLink()
    runtime.jt_links.append(link)
    try:
        assert runtime.threads()["jt808"] is False and not runtime.healthy()
        assert runtime.supervise() == ["jt808"]
        assert runtime.threads()["jt808"] and runtime.healthy()
    finally:
        runtime.jt_links.remove(link)
        link.stopped.set()
