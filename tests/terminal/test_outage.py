"""A trip finished while the broker is down reaches the platform afterwards, with its track."""

import pytest

from sim.broker import Gate
from sim.gnss_emulator import nmea_epochs
from sim.gnss_route import drive, urban_route
from tests.terminal.harness import TID, Car


@pytest.fixture
def car(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    car.gate = Gate(mosquitto.port)          # the car's mobile link; the platform stays connected
    car.config["mqtt"]["port"] = car.gate.port
    yield car
    car.close()


def test_trip_closed_in_a_blind_area_is_delivered_after_reconnect_marked_resent(car):
    runtime = car.start()
    assert car.wait(lambda: car.platform.status(TID) and car.platform.status(TID)["online"])
    epochs = [sentences for _, sentences in nmea_epochs(drive(urban_route(1500, seed=4), rate_hz=1), style="ublox")]
    for sentences in epochs[:10]:            # a fix before the passenger boards
        car.gnss_pty.write(sentences)
    assert car.wait(lambda: runtime.terminal.fix is not None)
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    for sentences in epochs[10:50]:
        car.gnss_pty.write(sentences)
    assert car.wait(lambda: runtime.terminal.track and runtime.terminal.track["points"] >= 30)
    car.drive(600)
    car.gate.hold()                          # into a blind area
    car.gate.cut()
    car.press("settle")
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "for_hire")
    trip = runtime.storage.trips()[-1]
    assert car.printer.wait_for_receipts(1)        # the receipt does not wait for the network
    assert runtime.terminal.outbox.pending() >= 1
    car.gate.release()
    report = car.platform.wait_for(lambda m: m.kind == "trip", timeout_s=20)
    assert report.valid, report.errors
    assert report.payload["record"]["digest"] == trip["digest"]
    assert report.payload["resent"] is True
    track = report.payload["track"]
    assert track["points"] >= 30 and 2 <= len(track["polyline"]) <= 65
    assert report.payload["board"]["latitude"] != 0
    assert car.wait(lambda: runtime.terminal.outbox.pending() == 0, timeout_s=10)
