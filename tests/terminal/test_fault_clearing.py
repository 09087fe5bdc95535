"""A meter fault stops metering until a technician clears it under the seal (docs/meter.md, docs/seal.md).

Before this, nothing in the terminal called ``Taximeter.clear_fault``: a fault that blocks
hiring lasted until a reset nobody could do.
"""

import pytest

from sim.broker import Broker
from tests.terminal.harness import Car


@pytest.fixture
def car(tmp_path):
    with Broker() as broker:
        # the meter's clock at real time: a burst of pulses is implausible however slowly this
        # machine toggles the pin, a key is held 0.1 s (past its debounce) and a long press 0.6 s
        c = Car(tmp_path, broker, speed=1)
        c.config["keys"]["long_ms"] = 300
        try:
            yield c
        finally:
            c.close()


def _seal_pin(runtime):
    return runtime.devices.inputs[2].device.pin


def _start(car):
    runtime = car.start()
    assert car.wait(lambda: runtime.terminal.selftest is None, timeout_s=15)   # 6 s of self-test screens
    return runtime


def _fault_a_trip(car):
    car.press("hire", hold_s=0.1)
    assert car.wait(lambda: car.meter().state == "hired")
    # A pulse generator on the sensor line: 2 km of pulses as fast as the pin can toggle. Even
    # 200 toggles a second would be 720 km/h, far past the 250 km/h limit.
    pin = car.runtime.devices.pulse_counter.device.pin
    for _ in range(2_000):
        pin.drive_high()
        pin.drive_low()
    assert car.wait(lambda: car.meter().fault is not None)
    car.press("settle", hold_s=0.1)
    assert car.wait(lambda: car.meter().state == "settling")
    car.press("hire", hold_s=0.1)                # clear the settled trip
    assert car.wait(lambda: car.meter().state == "for_hire")


def test_a_fault_is_cleared_only_under_the_seal_and_both_attempts_are_audited(car):
    runtime = _start(car)
    _fault_a_trip(car)
    car.press("hire", hold_s=0.1)
    assert car.wait(lambda: runtime.terminal.cabin.notice is not None)
    assert car.meter().state == "for_hire"          # hiring refused while faulted

    car.press("menu", hold_s=0.6)                   # long press, seal switch not closed
    assert car.wait(lambda: any(r["event"] == "seal_refused" and r["parameter"] == "clear_fault"
                                for r in runtime.audit.records()))
    assert car.meter().fault is not None

    pin = _seal_pin(runtime)
    pin.drive_low()                                   # the switch under the lead seal closed
    assert car.wait(lambda: runtime.terminal.seal.switch_closed)
    car.press("menu", hold_s=0.6)
    assert car.wait(lambda: car.meter().fault is None)
    cleared = [r for r in runtime.audit.records() if r["event"] == "meter_fault_cleared"]
    assert len(cleared) == 1 and "implausible" in cleared[0]["old"]
    assert "meter_fault" not in runtime.terminal.alarm_flags

    car.press("hire", hold_s=0.1)                                # metering works again
    assert car.wait(lambda: car.meter().state == "hired")


def test_a_long_menu_press_without_a_fault_still_shows_the_software_id(car):
    runtime = _start(car)
    car.press("menu", hold_s=0.6)
    assert car.wait(lambda: runtime.terminal.cabin.notice is not None)
    assert runtime.terminal.software_id in runtime.terminal.cabin.notice[0]
    assert not any(r["event"] == "seal_refused" for r in runtime.audit.records())
