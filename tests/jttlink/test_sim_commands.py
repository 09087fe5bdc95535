"""The scenario's platform commands over the JT/T link (sim/jtt_commands.py): each is built as the
protocol's own message, what a protocol cannot carry stays on MQTT, and the invariants
(sim/jtt_checks.py) fail when a command was not answered or did not take effect."""

from types import SimpleNamespace

from sim import jtt_checks
from sim.jtt_commands import JttLoopStep
from sim.runner import ShiftRunner
from sim.scenario import find, load


def step(protocol, received=()):
    platform = SimpleNamespace(protocol=protocol, messages=lambda msg_id=None: [
        m for m in received if msg_id is None or m["header"]["msg_id"] == msg_id])
    car = SimpleNamespace(jt_platform=platform, clock=lambda: 1_795_000_000_000)
    return JttLoopStep(car)


def named(name):
    def send(*args, **kw):
        return None
    send.__name__ = name
    return send


def test_commands_become_each_protocols_messages():
    s905 = step("jt905")
    assert s905._alarm_confirm("T1", "a1") == (0x8B0A, {}) and s905._alarm_release("T1", "a1") == (0x8B0B, {})
    msg_id, body = s905._order_offer("T1", "95128-x-001", order_type="reservation", pickup_ms=1_795_000_000_000,
                                     address="人民广场")
    assert msg_id == 0x8B00 and body == {"order_id": 1, "type": 1, "time": "261118190640", "description": "人民广场"}
    assert s905._order_cancel("T1", "95128-x-001") == (0x8B09, {"order_id": 1})
    assert s905._order_cancel("T1", "never-offered") is None
    assert s905._params("T1", {"report_vacant_s": 20, "report_occupied_s": 5, "speed_limit_kmh": 80}) == \
        (0x8103, {"params": [{"id": 0x0025, "value": 20}, {"id": 0x0026, "value": 5}, {"id": 0x0055, "value": 80}]})
    assert s905._params("T1", {"order_answer_s": 30}) is None            # not carried: MQTT


def test_808_confirms_the_alarm_by_its_serial_and_leaves_the_rest_to_mqtt():
    alarm = {"header": {"msg_id": 0x0200, "msg_sn": 41}, "body": {"alarm": 1}}
    plain = {"header": {"msg_id": 0x0200, "msg_sn": 42}, "body": {"alarm": 0}}
    s808 = step("jt808", [alarm, plain])
    assert s808._alarm_confirm("T1", "a1") == (0x8203, {"seq": 41, "type": 1})
    assert s808._alarm_release("T1", "a1") is None and s808._order_offer("T1", "o1") is None
    assert s808._notice("T1", "n1", "前方施工", priority="urgent") == (0x8300, {"flag": 5, "text": "前方施工"})
    assert s808._params("T1", {"report_vacant_s": 10, "report_occupied_s": 10}) == \
        (0x8103, {"params": [{"id": 0x0029, "value": 10}]})
    assert s808._params("T1", {"report_vacant_s": 10, "report_occupied_s": 5}) is None   # 808 has one interval


def check(commands, *, replies, audit=(), order_steps=None, uplinks=(), params_now=None):
    jt = {"protocol": "jt905", "commands": commands, "replies": replies, "audit_commands": list(audit),
          "order_steps": order_steps or {str(0x0B01): [], str(0x0B07): [], str(0x0B08): []},
          "params_now": params_now or {}}
    data = {"uplinks": [{"kind": "order", "payload": p} for p in uplinks]}
    return {r["invariant"]: r for r in jtt_checks.check_commands(data, jt)}


def test_the_invariants_fail_when_a_command_did_not_take_effect():
    release = {"command": "alarm_release", "msg_id": 0x8B0B, "sn": 7, "body": {}}
    results = check([release], replies={"7": [0x8B0B, 0]}, audit=[("alarm_released", "jt905:7")])
    assert results["jt_commands_answered"]["ok"] and results["jt_commands_took_effect"]["ok"]
    results = check([release], replies={"7": [0x8B0B, 1]}, audit=[("alarm_released", "mqtt-cmd-3")])
    assert not results["jt_commands_answered"]["ok"] and not results["jt_commands_took_effect"]["ok"]
    cancel = {"command": "order_cancel", "msg_id": 0x8B09, "sn": 8, "body": {"order_id": 4}}
    steps = {str(0x0B01): [4], str(0x0B07): [], str(0x0B08): [4]}
    results = check([cancel], replies={"8": [0x8B09, 0]}, order_steps=steps,
                    uplinks=[{"order_id": "4", "event": "accepted"}, {"order_id": "4", "event": "cancelled",
                                                                      "reason": "driver"}])
    problems = results["jt_commands_took_effect"]["problems"]
    assert any("not cancelled by the centre" in p for p in problems) and any("0x0B08" in p for p in problems)
    offer = {"command": "order_offer", "msg_id": 0x8B00, "sn": 9, "body": {"order_id": 6}}
    results = check([offer], replies={"9": [0x8B00, 0]}, uplinks=[{"order_id": "6", "event": "accepted"},
                                                                  {"order_id": "6", "event": "completed"}])
    assert len(results["jt_commands_took_effect"]["problems"]) == 2      # neither 0x0B01 nor 0x0B07 arrived
    params = {"command": "params", "msg_id": 0x8103, "sn": 10, "body": {"params": [{"id": 0x0055, "value": 80}]}}
    assert not check([params], replies={"10": [0x8103, 0]},
                     params_now={"speed_limit_kmh": 60})["jt_commands_took_effect"]["ok"]


def test_on_call_orders_over_jt905_arrive_and_are_answered_on_the_jt905_link(tmp_path):
    runner = ShiftRunner(load(find("on-call-orders")), tmp_path / "out", render=False, link="jt905")
    summary = runner.run()
    assert summary["broken"] == [], summary["invariants"]
    sent = {c["msg_id"] for c in runner.data["jtt"]["commands"]}
    assert {0x8B00, 0x8B09, 0x8300} <= sent
    names = {r["invariant"]: r for r in summary["invariants"]}
    assert names["jt_commands_took_effect"]["checked"] == len(runner.data["jtt"]["commands"]) >= 7
    import json
    lines = [json.loads(line) for line in (tmp_path / "out" / "mqtt.jsonl").read_text(encoding="utf-8").splitlines()]
    over_mqtt = {e["topic"].rsplit("/", 1)[-1] for e in lines if e.get("dir") == "out"}
    assert not over_mqtt & {"order_offer", "order_cancel", "notice"}, over_mqtt
