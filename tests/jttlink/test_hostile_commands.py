"""A hostile platform's commands against a whole terminal over JT/T: absurd values, unknown
parameters mixed with known ones, text that is not GBK, orders and alarms that do not exist
and floods. Each is answered with the standard's result code, changes nothing when refused,
and cannot fill the audit trail (docs/jtt.md, "What a hostile platform can and cannot do")."""

from tests.jttlink.hostile import alive, frame, raw
from tests.jttlink.test_commands import rig  # noqa: F401 - the fixture

OK, FAILED, BAD, NOT_SUPPORTED = 0, 1, 2, 3


def result(platform, msg_id, body=None):
    return platform.wait_reply(platform.command(msg_id, body))["body"]["result"]


def snapshot(term, link):
    return (dict(term.config["report"]), dict(term.platform.params), link.cfg["host"], link.cfg["port"],
            link.session.heartbeat_s)


def audits(runtime):
    # The rig has no GNSS: its gnss_fault device alarm is audited a few seconds after the start,
    # inside whichever test runs then. Everything else a command could leave counts.
    return len([r for r in runtime.audit.records() if r["event"] != "device_alarm"])


def interval_id(protocol):
    return 0x0025 if protocol == "jt905" else 0x0029


def test_refused_parameter_settings_change_nothing(rig):  # noqa: F811
    car, runtime, platform = rig
    term, link = runtime.terminal, runtime.jt_links[0]
    vacant = interval_id(platform.protocol)
    before, audited = snapshot(term, link), audits(runtime)
    cases = [
        ([{"id": vacant, "value": 0}], FAILED),
        ([{"id": vacant, "value": 2 ** 32 - 1}], FAILED),
        ([{"id": 0x0055, "value": 0}], FAILED),
        ([{"id": 0x0055, "value": 65535}], FAILED),
        ([{"id": 0x0001, "value": 0}, {"id": vacant, "value": 20}], FAILED),
        ([{"id": 0x0001, "value": 2 ** 32 - 1}], FAILED),
        ([{"id": 0x0001, "value": 30}, {"id": 0x0055, "value": 0}], FAILED),    # the good half is not applied
        ([{"id": 0x0013, "value": "evil\x00host"}], FAILED),
        ([{"id": 0x0013, "value": "平台.example"}], FAILED),
        ([{"id": 0x0013, "value": "a" * 255}], FAILED),       # the most one parameter carries
        ([{"id": 0x0013, "value": "10.0.0.1:99999"}], FAILED),
        ([{"id": 0x0018, "value": 0}], FAILED),
        ([{"id": 0x0018, "value": 70000}], FAILED),
        ([{"id": 0x0013, "value": "10.0.0.1"}, {"id": 0x0055, "value": 0}], FAILED),
        ([{"id": 0xF123, "value": "AQ=="}], NOT_SUPPORTED),          # nothing in it is ours
        ([{"id": 0xF123, "value": "AQ=="}, {"id": 0x0055, "value": 0}], FAILED),   # a bad known value still fails
    ]
    for params, expected in cases:
        assert result(platform, 0x8103, {"params": params}) == expected, params
    assert snapshot(term, link) == before
    assert audits(runtime) == audited


def test_a_full_parameter_set_applies_what_the_terminal_keeps_and_ignores_the_rest(rig):  # noqa: F811
    """Platforms send whole parameter sets (APN, dial-up, strategies...) to every terminal model:
    ids the terminal does not keep are ignored, the ones it keeps are applied, and 0x8104 reads
    back only what it keeps (docs/jtt.md)."""
    car, runtime, platform = rig
    term = runtime.terminal
    vacant = interval_id(platform.protocol)
    params = [{"id": 0x0010, "value": "Y21uZXQ="}, {"id": vacant, "value": 20}, {"id": 0x0099, "value": "AAAAAQ=="}]
    assert result(platform, 0x8103, {"params": params}) == OK
    assert term.config["report"]["vacant_s"] == 20


def test_a_parameter_count_larger_than_the_body_is_a_message_error(rig):  # noqa: F811
    car, runtime, platform = rig
    term, link = runtime.terminal, runtime.jt_links[0]
    before = snapshot(term, link)
    body = b"\x05" + b"\x00\x00\x00\x55\x04\x00\x00\x00\x64"       # five announced, one present (speed 100)
    raw(platform, frame(platform.protocol, 0x8103, body, 0x6100))
    assert platform.wait_reply(0x6100)["body"]["result"] == BAD
    assert snapshot(term, link) == before


def test_the_same_parameters_again_are_applied_and_audited_once(rig):  # noqa: F811
    car, runtime, platform = rig
    term, link = runtime.terminal, runtime.jt_links[0]
    params = [{"id": interval_id(platform.protocol), "value": 17}, {"id": 0x0055, "value": 90},
              {"id": 0x0013, "value": "127.0.0.1"}, {"id": 0x0001, "value": 45}]
    assert result(platform, 0x8103, {"params": params}) == OK
    assert term.config["report"]["vacant_s"] == 17 and link.session.heartbeat_s == 45
    audited = audits(runtime)
    for _ in range(20):
        assert result(platform, 0x8103, {"params": params}) == OK
    assert audits(runtime) == audited


