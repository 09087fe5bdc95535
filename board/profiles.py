"""Board profiles: the pins, serial ports, pin factory and display each supported board hands the drivers.

The profiles live in ``profiles.toml`` beside this module. ``load_board(name, overrides)`` picks one,
merges the ``[board]`` table of the terminal's config file over it and checks the result: an unknown
board, an unknown setting, a pin used twice or a missing serial port is a ``BoardError`` naming it,
raised at start, before any device is opened.
"""

import copy
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROFILES_FILE = Path(__file__).resolve().parent / "profiles.toml"

KEY_NAMES = ("hire", "pause", "settle", "print", "extra", "sign", "accept", "reject", "menu")
INPUT_NAMES = ("alarm_a", "alarm_b", "pulse", "seal", "ignition")
SERIAL_NAMES = ("gnss", "sign", "printer")
PIN_FACTORIES = ("lgpio", "rpigpio", "pigpio", "native", "mock")
DISPLAY_KINDS = ("ssd1306", "ssd1322", "dummy")
TOP_LEVEL = ("description", "pin_factory", "pulse_counter", "keys", "inputs", "serial", "display")
DISPLAY_FIELDS = {
    "ssd1306": {"kind", "bus", "port", "address", "width", "height", "dc", "reset", "device"},
    "ssd1322": {"kind", "bus", "port", "address", "width", "height", "dc", "reset", "device"},
    "dummy": {"kind", "width", "height", "bus"},
}
HEADER_GPIOS = range(0, 28)  # BCM numbers present on the 40-pin header

# Header pins a bus takes once it is in use, so a key wired there is a clash, not a surprise.
_I2C_PINS = {0: (0, 1), 1: (2, 3)}
_SPI_PINS = {0: (9, 10, 11), 1: (19, 20, 21)}
_SPI_CE = {0: (8, 7), 1: (18, 17, 16)}
_HEADER_UARTS = ("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0")


class BoardError(ValueError):
    """A board profile that cannot be used as given; the message names what is wrong."""


@dataclass(frozen=True)
class DisplaySpec:
    kind: str
    width: int
    height: int
    bus: str = ""
    port: int = 0
    address: int = 0
    device: int = 0
    dc: int | None = None
    reset: int | None = None


@dataclass(frozen=True)
class BoardProfile:
    name: str
    description: str
    pin_factory: str
    keys: dict
    inputs: dict
    serial: dict
    display: DisplaySpec
    pulse_counter: str = ""

    def as_dict(self) -> dict:
        display = {k: v for k, v in self.display.__dict__.items() if v not in (None, "")}
        return {
            "name": self.name,
            "description": self.description,
            "pin_factory": self.pin_factory,
            "pulse_counter": self.pulse_counter,
            "keys": dict(self.keys),
            "inputs": dict(self.inputs),
            "serial": dict(self.serial),
            "display": display,
        }


def _read_profiles() -> dict:
    with PROFILES_FILE.open("rb") as f:
        return tomllib.load(f)


def board_names() -> list[str]:
    return sorted(_read_profiles())


def _merge(base: dict, overrides: dict, where: str) -> dict:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        path = f"{where}.{key}" if where else key
        if isinstance(value, dict):
            if key not in merged or not isinstance(merged[key], dict):
                raise BoardError(f"unknown board setting '{path}'")
            merged[key] = _merge(merged[key], value, path)
        else:
            merged[key] = value
    return merged


