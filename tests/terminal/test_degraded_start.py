"""A terminal whose GNSS receiver or rooftop sign is missing at boot starts and meters
(docs/config.md, docs/gnss.md, docs/sign.md).

The taximeter meters on the pulse line; a loose connector must cost the position or the roof
light, not the fare: the terminal starts, shows and reports the device's fault, and a street
hail is metered."""

import pytest

from tests.terminal.harness import Car


@pytest.mark.parametrize("device, fault", [("gnss", "gnss_fault"), ("sign", "sign_fault")])
def test_a_device_missing_at_boot_is_its_fault_and_the_meter_still_meters(tmp_path, mosquitto, device, fault):
    car = Car(tmp_path, mosquitto)
    car.config["board"]["serial"][device] = str(tmp_path / f"taxiterm-{device}")   # nothing plugged in
    try:
        runtime = car.start()
        terminal = runtime.terminal
        if device != "sign":
            assert car.wait(lambda: car.sign.state == "vacant")
        assert car.wait(lambda: fault in terminal.alarm_flags, 10)
        car.press("hire")
        assert car.wait(lambda: car.meter().state == "hired")
        car.drive(1000, kmh=40)
        assert car.wait(lambda: car.meter().view()["distance_m"] >= 990)
        assert runtime.threads()[device]
        assert not [r for r in runtime.audit.records() if r["event"] == "software_fault"]
    finally:
        car.close()
