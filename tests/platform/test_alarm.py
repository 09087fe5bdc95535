"""Emergency alarm: pre-alarm at once, confirm, periodic reports, release, silent cabin, power dips."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.app.alarm import ALARM, IDLE, PRE_ALARM, AlarmError, EmergencyAlarm
from terminal.link import payloads as p
from terminal.link import schemas
from terminal.link.downlink import Command

T0 = 1795000000000
POS = p.position(lat_deg=23.13, lon_deg=113.26, alt_m=20, speed_mps=8, course_deg=90, fix_ms=T0)


def confirm(alarm_id=None, cmd_id="k1"):
    return Command("alarm_confirm", cmd_id, {} if alarm_id is None else {"alarm_id": alarm_id}, None)


def release(alarm_id=None, cmd_id="r1"):
    return Command("alarm_release", cmd_id, {} if alarm_id is None else {"alarm_id": alarm_id}, None)


def stages(effects):
    return [e[2]["stage"] for e in effects if e[:2] == ("report", "alarm")]


def audits(effects):
    return [e[1] for e in effects if e[0] == "audit"]


def acks(effects):
    return [e[2]["result"] for e in effects if e[:2] == ("report", "ack")]


def signs(effects):
    return [e[1] for e in effects if e[0] == "sign_alarm"]


def uplinks_valid(effects):
    for e in effects:
        if e[:2] == ("report", "alarm"):
            body = e[2]
            msg = p.alarm(seq=1, ts_ms=T0, pos=POS, alarm=body["alarm"], alarm_id=body["alarm_id"],
                          stage=body["stage"], pressed_ms=body["pressed_ms"], mileage_m=0, operating="hired")
            assert schemas.errors("up_alarm", msg) == []
        elif e[:2] == ("report", "ack"):
            assert schemas.errors("up_ack", p.ack(seq=1, ts_ms=T0, **e[2])) == []
        assert e[0] != "display", "the alarm must never reach the cabin display"


def test_full_lifecycle_press_confirm_periodic_release():
    a = EmergencyAlarm(interval_ms=5000)
    e = a.button(T0, held_ms=3100)
    assert stages(e) == ["pre_alarm"] and audits(e) == ["alarm_pressed"] and signs(e) == []
    assert a.flags == p.alarm_bits(["emergency", "pre_alarm"]) and e[-1][2]["alarm"] == 3
    assert a.tick(T0 + 4999) == [] and stages(a.tick(T0 + 5000)) == ["periodic"]
    e = a.confirm(confirm(str(T0)), T0 + 7000)
    assert acks(e) == [0] and signs(e) == [True] and stages(e) == ["confirmed"] and audits(e) == ["alarm_confirmed"]
    assert a.state == ALARM and a.flags == 1 and a.sign_alarm
    assert stages(a.tick(T0 + 10_000)) == ["periodic"] and a.tick(T0 + 14_999) == []
    e = a.release(release(), T0 + 20_000)
    assert acks(e) == [0] and signs(e) == [False] and stages(e) == ["released"] and audits(e) == ["alarm_released"]
    released = [x for x in e if x[:2] == ("report", "alarm")][0][2]
    assert released["alarm"] == 0 and released["alarm_id"] == str(T0)
    assert a.state == IDLE and a.flags == 0 and not a.sign_alarm and a.tick(T0 + 10**6) == []


def test_release_before_confirm_ends_a_false_alarm_without_touching_the_sign():
    a = EmergencyAlarm()
    a.button(T0, 3000)
    e = a.release(release(), T0 + 2000)
    assert acks(e) == [0] and signs(e) == [] and stages(e) == ["released"]
    assert audits(e) == ["alarm_released"] and [x for x in e if x[0] == "audit"][0][2]["was"] == PRE_ALARM
    assert a.state == IDLE


def test_repeated_presses_report_again_but_keep_one_alarm():
    a = EmergencyAlarm(interval_ms=5000)
    a.button(T0, 3000)
    e = a.button(T0 + 1000, 3500)
    assert stages(e) == ["pressed_again"] and audits(e) == ["alarm_pressed_again"]
    assert a.alarm_id == str(T0) and a.state == PRE_ALARM
    assert stages(a.tick(T0 + 5000)) == ["periodic"]      # schedule not reset by the second press
    a.confirm(confirm(), T0 + 6000)
    e = a.button(T0 + 7000, 3000)
    assert stages(e) == ["pressed_again"] and a.state == ALARM and signs(e) == []


def test_commands_without_an_alarm_or_for_another_alarm_fail_and_change_nothing():
    a = EmergencyAlarm()
    assert acks(a.confirm(confirm(), T0)) == [1] and acks(a.release(release(), T0)) == [1]
    assert a.state == IDLE
    a.button(T0, 3000)
    before = a.snapshot()
    e = a.confirm(confirm("12345"), T0 + 1)
    assert acks(e) == [1] and "does not match" in e[0][2]["reason"] and a.snapshot() == before
    assert acks(a.release(release("12345"), T0 + 2)) == [1] and a.snapshot() == before


def test_repeated_confirm_and_release_are_acknowledged_without_repeating_the_step():
    a = EmergencyAlarm()
    a.button(T0, 3000)
    a.confirm(confirm(), T0 + 1)
    e = a.confirm(confirm(), T0 + 2)
    assert acks(e) == [0] and signs(e) == [] and stages(e) == []
    a.release(release(str(T0)), T0 + 3)
    e = a.release(release(str(T0)), T0 + 4)
    assert acks(e) == [0] and signs(e) == [] and stages(e) == []


def test_a_gap_gives_one_report_not_a_burst():
    a = EmergencyAlarm(interval_ms=1000)
    a.button(T0, 3000)
    assert stages(a.tick(T0 + 60_000)) == ["periodic"]
    assert a.tick(T0 + 60_999) == [] and stages(a.tick(T0 + 61_000)) == ["periodic"]


def test_interval_follows_the_params_command():
    a = EmergencyAlarm(interval_ms=10_000)
    a.set_interval_ms(2000)
    a.button(T0, 3000)
    assert stages(a.tick(T0 + 2000)) == ["periodic"]
    with pytest.raises(AlarmError):
        a.set_interval_ms(0)


def test_power_dip_during_a_confirmed_alarm_keeps_the_flag_and_the_sign():
    a = EmergencyAlarm(interval_ms=5000)
    a.button(T0, 3000)
    a.confirm(confirm(), T0 + 1000)
    snap = a.snapshot()
    after = EmergencyAlarm()                   # the terminal restarts with defaults
    e = after.restore(snap)
    assert signs(e) == [True] and audits(e) == ["alarm_resumed"]
    assert after.flags == 1 and after.interval_ms == 5000 and after.alarm_id == str(T0)
    assert stages(after.tick(T0 + 30_000)) == ["periodic"]
    assert acks(after.release(release(str(T0)), T0 + 31_000)) == [0]


def test_power_dip_during_a_pre_alarm_resumes_reporting_without_showing_the_sign():
    a = EmergencyAlarm()
    a.button(T0, 3000)
    after = EmergencyAlarm()
    e = after.restore(a.snapshot())
    assert signs(e) == [] and after.flags == 3
    assert EmergencyAlarm().restore(EmergencyAlarm().snapshot()) == []


def test_snapshots_that_do_not_fit_are_refused():
    a = EmergencyAlarm()
    with pytest.raises(AlarmError):
        a.restore({"state": "alarm"})
    bad = dict(EmergencyAlarm().snapshot(), state="alarm")
    with pytest.raises(AlarmError):
        a.restore(bad)


events = st.lists(st.one_of(
    st.tuples(st.just("button"), st.integers(3000, 9000)),
    st.tuples(st.just("confirm"), st.sampled_from([None, "own", "other"])),
    st.tuples(st.just("release"), st.sampled_from([None, "own", "other"])),
    st.tuples(st.just("tick"), st.integers(0, 20_000)),
    st.tuples(st.just("dip"),),
), max_size=40)


@settings(deadline=None)   # up to 40 steps with schema checks: no speed claim on a shared machine
@given(events)
def test_any_sequence_reports_every_step_and_never_uses_the_display(sequence):
    a = EmergencyAlarm(interval_ms=5000)
    now = T0
    sign_on = False
    for ev in sequence:
        now += 100
        if ev[0] == "button":
            e = a.button(now, ev[1])
        elif ev[0] in ("confirm", "release"):
            alarm_id = {None: None, "own": a.alarm_id, "other": "x"}[ev[1]]
            e = (a.confirm if ev[0] == "confirm" else a.release)(
                (confirm if ev[0] == "confirm" else release)(alarm_id), now)
            assert len(acks(e)) == 1
        elif ev[0] == "tick":
            now += ev[1]
            e = a.tick(now)
        else:
            snap = a.snapshot()
            a = EmergencyAlarm()
            e = a.restore(snap)
        uplinks_valid(e)
        for x in e:
            if x[0] == "sign_alarm":
                if ev[0] != "dip":
                    assert x[1] != sign_on
                sign_on = x[1]
        assert sign_on == a.sign_alarm
        changed = [x for x in e if x[0] in ("sign_alarm",) or x[:2] == ("report", "alarm")]
        if changed and ev[0] != "tick":
            assert audits(e), "every step goes to the audit trail"
        assert bool(a.flags & 1) == a.active
