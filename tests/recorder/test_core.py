"""The recorder's core: every second recorded once, speeds as the sensor saw them, stops with their last 20 s."""

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.recorder.core import (
    FINE_MS,
    NO_SPEED,
    SOURCE_GNSS,
    SOURCE_PULSES,
    STATUS_ACC,
    STOP_SAMPLES,
    RecorderCore,
    pulse_speed_01,
)
from tests.recorder.model import T0, drive, of


def test_pulse_speed_is_pulses_over_k_and_time():
    assert pulse_speed_01(10, 1000, 1000) == 360          # 10 m in 1 s = 36.0 km/h
    assert pulse_speed_01(2, 200, 1000) == 360
    assert pulse_speed_01(0, 1000, 1000) == 0
    assert pulse_speed_01(1, 1000, 3600) == 10            # 1/3.6 m/s = 1.0 km/h


def test_constant_speed_gives_every_second_and_every_minute():
    core = RecorderCore()
    core.status = STATUS_ACC
    records, end = drive(core, [(5 * 60_000, 360)])
    seconds = of(records, "second")
    # the sample at a whole second closes the second before it
    assert [r[1] for r in seconds] == list(range(T0, end, 1000))
    assert all(r[2] == 360 and r[4] == SOURCE_PULSES and r[3] == STATUS_ACC for r in seconds[1:])
    positions = of(records, "position")
    assert [r[1] for r in positions] == [T0 + i * 60_000 for i in range(5)]
    assert all(r[3] == 360 and r[2][0] == 22543096 for r in positions[1:])


def test_a_stop_keeps_the_last_twenty_seconds_at_a_fifth_of_a_second():
    core = RecorderCore()
    profile = [(60_000, 500)] + [(1000, 500 - 50 * i) for i in range(1, 11)] + [(10_000, 0)]
    records, _ = drive(core, profile)
    stops = of(records, "stop")
    assert len(stops) == 1
    stop = stops[0][1]
    assert stop["reason"] == "stopped"
    assert len(stop["samples"]) == STOP_SAMPLES and stop["interval_ms"] == FINE_MS
    assert stop["t_ms"] - stop["first_ms"] == (STOP_SAMPLES - 1) * FINE_MS
    assert stop["samples"][-1][0] == 0 and stop["samples"][0][0] >= 300   # 50 km/h, one pulse in 0.2 s is 18 km/h
    assert stop["position"][0] == 22543096


def test_no_stop_without_driving_and_one_per_stop():
    core = RecorderCore()
    records, _ = drive(core, [(30_000, 0), (30_000, 30), (10_000, 0)])   # crawling at 3 km/h never arms
    assert of(records, "stop") == []
    records, _ = drive(core, [(20_000, 300), (20_000, 0), (20_000, 300), (20_000, 0)], start=T0 + 70_000)
    assert len(of(records, "stop")) == 2


def test_supply_off_while_moving_is_a_stop_record():
    core = RecorderCore()
    core.powered = True
    records, end = drive(core, [(30_000, 400)])
    out = core.power(end, False)
    assert out[0] == ("power", {"t_ms": end, "on": False})
    assert out[1][0] == "stop" and out[1][1]["reason"] == "power_off"


def test_after_the_supply_goes_off_no_second_repeats_the_speed_measured_before_it():
    """No reading comes once the supply is off: the seconds after the cut are not the last
    measurement held for STALE_MS (a car parked at the cut would be recorded as still driving)."""
    core = RecorderCore()
    core.powered = True
    _, end = drive(core, [(30_000, 400)])
    core.power(end, False)
    out = []
    for t in range(end + 200, end + 6001, 200):
        out += core.advance(t)
    after = [r for r in of(out, "second") if r[1] > end]     # the second from the cut holds its measurement
    assert after, "the terminal keeps recording seconds while it runs"
    assert all(r[2] == NO_SPEED for r in after), after


def test_gnss_takes_over_when_the_pulses_fail_or_stop():
    core = RecorderCore()
    records, end = drive(core, [(10_000, 300)], gnss=True)
    assert {r[4] for r in of(records, "second")[1:]} == {SOURCE_GNSS}
    core = RecorderCore()
    core.source.pulse_fault = True
    records, _ = drive(core, [(10_000, 300)])
    assert {r[4] for r in of(records, "second")[1:]} == {SOURCE_GNSS}


def test_nothing_known_is_recorded_as_no_speed_and_a_long_stall_leaves_a_gap():
    core = RecorderCore()
    out = core.advance(T0) + core.advance(T0 + 5000)
    assert [r[2] for r in of(out, "second")] == [NO_SPEED] * 5
    out = core.advance(T0 + 60_000)          # the caller stalled 55 s: no invented seconds
    assert of(out, "second") == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40).map(lambda n: n * 200), st.integers(0, 1200)), min_size=1, max_size=30))
def test_every_second_once_in_order_with_the_sensors_speed(profile):
    core = RecorderCore()
    records, end = drive(core, profile)
    seconds = of(records, "second")
    assert [r[1] for r in seconds] == list(range(T0, T0 + 1000 * len(seconds), 1000))
    assert len(seconds) == (end - T0) // 1000
    # Against the vehicle: a sample at t is the speed over the sensor's period ending at t (it is
    # taken once that reading is in), so the second starting at S averages the pulses of
    # [S - 200, S + 800) ms: within one pulse in that
    # second of the true mean (3.6 km/h at K = 1000) plus rounding.
    truth = []
    for duration, speed in profile:
        truth += [speed] * (duration // 200)
    for r in seconds[2:]:
        i = (r[1] - T0) // 200
        true_mean = sum(truth[i - 1:i + 4]) / 5
        assert abs(r[2] - true_mean) <= 36 + 1, (r, truth[i - 1:i + 4])


def test_pulses_after_a_gap_are_a_new_baseline_not_a_speed():
    core = RecorderCore()
    core.pulses(T0, 0, 1000)
    core.pulses(T0 + 1000, 10, 1000)
    assert core.source.at(T0 + 1000)[:2] == (360, SOURCE_PULSES)
    core.pulses(T0 + 60_000, 500, 1000)          # a minute without samples: 490 m over it is no speed
    assert core.source.at(T0 + 60_000)[:2] == (NO_SPEED, 0)
    core.pulses(T0 + 61_000, 520, 1000)
    assert core.source.at(T0 + 61_000)[:2] == (720, SOURCE_PULSES)


def test_a_pulse_fault_hands_over_to_gnss_only_while_there_is_gnss():
    core = RecorderCore()
    core.pulses(T0, 0, 1000)
    core.pulses(T0 + 1000, 10, 1000)
    core.source.pulse_fault = True
    assert core.source.at(T0 + 1000)[:2] == (360, SOURCE_PULSES)
    core.fix(T0 + 1000, 300, None)
    assert core.source.at(T0 + 1000)[:2] == (300, SOURCE_GNSS)


def test_moving_while_the_position_stands_still_for_ten_seconds_is_recorded_once():
    core = RecorderCore()
    records, end = drive(core, [(30_000, 400)], frozen=True)    # every fix at the same place
    frozen = [r[1] for r in of(records, "stop") if r[1]["reason"] == "position_unchanged"]
    assert len(frozen) == 1
    assert frozen[0]["t_ms"] - T0 >= 10_000
    core.fix(end, 400, (1, 2, 3))                          # the position moves on: armed again
    records, _ = drive(core, [(5_000, 400)], start=end, pos=(1, 2, 3), frozen=True)
    assert of(records, "stop") == []
