"""A whole terminal with a JT/T link beside MQTT: the platform's JT/T commands have the same
effects on the desks as their MQTT counterparts, and are answered on the JT/T connection."""

import pytest

from sim.jtt_platform import JttPlatform
from tests.terminal.harness import Car


def start(tmp_path, mosquitto, protocol, **link):
    platform = JttPlatform(protocol).start()
    car = Car(tmp_path, mosquitto)
    from terminal.app import config as config_mod
    raw = {k: v for k, v in car.config.items()}
    raw["links"] = {"use": ["mqtt", protocol]}
    raw[protocol] = {"port": platform.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2, **link}
    raw["mqtt"] = {k: v for k, v in raw["mqtt"].items() if k != "terminal_id"}
    car.config = config_mod.from_dict(raw)
    runtime = car.start()
    platform.wait_online(10)
    return car, runtime, platform


@pytest.fixture(params=["jt808", "jt905"])
def rig(request, tmp_path, mosquitto):
    car, runtime, platform = start(tmp_path, mosquitto, request.param)
    yield car, runtime, platform
    car.close()
    platform.stop()


def test_a_2019_terminal_takes_the_platforms_time_from_0x8004(tmp_path, mosquitto):
    """808-2019 carries the platform's time (0x0004 -> 0x8004, UTC): it is the platform's
    time_sync, recorded as a clock correction (docs/jtt.md)."""
    car, runtime, platform = start(tmp_path, mosquitto, "jt808", proto_ver=1, imei="860000000000001")
    try:
        query = platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0004, 10)
        assert query["header"]["proto_ver"] == 1 and len(query["header"]["phone"]) == 20
        assert platform.messages(0x0102)[-1]["body"]["imei"] == "860000000000001"
        assert car.wait(lambda: any(r["event"] in ("clock_correction", "clock_correction_refused")
                                    for r in runtime.audit.records()), 10)
        record = next(r for r in runtime.audit.records() if r["event"].startswith("clock_correction"))
        assert record["actor"] == "platform"
    finally:
        car.close()
        platform.stop()


def test_alarm_confirm_and_release_follow_the_emergency_alarm(rig):
    car, runtime, platform = rig
    assert car.wait(lambda: car.sign.state == "vacant")
    car.hold_alarm(0.15)
    pre_bit = 1 << (1 if platform.protocol == "jt905" else 0)   # 808 has no pre-alarm: its emergency bit
    platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0200 and m["body"]["alarm"] & pre_bit, 10)
    if platform.protocol == "jt905":
        sn = platform.command(0x8B0A)
    else:
        sn = platform.command(0x8203, {"seq": 0, "type": 1})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: car.sign.state == "alarm")
    if platform.protocol == "jt905":
        sn = platform.command(0x8B0B)
        assert platform.wait_reply(sn)["body"]["result"] == 0
        assert car.wait(lambda: car.sign.state == "vacant")
        sn = platform.command(0x8B0B)          # nothing left to release
        assert platform.wait_reply(sn)["body"]["result"] == 1


def test_parameters_location_query_text_and_tracking(rig):
    car, runtime, platform = rig
    term = runtime.terminal
    if platform.protocol == "jt808":
        sn = platform.command(0x8103, {"params": [{"id": 0x0029, "value": 15}, {"id": 0x0055, "value": 100}]})
        assert platform.wait_reply(sn)["body"]["result"] == 0
        assert term.config["report"]["vacant_s"] == 15 and term.platform.params["speed_limit_kmh"] == 100
        sn = platform.command(0x8103, {"params": [{"id": 0x0029, "value": 0}]})
        assert platform.wait_reply(sn)["body"]["result"] == 1
        assert term.config["report"]["vacant_s"] == 15
        sn = platform.command(0x8104)
        values = {p["id"]: p["value"] for p in platform.wait_reply(sn)["body"]["params"]}
        assert values[0x0029] == 15 and values[0x0055] == 100
    else:       # 905 has its own ids: 0x0025 vacant, 0x0026 occupied interval (SmallChi/JT905)
        sn = platform.command(0x8103, {"params": [{"id": 0x0025, "value": 15}, {"id": 0x0026, "value": 7},
                                                  {"id": 0x0055, "value": 100}]})
        assert platform.wait_reply(sn)["body"]["result"] == 0
        assert (term.config["report"]["vacant_s"], term.config["report"]["occupied_s"]) == (15, 7)
        assert term.platform.params["speed_limit_kmh"] == 100
        sn = platform.command(0x8103, {"params": [{"id": 0x0026, "value": 0}]})
        assert platform.wait_reply(sn)["body"]["result"] == 1
        assert term.config["report"]["occupied_s"] == 7
        sn = platform.command(0x8104)            # every parameter, answered with 0x0104
        reply = platform.wait_reply(sn)
        assert reply["header"]["msg_id"] == 0x0104
        values = {p["id"]: p["value"] for p in reply["body"]["params"]}
        assert (values[0x0025], values[0x0026], values[0x0055]) == (15, 7, 100)
        sn = platform.command(0x8104, {"ids": [0x0026]})
        assert platform.wait_reply(sn)["body"]["params"] == [{"id": 0x0026, "value": 7}]
    sn = platform.command(0x8103, {"params": [{"id": 0x0013, "value": "10.9.8.7"}]})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert runtime.jt_links[0].cfg["host"] == "10.9.8.7"
    sn = platform.command(0x8201)
    assert "latitude" in platform.wait_reply(sn)["body"]["params"]
    sn = platform.command(0x8300, {"flag": 4, "text": "前方道路施工"})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: term.cabin.notice and term.cabin.notice[0] == "前方道路施工")
    sn = platform.command(0x8202, {"period": 3, "expiry": 3600})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: term.config["report"]["vacant_s"] == 3)


