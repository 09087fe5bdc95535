"""A terminal whose GNSS receiver is missing at boot starts and meters (docs/config.md, docs/gnss.md).

The taximeter meters on the pulse line; a loose USB receiver must cost the position, not the
fare: the terminal starts, shows and reports gnss_fault, and a street hail is metered."""

import pytest

from tests.terminal.harness import Car


@pytest.fixture
def car(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    car.config["board"]["serial"]["gnss"] = str(tmp_path / "taxiterm-gnss")   # nothing plugged in
    yield car
    car.close()


def test_a_missing_receiver_is_a_gnss_fault_not_a_terminal_that_does_not_start(car):
    runtime = car.start()
    terminal = runtime.terminal
    assert car.wait(lambda: car.sign.state == "vacant")
    assert car.wait(lambda: "gnss_fault" in terminal.alarm_flags, 10)
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    car.drive(1000, kmh=40)
    assert car.wait(lambda: car.meter().view()["distance_m"] >= 990)
    assert runtime.threads()["gnss"]


def test_a_missing_rooftop_sign_is_a_sign_fault_and_the_meter_still_meters(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    car.config["board"]["serial"]["sign"] = str(tmp_path / "taxiterm-sign")
    try:
        runtime = car.start()
        terminal = runtime.terminal
        assert car.wait(lambda: "sign_fault" in terminal.alarm_flags, 10)
        car.press("hire")
        assert car.wait(lambda: car.meter().state == "hired")
        car.drive(1000, kmh=40)
        assert car.wait(lambda: car.meter().view()["distance_m"] >= 990)
        assert runtime.threads()["sign"]
        assert not [r for r in runtime.audit.records() if r["event"] == "software_fault"]
    finally:
        car.close()
