"""K has one source on a vehicle: the calibration under the seal. The configuration's [meter] k
serves the sim board only; a terminal on a real board that was never calibrated refuses to meter,
visibly and reported, instead of quietly metering with a number from a text file."""

from drivers.screens import FaultScreen
from terminal.app.loop import Devices
from terminal.app.runtime import Runtime
from tests.integrity.conftest import StepClock, make_config


def _runtime(state, board, t_ms):
    return Runtime(make_config(state), board, clock=StepClock(t_ms + 1000), devices=Devices())


def test_an_uncalibrated_vehicle_board_refuses_to_meter_and_says_why(vehicle):
    state, t_ms = vehicle             # provisioned, tariff installed, never calibrated
    rt = _runtime(state, "pi4", t_ms)
    term = rt.terminal
    assert "not calibrated" in term.metering.refused
    screen = term.screen()
    while term.selftest is not None and not isinstance(screen, FaultScreen):
        term.cabin.selftest = None
        screen = term.screen()
    assert isinstance(screen, FaultScreen) and screen.code == "E-CAL"
    rt.storage.close()


def test_the_sim_board_meters_with_the_configured_k_and_a_vehicle_calibrated_under_the_seal_with_its_own(vehicle):
    from terminal.cli import main
    from terminal.trust import keys
    from tests.technician.conftest import set_switch
    state, t_ms = vehicle
    rt = _runtime(state, "sim", t_ms)
    assert rt.terminal.metering.refused is None
    rt.storage.close()
    set_switch(keys.DeviceState(state), True)          # the technician, under the seal
    assert main(["calibrate", "--distance-m", "1000", "--pulses", "2000", "--state", str(state)]) == 0
    rt = _runtime(state, "pi4", t_ms + 60_000)
    assert rt.terminal.metering.refused is None
    assert rt.terminal.meter.fault is None
    rt.storage.close()