def _pin(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BoardError(f"{where} must be a BCM GPIO number, got {value!r}")
    if value not in HEADER_GPIOS:
        raise BoardError(f"{where} = {value} is not a GPIO on the 40-pin header (0-27)")
    return value


def _int(value, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BoardError(f"{where} must be an integer {low}..{high}, got {value!r}")
    return value


def _check_names(table: dict, allowed: tuple, section: str, required: bool) -> None:
    if not isinstance(table, dict):
        raise BoardError(f"board setting '{section}' must be a table")
    for key in table:
        if key not in allowed:
            raise BoardError(f"unknown board setting '{section}.{key}' (known: {', '.join(allowed)})")
    if required:
        for key in allowed:
            if key not in table:
                raise BoardError(f"board setting '{section}.{key}' is missing")


def _display(table: dict) -> DisplaySpec:
    if not isinstance(table, dict):
        raise BoardError("board setting 'display' must be a table")
    kind = table.get("kind")
    if kind not in DISPLAY_KINDS:
        raise BoardError(f"display.kind must be one of {', '.join(DISPLAY_KINDS)}, got {kind!r}")
    for key in table:
        if key not in DISPLAY_FIELDS[kind]:
            raise BoardError(f"unknown board setting 'display.{key}' for a {kind} display")
    width = _int(table.get("width"), "display.width", 8, 1024)
    height = _int(table.get("height"), "display.height", 8, 1024)
    if kind == "dummy":
        return DisplaySpec(kind=kind, width=width, height=height, bus=table.get("bus", ""))
    bus = table.get("bus")
    if bus == "i2c":
        port = _int(table.get("port", 1), "display.port", 0, 1)
        address = _int(table.get("address", 0x3C), "display.address", 0x03, 0x77)
        return DisplaySpec(kind=kind, width=width, height=height, bus=bus, port=port, address=address)
    if bus == "spi":
        port = _int(table.get("port", 0), "display.port", 0, 1)
        device = _int(table.get("device", 0), "display.device", 0, len(_SPI_CE[port]) - 1)
        dc = _pin(table.get("dc"), "display.dc")
        reset = _pin(table.get("reset"), "display.reset")
        return DisplaySpec(kind=kind, width=width, height=height, bus=bus, port=port, device=device,
                           dc=dc, reset=reset)
    raise BoardError(f"display.bus must be 'i2c' or 'spi' for a {kind} display, got {bus!r}")


def _pin_uses(profile: BoardProfile) -> list[tuple[int, str]]:
    uses = [(pin, f"keys.{name}") for name, pin in profile.keys.items()]
    uses += [(pin, f"inputs.{name}") for name, pin in profile.inputs.items()]
    d = profile.display
    if d.bus == "i2c":
        uses += [(pin, f"display (i2c-{d.port})") for pin in _I2C_PINS[d.port]]
    elif d.bus == "spi":
        uses += [(pin, f"display (spi{d.port})") for pin in _SPI_PINS[d.port]]
        uses.append((_SPI_CE[d.port][d.device], f"display (spi{d.port} CE{d.device})"))
        uses += [(d.dc, "display.dc"), (d.reset, "display.reset")]
    for name, port in profile.serial.items():
        if port in _HEADER_UARTS:
            uses += [(14, f"serial.{name} ({port} TXD)"), (15, f"serial.{name} ({port} RXD)")]
    return uses


def _check_pins_once(profile: BoardProfile) -> None:
    seen: dict[int, str] = {}
    for pin, use in _pin_uses(profile):
        if pin in seen:
            raise BoardError(f"GPIO {pin} used twice: {seen[pin]} and {use}")
        seen[pin] = use


def load_board(name: str, overrides: dict | None = None) -> BoardProfile:
    """The named profile with ``overrides`` (the config file's [board] table, minus ``name``) merged in."""
    profiles = _read_profiles()
    if name not in profiles:
        raise BoardError(f"unknown board '{name}' (known: {', '.join(sorted(profiles))})")
    if overrides is not None and not isinstance(overrides, dict):
        raise BoardError("board overrides must be a table")
    raw = _merge(profiles[name], overrides or {}, "")
    _check_names(raw, TOP_LEVEL, "board", required=False)
    _check_names(raw.get("keys", {}), KEY_NAMES, "keys", required=True)
    _check_names(raw.get("inputs", {}), INPUT_NAMES, "inputs", required=True)
    serial = raw.get("serial", {})
    _check_names(serial, SERIAL_NAMES, "serial", required=False)
    for port in SERIAL_NAMES:
        value = serial.get(port)
        if not isinstance(value, str) or not value.strip():
            raise BoardError(f"missing serial port '{port}' (serial.{port} must be a device path or pyserial URL)")
    factory = raw.get("pin_factory")
    if factory not in PIN_FACTORIES:
        raise BoardError(f"pin_factory must be one of {', '.join(PIN_FACTORIES)}, got {factory!r}")
    counter = raw.get("pulse_counter", "")
    if not isinstance(counter, str):
        raise BoardError(f"pulse_counter must be a path or \"\", got {counter!r}")
    profile = BoardProfile(
        name=name,
        description=str(raw.get("description", "")),
        pin_factory=factory,
        keys={k: _pin(v, f"keys.{k}") for k, v in raw["keys"].items()},
        inputs={k: _pin(v, f"inputs.{k}") for k, v in raw["inputs"].items()},
        serial={k: serial[k] for k in SERIAL_NAMES},
        display=_display(raw.get("display")),
        pulse_counter=counter,
    )
    _check_pins_once(profile)
    return profile


def load_board_table(table: dict) -> BoardProfile:
    """The profile a config file's ``[board]`` table describes: ``name = "pi4"`` plus any overrides."""
    if not isinstance(table, dict) or "name" not in table:
        raise BoardError("the [board] table needs name = one of " + ", ".join(board_names()))
    overrides = {k: v for k, v in table.items() if k != "name"}
    return load_board(table["name"], overrides)
