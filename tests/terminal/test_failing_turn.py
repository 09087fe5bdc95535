"""A defect in one part of the loop's turn does not stop the terminal (docs/powerfail.md).

The loop's ``periodic`` runs the desks one after another; an exception in one of them (a payload
builder meeting a value it was not written for, say) must not end the loop — nor keep the other
desks, the meter's snapshot among them, from their turn — and must not fill the audit trail
at five turns a second: one ``software_fault`` record while the fault lasts."""

import pytest

from tests.terminal.harness import Car


@pytest.fixture
def car(tmp_path, mosquitto):
    car = Car(tmp_path, mosquitto)
    yield car
    car.close()


def test_a_desk_failing_at_every_turn_leaves_the_meter_metering_and_one_audit_record(car):
    runtime = car.start()
    terminal = runtime.terminal
    assert car.wait(lambda: car.sign.state == "vacant")
    reporting_periodic = terminal.reporting.periodic
    turns = []

    def broken(now):
        turns.append(now)
        raise ValueError("a report the builder cannot make")

    terminal.reporting.periodic = broken
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "hired")
    car.drive(4000, kmh=40)
    assert car.wait(lambda: car.meter().view()["distance_m"] >= 3990)
    assert len(turns) > 5                      # the loop kept turning through the fault
    assert runtime.threads()["loop"]
    # the snapshot, which comes after reporting in the turn, still follows the meter
    assert car.wait(lambda: terminal.metering._saved_content is not None
                    and b'"hired"' in terminal.metering._saved_content[0])
    faults = [r for r in runtime.audit.records() if r["event"] == "software_fault"]
    assert [(r["parameter"], r["new"]) for r in faults] == [("periodic.reporting", "exception in the loop's turn (see log)")]

    terminal.reporting.periodic = reporting_periodic        # the fault clears: reports flow again
    car.press("settle")
    car.press("hire")
    assert car.wait(lambda: car.meter().state == "for_hire")
    assert car.wait(lambda: car.platform.received("trip"), 10)


def test_a_place_that_fails_again_after_it_worked_is_a_new_fault_and_a_failing_trail_is_survived():
    from terminal.app.turn_faults import TurnFaults
    audited = []
    faults = TurnFaults(lambda *record: audited.append(record))
    for _ in range(100):
        try:
            raise ValueError("x")
        except ValueError:
            faults.failed("periodic.reporting", "what")
    assert audited == [("software_fault", "periodic.reporting", None, "what")]
    assert faults.failing == {"periodic.reporting": 100}
    faults.worked("periodic.reporting")
    assert faults.failing == {}
    try:
        raise ValueError("again")
    except ValueError:
        faults.failed("periodic.reporting", "what")
    assert len(audited) == 2

    def broken_trail(*record):
        raise OSError("disk full")
    faults = TurnFaults(broken_trail)
    try:
        raise ValueError("x")
    except ValueError:
        faults.failed("fix", "what")          # does not raise
    assert faults.failing == {"fix": 1}
