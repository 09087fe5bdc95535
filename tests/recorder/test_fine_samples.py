"""True 0.2 s stop data on the default installation: the counter reads every 0.2 s and hands the
readings to the loop once a second; the stop record holds 100 distinct 0.2 s measurements."""

from drivers.event import Event
from drivers.pulse import FINE_MS, GpioPulseCounter
from terminal.app.recorder import Recorder
from terminal.recorder import store
from terminal.recorder.core import pulse_speed_01
from tests.recorder.test_desk import T0, make_term


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def test_the_default_counter_reads_every_fifth_of_a_second_and_hands_them_over_once_a_second():
    import queue

    from gpiozero.pins.mock import MockFactory

    from board.profiles import load_board
    factory, events, clock = MockFactory(), queue.Queue(), Clock()
    counter = GpioPulseCounter(load_board("sim").inputs["pulse"], events, clock, factory)   # the defaults
    assert counter.period_ms == 1000 and counter.fine_ms == FINE_MS == 200
    pin = factory.pin(load_board("sim").inputs["pulse"])
    for i in range(1, 6):
        for _ in range(i):
            pin.drive_low()
            pin.drive_high()
        clock.now += 200
        if i < 5:
            counter.read()
    event = counter.sample()
    assert events.qsize() == 1 and event.kind == "pulses"
    assert event.data["fine"] == [[T0 + 200, 1], [T0 + 400, 3], [T0 + 600, 6], [T0 + 800, 10], [T0 + 1000, 15]]
    assert event.t_ms == T0 + 1000 and event.data["count"] == 15
    counter.close()


def braking_readings(start, count):
    """60 s at 72 km/h, then braking at 4 m/s^2 to a stop, then 5 s still: [(t, count)] every 0.2 s.
    Returns (readings, the vehicle's speed in 0.1 km/h over each 0.2 s ending at t)."""
    readings, truth = [], {}
    t, v_mm_s, num = start, 20_000, count * 1000       # mm/s, mm
    for _ in range(300 + 30 + 25):
        t += 200
        if t > start + 60_000:
            v_mm_s = max(0, v_mm_s - 800)              # 4 m/s^2 over 0.2 s
        num += v_mm_s // 5
        readings.append((t, num // 1000))             # K = 1000: one pulse a metre
        truth[t] = v_mm_s * 36 // 1000
    return readings, truth


def test_the_stop_record_holds_a_hundred_distinct_fifth_second_measurements(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    readings, truth = braking_readings(T0, 0)
    for i in range(4, len(readings), 5):              # one event a second with its five readings
        fine = [[t, c] for t, c in readings[i - 4:i + 1]]
        rec.on_event(Event("pulses", fine[-1][0], {"count": fine[-1][1], "fine": fine}))
        rec.periodic(fine[-1][0])
    rec.flush(readings[-1][0])
    [stop] = store.events(term.storage, "stop", T0, readings[-1][0])
    samples, ages = stop["samples"], stop["age_ms"]
    assert len(samples) == 100 and stop["interval_ms"] == 200
    measured = [stop["first_ms"] + 200 * i - age for i, age in enumerate(ages)]
    assert len(set(measured)) == 100                  # each sample its own reading, none repeated
    assert all(0 <= age < 200 for age in ages)
    resolution = pulse_speed_01(1, 200, 1000)         # one pulse in 0.2 s: 18 km/h
    for (speed, _), at in zip(samples, measured, strict=False):
        assert abs(speed - truth[at]) <= resolution, (at, speed, truth[at])
    # the 5 s of braking show within each second (readings repeated once a second would change
    # at most once a second: 6 times)
    speeds = [s for s, _ in samples]
    changes = sum(1 for a, b in zip(speeds, speeds[1:], strict=False) if a != b)
    assert changes >= 10
