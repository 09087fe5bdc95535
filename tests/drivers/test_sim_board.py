"""The sim board end to end: every driver built from the profile alone, as the terminal will do it."""

import queue

from board.pins import make_pin_factory
from board.profiles import load_board
from drivers.alarm_button import HiddenAlarm
from drivers.display import DriverDisplay, open_display
from drivers.keys import DriverKeys
from drivers.pulse import GpioPulseCounter
from drivers.screens import FareScreen
from drivers.sign import SignDriver, SignFollower
from sim.pulse_gen import PulseTrain
from sim.sign_emulator import SignEmulator
from tests.drivers.helpers import VirtualClock, wait_until


def test_drivers_run_from_the_sim_profile():
    clock = VirtualClock()
    events: queue.Queue = queue.Queue()
    with SignEmulator(clock) as top_light:
        board = load_board("sim", {"serial": {"sign": top_light.path}})
        factory = make_pin_factory(board)
        keys = DriverKeys(board.keys, events, clock, factory)
        alarm = HiddenAlarm({n: board.inputs[n] for n in ("alarm_a", "alarm_b")}, events, clock, factory)
        counter = GpioPulseCounter(board.inputs["pulse"], events, clock, factory)
        display = DriverDisplay(open_display(board.display))
        sign = SignDriver(board.serial["sign"], events, clock, query_interval_ms=60_000).start()
        follower = SignFollower()
        try:
            factory.pin(board.keys["hire"]).drive_low()
            clock.advance(200)
            factory.pin(board.keys["hire"]).drive_high()
            key = events.get(timeout=1)
            assert key.kind == "key" and key.data == {"key": "hire", "long": False}
            sign.show(follower.meter("hired"))

            train = PulseTrain(factory, board.inputs["pulse"], k_pulses_per_km=1000)
            train.drive(1234)
            assert counter.sample().data["count"] == 1234

            display.show(FareScreen("hired", 1300, 1234, 0))
            assert display.frame.size == (256, 64)

            factory.pin(board.inputs["alarm_a"]).drive_low()
            clock.advance(3000)
            alarm.poll()
            pending = [events.get(timeout=1) for _ in range(events.qsize())]
            assert [e.data for e in pending if e.kind == "alarm_button"] == [{"held_ms": 3000, "button": "alarm_a"}]
            factory.pin(board.inputs["alarm_a"]).drive_high()
            assert events.empty()  # the release after a reported hold adds nothing
            sign.show(follower.alarm(True))
            assert wait_until(lambda: top_light.states() == ["occupied", "alarm"])
        finally:
            sign.close()
            keys.close()
            alarm.close()
            counter.close()


def test_pulse_train_keeps_fractions_over_a_long_drive():
    factory = make_pin_factory(load_board("sim"))
    train = PulseTrain(factory, 4, k_pulses_per_km=637)
    sent = sum(train.drive(7) for _ in range(1000))  # 7 km in 7 m steps
    assert sent == 637 * 7