def test_text_that_is_not_gbk_is_refused_and_not_shown(rig):  # noqa: F811
    car, runtime, platform = rig
    term = runtime.terminal
    raw(platform, frame(platform.protocol, 0x8300, b"\x01" + b"\xff\xfe\x80abc", 0x6200))
    assert platform.wait_reply(0x6200)["body"]["result"] == BAD
    assert not term.cabin.notice or "abc" not in str(term.cabin.notice)


def test_tracking_with_absurd_values_and_a_flood_of_it(rig):  # noqa: F811
    car, runtime, platform = rig
    report = runtime.terminal.config["report"]
    before = dict(report)
    assert result(platform, 0x8202, {"period": 0, "expiry": 60}) == OK       # period 0: stop (none running)
    assert result(platform, 0x8202, {"period": 5, "expiry": 0}) == OK        # no validity: nothing to track
    assert result(platform, 0x8202, {"period": 65535, "expiry": 60}) == FAILED
    assert report == before
    audited = audits(runtime)
    for _ in range(30):
        assert result(platform, 0x8202, {"period": 3, "expiry": 3600}) == OK
    assert report["vacant_s"] == 3
    assert audits(runtime) - audited <= 1                  # tracking started once
    assert len(runtime.jt_links[0]._timers) == 1           # only the latest expiry is kept


def test_alarm_answers_without_an_alarm_and_orders_that_do_not_exist(rig):  # noqa: F811
    car, runtime, platform = rig
    term = runtime.terminal
    audited = audits(runtime)
    if platform.protocol == "jt905":
        for _ in range(10):
            assert result(platform, 0x8B0A) == FAILED
            assert result(platform, 0x8B0B) == FAILED
            assert result(platform, 0x8B09, {"order_id": 999}) == FAILED
            assigned = {"order_id": 999, "type": 0, "time": "261130120000", "passenger_longitude": 0,
                        "passenger_latitude": 0, "destination_longitude": 0, "destination_latitude": 0,
                        "fee": "0000", "passenger_phone": "13800000000", "description": ""}
            assert result(platform, 0x8B01, assigned) == FAILED
        assert not term.cabin.notice or "999" not in str(term.cabin.notice)
        dispatch = (4711).to_bytes(4, "big") + b"\x00" + bytes.fromhex("261130120000") + b"\xff\xfe\x80\x00"
        raw(platform, frame("jt905", 0x8B00, dispatch, 0x6500))             # a pickup text that is not GBK
        assert platform.wait_reply(0x6500)["body"]["result"] == BAD
        assert term.orders.state == "idle"
    else:
        for _ in range(10):
            assert result(platform, 0x8203, {"seq": 0, "type": 1}) == FAILED
    assert term.alarm.state == "idle"
    assert audits(runtime) == audited


def test_a_location_query_flood_is_answered_each_without_unbounded_queueing(rig):  # noqa: F811
    """Every query gets an answer: its location (0x0201), or "failed" (0x0001 result 1) when more
    than COMMANDS_WAITING were waiting for the loop at once."""
    car, runtime, platform = rig
    link = runtime.jt_links[0]
    raw(platform, b"".join(frame(platform.protocol, 0x8201, b"", 0x7000 + i) for i in range(200)))

    def answered():
        located = {m["body"]["seq"] for m in platform.messages(0x0201)}
        failed = {m["body"]["seq"] for m in platform.messages(0x0001)
                  if m["body"]["id"] == 0x8201 and m["body"]["result"] == 1}
        return located, failed

    assert car.wait(lambda: len(set().union(*answered()) & set(range(0x7000, 0x7000 + 200))) == 200, 20)
    located, failed = answered()
    assert len(failed & set(range(0x7000, 0x7200))) == link.counters["commands_refused"]
    assert located & set(range(0x7000, 0x7200))
    alive(platform)


def test_replies_to_nothing_and_unknown_results_change_nothing(rig):  # noqa: F811
    car, runtime, platform = rig
    link = runtime.jt_links[0]
    platform.acking = False   # the reports' own answers stop; those already sent are taken in
    alive(platform)           # before the answer to this (one connection, in order)
    acked = link.counters["acked"]
    for result_code in (0, 1, 7, 255):
        platform.command(0x8001, {"seq": 0xBEEF, "id": 0x0200, "result": result_code})
    if platform.protocol == "jt808":
        platform.command(0x8100, {"seq": 0xBEEF, "result": 0, "auth_code": "hijack"})
    alive(platform)
    assert link.counters["acked"] == acked and link.connected
    assert link.session.auth_code != "hijack"


def test_the_platforms_time_at_every_reconnect_is_recorded_once_an_hour(tmp_path, mosquitto):
    """808-2019 asks for the platform's time at every connect; a platform that drops the
    connection again and again must not add a clock record each time."""
    from tests.jttlink.test_commands import start
    car, runtime, platform = start(tmp_path, mosquitto, "jt808", proto_ver=1, imei="860000000000001")
    try:
        def clock_records():
            return [r for r in runtime.audit.records() if r["event"].startswith("clock_correction")]
        assert car.wait(lambda: len(clock_records()) == 1, 10)
        for connects in range(2, 5):
            platform.drop()
            assert car.wait(lambda n=connects: len(platform.messages(0x0004)) >= n, 10)
        sn = platform.command(0x8F01, {"unknown_id": True, "data": ""})
        platform.wait_reply(sn)
        assert not car.wait(lambda: len(clock_records()) > 1, 1.0)
    finally:
        car.close()
        platform.stop()
