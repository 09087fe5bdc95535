"""Guard against foreign top-level modules that share our package names.

Debian's python3-gps installs a top-level ``gps`` and Adafruit Blinka a top-level
``board``. The firmware runs from its own virtual environment, whose path puts its
packages first; this check makes any mistake loud instead of letting the terminal
import somebody else's ``gps`` and misbehave later.
"""

import importlib.util
from pathlib import Path

OWN_PACKAGES = ("meter", "gps", "board", "drivers", "printer", "terminal")
OPTIONAL_PACKAGES = ("sim",)     # the simulator: absent on a device that does not ship it


class ForeignModuleError(ImportError):
    pass


def check_own_modules() -> None:
    home = Path(__file__).resolve().parent.parent
    for name in OWN_PACKAGES + OPTIONAL_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:
            spec = None
        if spec is None and name in OPTIONAL_PACKAGES:
            continue
        origin = Path(spec.origin).resolve() if spec and spec.origin else None
        if origin is None or home not in origin.parents:
            raise ForeignModuleError(
                f"module '{name}' resolves to {origin or 'nothing'}, not to the firmware in {home}; "
                "run the terminal from its own virtual environment (see docs/install.md)"
            )
