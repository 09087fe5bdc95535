"""Fatigue and overspeed: the edges of the four-hour, twenty-minute and daily rules, and the overspeed record."""

from terminal.recorder.rules import Fatigue, Overspeed

T0 = 1_795_017_600_000        # 2026-11-19 00:00:00 GMT+8 is not needed: days are checked explicitly below
H = 3600_000
M = 60_000
POS = (22543096, 114057865, 10)


def run(f, start, ms, speed):
    out = []
    for t in range(start, start + ms, 1000):
        out += f.second(t, speed, POS)
    return out, start + ms


def alarms(out):
    return [(r[1], r[2]) for r in out if r[0] == "alarm"]


def test_four_hours_is_not_over_four_hours_and_a_second_is():
    f = Fatigue()
    out, t = run(f, T0, 4 * H, 300)
    assert alarms(out) == [] and f.continuous() == 4 * H
    out, t = run(f, t, 1000, 300)
    assert alarms(out) == [("continuous_driving", True)]


def test_a_rest_shorter_than_twenty_minutes_does_not_reset():
    f = Fatigue()
    out, t = run(f, T0, 3 * H, 300)
    out, t = run(f, t, 20 * M - 1000, 0)
    out, t = run(f, t, H + 1000, 300)
    assert ("continuous_driving", True) in alarms(out)
    assert f.continuous() == 4 * H + 1000          # the stop counted neither way


def test_a_rest_of_twenty_minutes_resets_and_leaves_the_overtime_record():
    f = Fatigue()
    f.change_driver(T0, "440100123456")
    out, t = run(f, T0, 4 * H + 60_000, 300)
    assert ("continuous_driving", True) in alarms(out)
    out, t = run(f, t, 20 * M, 0)
    overtime = [r[1] for r in out if r[0] == "overtime"]
    assert alarms(out) == [("continuous_driving", False)]
    assert overtime == [{"driver_cert": "440100123456", "start_ms": T0, "end_ms": T0 + 4 * H + 60_000,
                         "driven_ms": 4 * H + 60_000, "start_pos": POS, "end_pos": POS}]
    assert f.continuous() == 0


def test_no_overtime_record_under_the_limit_and_a_new_driver_starts_afresh():
    f = Fatigue()
    out, t = run(f, T0, 2 * H, 300)
    out = f.change_driver(t, "B")
    assert out == [] and f.continuous() == 0 and f.today() == 0


def test_daily_driving_counts_per_driver_and_day():
    f = Fatigue(continuous_ms=24 * H, daily_ms=8 * H, utc_offset_min=480)
    day_start = 1_795_017_600_000 - (1_795_017_600_000 + 8 * H) % (24 * H)   # a local midnight
    f.change_driver(day_start, "A")
    out, t = run(f, day_start, 8 * H, 300)
    assert alarms(out) == []
    out, t = run(f, t, 1000, 300)
    assert alarms(out) == [("daily_driving", True)]
    out = f.change_driver(t, "B")                  # another driver has driven nothing today
    assert alarms(out) == [("daily_driving", False)]
    out = f.change_driver(t, "A")
    assert alarms(out) == [("daily_driving", True)]
    out, t = run(f, day_start + 24 * H, 1000, 300)  # the next local day
    assert ("daily_driving", False) in alarms(out)


def test_fatigue_survives_a_restart():
    f = Fatigue()
    run(f, T0, 3 * H, 300)
    g = Fatigue()
    g.restore(f.snapshot())
    out, _ = run(g, T0 + 3 * H, H + 1000, 300)
    assert ("continuous_driving", True) in alarms(out)


def test_overspeed_needs_the_duration_and_ends_with_its_record():
    o = Overspeed()
    out = []
    for i in range(9):
        out += o.second(T0 + i * 1000, 601, 60, 10_000, POS, "A")
    assert not o.active
    out += o.second(T0 + 9000, 720, 60, 10_000, POS, "A")
    assert o.active
    out += o.second(T0 + 10_000, 600, 60, 10_000, POS, "A")    # at the limit is not over it
    assert not o.active
    assert out == [("overspeed", {"driver_cert": "A", "start_ms": T0, "end_ms": T0 + 10_000, "top_01kmh": 720,
                                  "limit_kmh": 60, "start_pos": POS, "end_pos": POS})]


def test_a_short_overspeed_or_no_limit_leaves_nothing():
    o = Overspeed()
    out = [r for i in range(5) for r in o.second(T0 + i * 1000, 900, 60, 10_000, POS, "A")]
    out += o.second(T0 + 5000, 0, 60, 10_000, POS, "A")
    out += [r for i in range(30) for r in o.second(T0 + i * 1000, 900, None, 10_000, POS, "A")]
    assert out == [] and not o.active
