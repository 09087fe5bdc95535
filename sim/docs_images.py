"""The documentation's images, drawn from the code: ``python -m sim.docs_images [DIR]`` (``make docs-images``).

In the simulator room because it puts the rooms together: the driver display's screens
(drivers/preview.py) with the identity screen showing the software id as
terminal/trust/identity.py forms it (this version) and the demo tariff's id, as a car
running the demo shows them. Writes into docs/img by default; tests/sim/test_docs_images.py
draws them afresh and compares, so a change to a screen or an id without new images fails.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
ILLUSTRATIVE_DIGEST = "3f2a9c1b" * 8       # the meter code's digest changes with the code; the form does not


def samples() -> dict:
    import terminal
    from drivers.preview import SAMPLES
    from drivers.screens import IdentityScreen
    from sim.provision import DEMO_TARIFF
    from terminal.trust.identity import software_id

    tariff_id = tomllib.loads(DEMO_TARIFF.read_text(encoding="utf-8"))["tariff"][0]["id"]
    out = dict(SAMPLES)
    _, width, warnings = out["self-test-identity-128"]
    out["self-test-identity-128"] = (IdentityScreen(software_id(terminal.__version__, ILLUSTRATIVE_DIGEST), tariff_id),
                                     width, warnings)
    return out


def write(directory: Path = DOCS_IMG) -> list[Path]:
    from drivers.preview import write_all
    return write_all(directory, samples())


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else DOCS_IMG
    for path in write(directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
