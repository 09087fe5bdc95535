"""The platform as witness (issue: metrological integrity): each trip report carries the trip's
signed witness (its digest bound to the chain record that stored it), and every location and
health report carries the chain's head, so a platform holds what `taxiterm inspect
--platform-head` compares a device against."""

import pytest

from sim.broker import Broker
from terminal.trust.ledger import verify_trip_witness
from tests.terminal.harness import TID, Car


@pytest.fixture
def car(tmp_path):
    with Broker() as broker:
        c = Car(tmp_path, broker)
        try:
            yield c
        finally:
            c.close()


def test_trip_reports_carry_a_signed_witness_and_every_location_report_the_chain_head(car):
    runtime = car.start()
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    car.drive(300)
    car.press("settle")
    car.press("hire")
    trips = car.platform.wait_for(lambda m: m.kind == "trip", timeout_s=10)
    assert trips is not None and trips.valid
    witness = trips.payload["witness"]
    record = trips.payload["record"]
    verify_trip_witness(runtime.state.device_public(), witness, record)
    assert witness["trip_no"] == record["trip_no"] == 1
    stored = [r for r in runtime.audit.records() if r["counter"] == witness["chain_counter"]]
    assert stored and stored[0]["hash"] == witness["chain_hash"]

    after = car.platform.wait_for(lambda m: m.kind == "location" and
                                  m.payload["extra"]["chain"]["counter"] >= witness["chain_counter"], timeout_s=10)
    assert after is not None and after.valid
    head = after.payload["extra"]["chain"]
    assert [r["hash"] for r in runtime.audit.records() if r["counter"] == head["counter"]] == [head["hash"]]
    assert car.platform.status(TID)["online"]