def test_a_new_temporary_tracking_is_not_ended_by_the_previous_ones_expiry(rig):
    car, runtime, platform = rig
    report = runtime.terminal.config["report"]
    sn = platform.command(0x8202, {"period": 3, "expiry": 60})     # 60 s on the terminal's clock
    assert platform.wait_reply(sn)["body"]["result"] == 0
    sn = platform.command(0x8202, {"period": 4, "expiry": 3600})   # the platform extends it
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: report["vacant_s"] == 4)
    assert not car.wait(lambda: report["vacant_s"] != 4, 2.0)     # past the first expiry: still tracking
    sn = platform.command(0x8202, {"period": 0, "expiry": 0})      # period 0 ends it
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: report["vacant_s"] == 30)


def test_an_on_call_order_over_jt905_is_offered_answered_and_reported(rig):
    car, runtime, platform = rig
    if platform.protocol != "jt905":
        pytest.skip("JT/T 808 has no on-call orders")
    assert car.wait(lambda: car.sign.state == "vacant")
    sn = platform.command(0x8B00, {"order_id": 4711, "type": 0, "time": "261129081500", "description": "人民广场"})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: runtime.terminal.orders.state == "offered")
    car.press("accept")
    grab = platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0B01, 10)
    assert grab["body"]["order_id"] == 4711
    sn = platform.command(0x8B09, {"order_id": 4711})
    assert platform.wait_reply(sn)["body"]["result"] == 0
    assert car.wait(lambda: runtime.terminal.orders.state == "idle")


def test_the_platform_collects_the_driving_record_over_jt808(rig):
    """JT/T 808 0x8700 → 0x0700 with the GB/T 19056 frame of the asked-for records (docs/recorder.md);
    JT/T 905 has no such message."""
    import base64

    from terminal.recorder import blocks
    car, runtime, platform = rig
    if platform.protocol != "jt808":
        pytest.skip("JT/T 905 carries no recorder data collection")
    now = runtime.clock()
    param = blocks.window_param(0x09, now - 3_600_000, now + 60_000, 5)       # positions, the last hour
    sn = platform.command(0x8700, {"command": 0x09, "param": base64.b64encode(param).decode("ascii")})
    reply = platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0700 and m["body"]["seq"] == sn, 10)
    assert reply is not None and reply["body"]["command"] == 0x09
    data = base64.b64decode(reply["body"]["data"])
    code, _ = blocks.read_frame(data, head=blocks.UP)
    assert code == 0x09
    bad = platform.command(0x8700, {"command": 0x09, "param": base64.b64encode(b"junk").decode("ascii")})
    reply = platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0700 and m["body"]["seq"] == bad, 10)
    assert blocks.read_frame(base64.b64decode(reply["body"]["data"]), head=blocks.UP)[0] == blocks.ERROR_COLLECT


def test_a_905_tracking_control_byte_is_obeyed(tmp_path, mosquitto):
    """905's 0x8202 leads with a control byte (docs/jtt.md): 0xFF stops tracking whatever the
    interval and duration say; the distance modes, which the terminal does not report by, are
    answered "not supported" and change nothing; a control value the standard does not define
    is a message error."""
    car, runtime, platform = start(tmp_path, mosquitto, "jt905")
    try:
        report = runtime.terminal.config["report"]
        sn = platform.command(0x8202, {"control": 0x00, "period": 3, "expiry": 3600})
        assert platform.wait_reply(sn)["body"]["result"] == 0
        assert car.wait(lambda: report["vacant_s"] == 3)
        for control, result in ((0x11, 3), (0x01, 3), (0x10, 3), (0x42, 2)):
            sn = platform.command(0x8202, {"control": control, "period": 9, "expiry": 3600})
            assert platform.wait_reply(sn)["body"]["result"] == result, hex(control)
        assert report["vacant_s"] == 3
        sn = platform.command(0x8202, {"control": 0xFF, "period": 5, "expiry": 3600})
        assert platform.wait_reply(sn)["body"]["result"] == 0
        assert car.wait(lambda: report["vacant_s"] == 30)
        events = [r["new"] for r in runtime.audit.records() if r["event"] == "tracking"]
        assert events == ["3", "ended"]          # one start, one end: the refused ones audited nothing
    finally:
        car.close()
        platform.stop()
