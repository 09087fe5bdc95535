"""A trip and an alarm through the whole terminal, as the driver, passenger and platform see them."""

import json

import pytest

from meter.trip import verify_record
from tests.terminal.harness import TID, Car


@pytest.fixture
def car(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    yield car
    car.close()


def test_street_hail_trip_is_stored_printed_reported_and_signed_on_the_roof(car):
    runtime = car.start()
    assert car.wait(lambda: car.sign.state == "vacant")
    assert car.wait(lambda: car.platform.status(TID) and car.platform.status(TID)["online"])

    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    assert car.wait(lambda: car.sign.state == "occupied")
    car.drive(4000, kmh=40)
    assert car.wait(lambda: car.meter().view()["distance_m"] >= 3990), str((car.meter().view(), runtime.devices.pulse_counter.count, car.meter().totals.as_dict(), car.meter().odometer.snapshot()))
    car.press("settle")
    assert car.wait(lambda: car.meter().state == "settling")
    car.press("extra")          # toll entry: 000.0, the cursor on the tens
    car.press("pause")          # the cursor on the yuan
    car.press("extra")
    car.press("extra")          # 002.0 yuan
    car.press("settle")         # adds the toll
    car.press("hire")           # closes the trip
    assert car.wait(lambda: car.meter().state == "for_hire")

    trips = runtime.storage.trips()
    assert len(trips) == 1
    trip = trips[0]
    assert verify_record(trip)
    assert trip["extras"][-1] == {"label": "路桥费", "amount_fen": 200}
    # 1 km beyond the 3 km start distance at 2.60 yuan/km, maybe a few fen of slow start
    assert 1200 + 260 <= trip["fare_fen"] <= 1200 + 400

    assert car.printer.wait_for_receipts(1, timeout_s=10)
    text = car.printer.text(0)
    assert "浙A·T1234" in text and "12328" in text
    total = f"{trip['total_fen'] // 100}.{trip['total_fen'] % 100:02d}"
    assert total in text

    report = car.platform.wait_for(lambda m: m.kind == "trip", timeout_s=10)
    assert report.valid, report.errors
    assert report.payload["record"]["total_fen"] == trip["total_fen"]
    assert report.payload["record"]["digest"] == trip["digest"]
    assert car.wait(lambda: car.sign.state == "vacant")
    assert car.sign.states()[:3] == ["vacant", "occupied", "vacant"]


def test_hidden_alarm_is_reported_shown_outside_only_and_released_by_the_centre(car):
    runtime = car.start()
    assert car.wait(lambda: car.platform.status(TID) and car.platform.status(TID)["online"])
    assert car.wait(lambda: runtime.terminal.selftest is None)
    frame_before = runtime.terminal.screen()

    car.hold_alarm(0.01)        # 1 s on the scaled clock: a brush, not an alarm
    car.hold_alarm(0.2)         # 20 s, past the 10 s hold: the alarm
    pre = car.platform.wait_for(lambda m: m.kind == "alarm", timeout_s=5)
    assert pre.valid, pre.errors
    assert pre.payload["extra"]["stage"] == "pre_alarm"
    assert pre.payload["alarm"] & 0b11 == 0b11
    # one alarm for the two presses: the brush raised nothing (the alarm's periodic reports,
    # 5 s apart on the 100x clock, may already follow: they are not counted)
    assert [m.payload["extra"]["stage"] for m in car.platform.received("alarm")].count("pre_alarm") == 1
    assert runtime.terminal.screen() == frame_before     # silent in the cabin
    assert car.sign.state == "vacant"

    alarm_id = pre.payload["extra"]["alarm_id"]
    cmd = car.platform.alarm_confirm(TID, alarm_id)
    assert car.platform.wait_ack(cmd)["result"] == 0
    assert car.wait(lambda: car.sign.state == "alarm")
    assert runtime.terminal.screen() == frame_before

    cmd = car.platform.alarm_release(TID, alarm_id)
    assert car.platform.wait_ack(cmd)["result"] == 0
    assert car.wait(lambda: car.sign.state == "vacant")
    stages = [m.payload["extra"]["stage"] for m in car.platform.received("alarm")]
    assert stages[0] == "pre_alarm" and stages[-1] == "released" and "confirmed" in stages
    events = [r["event"] for r in runtime.audit.records()]
    assert "alarm_pressed" in events and "alarm_released" in events


def test_malformed_command_gets_an_error_ack_and_changes_nothing(car):
    runtime = car.start()
    assert car.wait(lambda: car.platform.status(TID) and car.platform.status(TID)["online"])
    def meter_state():
        # the meter's clock ("t") and its speed window's samples move with every pulse sample of the
        # standing car, whatever the machine's speed: everything else must stay as it was
        return json.dumps({k: v for k, v in runtime.terminal.meter.snapshot().items() if k not in ("t", "window")},
                          sort_keys=True)

    before = meter_state()
    cmd = car.platform.send(TID, "alarm_release", {"alarm_id": 12}, cmd_id="bad-1")
    ack = car.platform.wait_ack(cmd)
    assert ack["result"] == 2
    assert meter_state() == before
