"""Driver keys, hidden alarm buttons, pulse input and level inputs on gpiozero mock pins."""

import queue

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given
from hypothesis import strategies as st

from board.pins import make_pin_factory
from board.profiles import load_board
from drivers.alarm_button import HiddenAlarm
from drivers.event import Event
from drivers.keys import DriverKeys
from drivers.press import PressTimer
from drivers.pulse import GpioPulseCounter, KernelPulseCounter, PulseError, PulseWatch
from drivers.sense import ignition_sense, seal_switch
from tests.drivers.helpers import VirtualClock

SIM = load_board("sim")


def drain(events: queue.Queue) -> list[Event]:
    out = []
    while not events.empty():
        out.append(events.get_nowait())
    return out


@pytest.fixture
def rig():
    factory = make_pin_factory(SIM)
    assert isinstance(factory, MockFactory)
    yield factory, queue.Queue(), VirtualClock()
    factory.reset()


def press(factory, pin, clock, ms):
    factory.pin(pin).drive_low()
    clock.advance(ms)
    factory.pin(pin).drive_high()


# --- keys --------------------------------------------------------------------------------------

def test_short_press_of_each_key_gives_its_name(rig):
    factory, events, clock = rig
    keys = DriverKeys(SIM.keys, events, clock, factory)
    for pin in SIM.keys.values():
        press(factory, pin, clock, 150)
    got = drain(events)
    assert [(e.kind, e.data["key"], e.data["long"]) for e in got] == [("key", n, False) for n in SIM.keys]
    keys.close()


def test_long_hire_is_reported_when_the_hold_completes_not_again_at_release(rig):
    factory, events, clock = rig
    keys = DriverKeys(SIM.keys, events, clock, factory, long_ms=2000)
    pin = factory.pin(SIM.keys["hire"])
    pin.drive_low()
    clock.advance(1999)
    keys.poll()
    assert drain(events) == []
    clock.advance(1)
    keys.poll()
    (event,) = drain(events)
    assert event.data == {"key": "hire", "long": True} and event.t_ms == clock()
    clock.advance(500)
    pin.drive_high()
    assert drain(events) == []
    keys.close()


def test_long_press_counted_at_release_when_nobody_polled(rig):
    factory, events, clock = rig
    keys = DriverKeys(SIM.keys, events, clock, factory, long_ms=2000)
    press(factory, SIM.keys["print"], clock, 2600)
    assert [e.data for e in drain(events)] == [{"key": "print", "long": True}]
    keys.close()


def test_key_without_long_function_stays_short_however_long_held(rig):
    factory, events, clock = rig
    keys = DriverKeys(SIM.keys, events, clock, factory, long_ms=2000)
    press(factory, SIM.keys["settle"], clock, 5000)
    keys.poll()
    assert [e.data for e in drain(events)] == [{"key": "settle", "long": False}]
    keys.close()


def test_contact_bounce_gives_one_press(rig):
    factory, events, clock = rig
    keys = DriverKeys(SIM.keys, events, clock, factory, debounce_ms=20)
    pin = factory.pin(SIM.keys["pause"])
    for _ in range(4):  # closing bounce: 1 ms blips
        pin.drive_low()
        clock.advance(1)
        pin.drive_high()
        clock.advance(1)
    pin.drive_low()
    clock.advance(120)
    pin.drive_high()
    clock.advance(2)
    pin.drive_low()  # opening bounce
    clock.advance(1)
    pin.drive_high()
    assert [e.data for e in drain(events)] == [{"key": "pause", "long": False}]
    keys.close()


def test_long_function_on_an_unwired_key_is_refused(rig):
    factory, events, clock = rig
    with pytest.raises(ValueError, match="not wired: horn"):
        DriverKeys(SIM.keys, events, clock, factory, long_keys=("horn",))


@given(st.lists(st.integers(0, 5000), max_size=20), st.integers(1, 50), st.integers(100, 3000))
def test_press_timer_reports_each_counted_press_once(holds, debounce, long_ms):
    timer = PressTimer(long_ms, debounce)
    t, told = 0, []
    for held in holds:
        timer.pressed(t)
        polled = timer.poll(t + held)
        outcome = timer.released(t + held)
        told.append(polled is not None or outcome is not None)
        if held < debounce:
            assert polled is None and outcome is None
        elif held >= long_ms:
            assert (polled is not None) != (outcome is not None)  # exactly one report, long
            assert outcome is None or outcome[0] == "long"
        else:
            assert polled is None and outcome == ("short", held)
        t += held + 10
    assert sum(told) == sum(1 for h in holds if h >= debounce)


# --- hidden alarm ------------------------------------------------------------------------------

ALARM_PINS = {"alarm_a": SIM.inputs["alarm_a"], "alarm_b": SIM.inputs["alarm_b"]}


def test_a_brush_of_the_alarm_button_raises_nothing(rig):
    factory, events, clock = rig
    alarm = HiddenAlarm(ALARM_PINS, events, clock, factory, hold_ms=3000)
    press(factory, ALARM_PINS["alarm_a"], clock, 2999)
    alarm.poll()
    assert drain(events) == []
    alarm.close()


