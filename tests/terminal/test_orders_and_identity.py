"""On-call orders through the whole terminal; the power-on self-test; a falsified meter refused."""

import shutil
import time

import pytest

from drivers.screens import AllOnScreen, FaultScreen, IdentityScreen, OfferScreen
from terminal.app.runtime import Runtime
from tests.terminal.harness import TID, Car


@pytest.fixture
def car(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    yield car
    car.close()


def online(car):
    return car.wait(lambda: car.platform.status(TID) and car.platform.status(TID)["online"])


def test_accepted_order_puts_on_call_on_the_roof_and_the_trip_carries_the_order_id(car):
    runtime = car.start()
    assert online(car)
    cmd = car.platform.order_offer(TID, "95128-0007", address="火车站东广场", text="两位乘客", answer_s=300)
    assert car.platform.wait_ack(cmd)["result"] == 0
    assert car.wait(lambda: isinstance(runtime.terminal.screen(), OfferScreen))
    assert runtime.terminal.screen().pickup == "火车站东广场"
    car.press("accept")
    assert car.wait(lambda: car.sign.state == "on_call")
    accepted = car.platform.wait_for(lambda m: m.kind == "order" and m.payload.get("event") == "accepted")
    assert accepted.valid, accepted.errors

    car.press("hire")
    assert car.wait(lambda: car.sign.state == "occupied")
    car.drive(800)
    car.press("settle")
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "for_hire")
    trip = runtime.storage.trips()[-1]
    assert trip["order_id"] == "95128-0007"
    done = car.platform.wait_for(lambda m: m.kind == "order" and m.payload.get("event") == "completed")
    assert done.payload["order_id"] == "95128-0007"
    assert car.wait(lambda: car.sign.state == "vacant")


def test_offer_to_an_occupied_taxi_is_refused_and_changes_nothing(car):
    runtime = car.start()
    assert online(car)
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    cmd = car.platform.order_offer(TID, "95128-0008")
    ack = car.platform.wait_ack(cmd)
    assert ack["result"] == 4 and "occupied" in ack["reason"]
    assert runtime.terminal.orders.state == "idle"
    assert car.sign.state == "occupied"


class StillClock:
    """A clock that stands still until the test moves it: what the display shows at each
    moment of the self-test does not depend on how fast this machine is."""

    def __init__(self, start_ms: int = 1795140000000) -> None:
        self.now = start_ms

    def __call__(self) -> int:
        return self.now


def test_power_on_self_test_lights_every_pixel_then_shows_the_software_id(car):
    clock = car.clock = StillClock()
    runtime = car.start()
    display = runtime.devices.display
    assert car.wait(lambda: isinstance(display.screen, AllOnScreen))
    clock.now += 2999
    time.sleep(0.3)                     # several loop turns at 2.999 s: still all on
    assert isinstance(display.screen, AllOnScreen)
    clock.now += 1
    assert car.wait(lambda: isinstance(display.screen, IdentityScreen))
    assert display.screen.software_id == runtime.identity.software_id


def test_falsified_meter_code_refuses_metering_but_keeps_the_alarm(car, tmp_path):
    code = tmp_path / "code"
    shutil.copytree(__import__("meter").__path__[0], code / "meter")
    fare = code / "meter" / "fare.py"
    fare.write_text(fare.read_text(encoding="utf-8").replace("self.base_m += charged", "self.base_m += 2 * charged"))
    car.runtime = Runtime(car.config, "sim", clock=car.clock, code_root=code)
    car.runtime.start()
    assert car.runtime.ready.wait(10)
    terminal = car.runtime.terminal
    assert not car.runtime.identity.ok and "meter/fare.py" in car.runtime.identity.reason
    assert car.wait(lambda: terminal.selftest is None)
    assert isinstance(terminal.screen(), FaultScreen)
    car.press("hire")
    time.sleep(0.2)
    assert car.meter().state == "for_hire"
    assert online(car)
    car.hold_alarm(0.2)
    alarm = car.platform.wait_for(lambda m: m.kind == "alarm")
    assert alarm.payload["extra"]["stage"] == "pre_alarm"
    health = car.platform.wait_for(lambda m: m.kind == "health", timeout_s=8)
    assert health.payload["devices"]["meter"]["ok"] is False


def test_a_stored_calibration_sets_k_at_start(car):
    from terminal.storage.database import Storage
    store = Storage(car.tmp / "state" / "terminal.db")
    store.kv_set("calibration", '{"k": 2000, "calibrated_ms": 1795000000000}')
    store.close()
    runtime = car.start()
    assert car.wait(lambda: car.meter().odometer.k == 2000)
    assert any(r["event"] == "k_applied" for r in runtime.audit.records())
    car.press("hire")
    car.drive(1000)                  # 1000 pulses at K = 2000: 500 m
    assert car.wait(lambda: car.meter().view()["distance_m"] == 500)


def test_ignition_off_and_on_is_a_dip_that_resumes_the_trip(car):
    runtime = car.start()
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    pin = runtime.devices.inputs[3].device.pin
    pin.drive_low()      # supply present (active low)
    pin.drive_high()     # supply gone
    assert car.wait(lambda: not car.meter().powered)
    time.sleep(0.02)     # 2 s on the meter's clock: below dip_ms
    pin.drive_low()
    assert car.wait(lambda: car.meter().powered)
    assert car.meter().state == "hired"
    assert any(r["event"] == "power" for r in runtime.audit.records())
