"""The display names what stopped metering: an integrity fault is not shown as a pulse-sensor fault."""

from terminal.app.cabin import fault_code


def test_each_cause_of_a_meter_fault_has_its_own_code():
    assert fault_code("integrity: trip 3 differs from its chain record") == "E-DATA"
    assert fault_code("计价器故障 (meter link): no answer for 10 s") == "E-LINK"
    assert fault_code("implausible speed 720 km/h") == "E-PULSE"
