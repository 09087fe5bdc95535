"""Board profiles: every board resolves, overrides merge, and a wrong profile is refused by name."""

import subprocess
import sys

import pytest
from gpiozero import Button
from gpiozero.pins.mock import MockFactory

from board.pins import make_pin_factory
from board.profiles import KEY_NAMES, BoardError, board_names, load_board, load_board_table

BOARDS = ["cm4", "pi4", "pi5", "sim", "zero2w"]


def test_every_supported_board_is_known():
    assert board_names() == BOARDS


@pytest.mark.parametrize("name", BOARDS)
def test_profile_has_every_key_input_and_serial_port(name):
    profile = load_board(name)
    assert set(profile.keys) == set(KEY_NAMES)
    assert set(profile.inputs) == {"alarm_a", "alarm_b", "pulse", "seal", "ignition"}
    assert set(profile.serial) == {"gnss", "sign", "printer"}
    pins = list(profile.keys.values()) + list(profile.inputs.values())
    assert len(pins) == len(set(pins))


def test_pi5_uses_lgpio_and_sim_uses_mock_pins_and_dummy_display():
    assert load_board("pi5").pin_factory == "lgpio"
    sim = load_board("sim")
    assert sim.pin_factory == "mock"
    assert sim.display.kind == "dummy"


def test_unknown_board_is_named():
    with pytest.raises(BoardError, match="unknown board 'pi6'"):
        load_board("pi6")


def test_override_moves_a_key_and_a_serial_port():
    profile = load_board("pi4", {"keys": {"hire": 18}, "serial": {"sign": "/dev/ttyAMA3"}})
    assert profile.keys["hire"] == 18
    assert profile.keys["pause"] == 6
    assert profile.serial["sign"] == "/dev/ttyAMA3"
    assert load_board("pi4").keys["hire"] == 5  # the stored profile is untouched


def test_pin_used_twice_names_both_uses():
    with pytest.raises(BoardError, match=r"GPIO 17 used twice: keys.hire and inputs.alarm_a"):
        load_board("pi4", {"keys": {"hire": 17}})


def test_key_on_the_display_bus_is_a_clash():
    with pytest.raises(BoardError, match=r"GPIO 3 used twice: keys.menu and display \(i2c-1\)"):
        load_board("pi4", {"keys": {"menu": 3}})


def test_key_on_the_gnss_uart_is_a_clash():
    with pytest.raises(BoardError, match=r"GPIO 14 used twice"):
        load_board("pi4", {"inputs": {"seal": 14}})


@pytest.mark.parametrize("value", ["", None, 0])
def test_missing_serial_port_is_named(value):
    with pytest.raises(BoardError, match="missing serial port 'printer'"):
        load_board("pi5", {"serial": {"printer": value}})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"keys": {"horn": 4}}, "unknown board setting 'keys.horn'"),
        ({"speakers": {"x": 1}}, "unknown board setting 'speakers'"),
        ({"keys": {"hire": 40}}, "keys.hire = 40 is not a GPIO"),
        ({"keys": {"hire": "5"}}, "keys.hire must be a BCM GPIO number"),
        ({"pin_factory": "wiringpi"}, "pin_factory must be one of"),
        ({"display": {"kind": "lcd"}}, "display.kind must be one of"),
    ],
)
def test_bad_overrides_are_refused_with_a_clear_message(overrides, message):
    with pytest.raises(BoardError, match=message):
        load_board("pi4", overrides)


def test_config_table_selects_the_board_by_name():
    profile = load_board_table({"name": "zero2w", "inputs": {"pulse": 18}})
    assert profile.name == "zero2w" and profile.inputs["pulse"] == 18
    with pytest.raises(BoardError, match="needs name"):
        load_board_table({"keys": {}})


def test_sim_pin_factory_drives_a_button():
    factory = make_pin_factory(load_board("sim"))
    assert isinstance(factory, MockFactory)
    button = Button(5, pin_factory=factory)
    factory.pin(5).drive_low()
    assert button.is_pressed
    button.close()


def test_missing_gpio_backend_is_a_board_error():
    try:
        import lgpio  # noqa: F401
    except ImportError:
        with pytest.raises(BoardError, match="lgpio GPIO backend"):
            make_pin_factory(load_board("pi5"))
    else:
        pytest.skip("lgpio is installed here")


def test_board_show_command_prints_the_resolved_profile():
    out = subprocess.run([sys.executable, "-m", "terminal", "board", "show", "sim", "--set", "keys.hire=18"],
                         capture_output=True, text=True, check=True).stdout
    assert '"hire": 18' in out
    bad = subprocess.run([sys.executable, "-m", "terminal", "board", "show", "pi4", "--set", "keys.hire=2"],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "GPIO 2 used twice" in bad.stderr