def test_alarm_raised_once_when_the_hold_completes(rig):
    factory, events, clock = rig
    alarm = HiddenAlarm(ALARM_PINS, events, clock, factory, hold_ms=3000)
    pin = factory.pin(ALARM_PINS["alarm_b"])
    pin.drive_low()
    clock.advance(3000)
    alarm.poll()
    clock.advance(2000)
    alarm.poll()
    pin.drive_high()
    (event,) = drain(events)
    assert event.kind == "alarm_button"
    assert event.data == {"held_ms": 3000, "button": "alarm_b"}
    alarm.close()


def test_alarm_raised_at_release_after_a_full_hold(rig):
    factory, events, clock = rig
    alarm = HiddenAlarm(ALARM_PINS, events, clock, factory, hold_ms=1500)
    press(factory, ALARM_PINS["alarm_a"], clock, 1700)
    (event,) = drain(events)
    assert event.data["held_ms"] == 1700
    alarm.close()


def test_alarm_hold_time_must_be_positive(rig):
    factory, events, clock = rig
    with pytest.raises(ValueError, match="hold_ms must be positive"):
        HiddenAlarm(ALARM_PINS, events, clock, factory, hold_ms=0)


# --- pulses ------------------------------------------------------------------------------------

def test_gpio_pulse_counter_hands_cumulative_counts(rig):
    factory, events, clock = rig
    counter = GpioPulseCounter(SIM.inputs["pulse"], events, clock, factory, period_ms=1000)
    pin = factory.pin(SIM.inputs["pulse"])
    for _ in range(37):
        pin.drive_low()
        pin.drive_high()
    first = counter.sample()
    for _ in range(5):
        pin.drive_low()
        pin.drive_high()
    clock.advance(1000)
    second = counter.sample()
    assert [(e.kind, e.data["count"]) for e in drain(events)] == [("pulses", 37), ("pulses", 42)]
    assert second.t_ms - first.t_ms == 1000
    counter.close()


def test_kernel_pulse_counter_reads_the_count_file(tmp_path, rig):
    _, events, clock = rig
    count_file = tmp_path / "count"
    count_file.write_text("1000\n")
    counter = KernelPulseCounter(str(count_file), events, clock)
    count_file.write_text("1250\n")
    assert counter.sample().data["count"] == 250
    count_file.write_text("garbage")
    with pytest.raises(PulseError, match="not a count"):
        counter.sample()


def test_missing_kernel_counter_fails_at_start(tmp_path):
    with pytest.raises(PulseError, match="kernel pulse counter"):
        KernelPulseCounter(str(tmp_path / "nope"), queue.Queue(), lambda: 0)


def drive(watch, seconds, speed, pulses_per_s, t0=0, count0=0):
    """Feed one GNSS speed and one pulse sample per second; returns the events raised."""
    out, count = [], count0
    for s in range(seconds):
        t = t0 + s * 1000
        count += pulses_per_s
        for event in (watch.on_speed(t, speed), watch.on_pulses(t, count)):
            if event is not None:
                out.append(event)
    return out, count


def test_pulse_silent_while_gnss_says_moving():
    watch = PulseWatch(min_speed_kmh=10, silent_after_ms=10_000)
    events, count = drive(watch, 5, 40, 20)
    assert events == []
    events, count = drive(watch, 15, 40, 0, t0=5000, count0=count)
    (event,) = events
    assert event.kind == "pulse_silent" and event.data == {"since_ms": 4000, "active": True}
    events, _ = drive(watch, 2, 40, 20, t0=20_000, count0=count)
    assert [e.data["active"] for e in events] == [False]


def test_no_pulse_fault_when_parked_or_slow_or_without_fix():
    for speed in (0, 9.9, None):
        watch = PulseWatch(min_speed_kmh=10, silent_after_ms=10_000)
        events, _ = drive(watch, 60, speed, 0)
        assert events == [], speed


def test_pulse_watch_refuses_other_events():
    with pytest.raises(ValueError, match="takes pulses events"):
        PulseWatch().on_event(Event("key", 0, {}))


# --- ignition and seal -------------------------------------------------------------------------

def test_ignition_and_seal_changes_become_events(rig):
    factory, events, clock = rig
    ignition = ignition_sense(SIM.inputs["ignition"], events, clock, factory)
    seal = seal_switch(SIM.inputs["seal"], events, clock, factory)
    assert ignition.announce().data == {"on": False}
    factory.pin(SIM.inputs["ignition"]).drive_low()
    factory.pin(SIM.inputs["seal"]).drive_low()
    factory.pin(SIM.inputs["seal"]).drive_high()
    got = [(e.kind, e.data) for e in drain(events)]
    assert got == [("power", {"on": False}), ("power", {"on": True}), ("seal", {"closed": True}),
                   ("seal", {"closed": False})]
    ignition.close()
    seal.close()
