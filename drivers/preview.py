"""Draw every driver-display screen to PNG files, for the docs and for eyes: ``python -m drivers.preview DIR``.

Each PNG is the panel's own pixels (1 bit) scaled up ``SCALE`` times without smoothing. The
docs' copies (docs/img) are made by ``make docs-images`` (``python -m sim.docs_images``), which
gives the identity screen the software id and tariff id as the terminal really forms them;
tests/sim/test_docs_images.py fails when they are stale.
"""

import sys
from pathlib import Path

from drivers.display import render
from drivers.screens import (
    AllOnScreen,
    FareScreen,
    FaultScreen,
    IdentityScreen,
    NoticeScreen,
    OfferScreen,
    SettleScreen,
    SignedOutScreen,
)

SCALE = 3

SAMPLES = {
    "fare-hired-256": (FareScreen("hired", 2350, 12345, 155_000), 256, ()),
    "fare-for-hire-128": (FareScreen("for_hire", 0, 0, 0), 128, ()),
    "fare-hired-128-paper-out": (FareScreen("hired", 2350, 12345, 155_000), 128, ("缺纸",)),
    "settle-256": (SettleScreen(4550, (("路桥费", 1000), ("燃油附加", 100))), 256, ()),
    "settle-toll-entry-256": (SettleScreen(2250, (("燃油附加费", 100),), ("0255", 3)), 256, ()),
    "signed-out-256": (SignedOutScreen(), 256, ()),
    "offer-256": (OfferScreen("95128-0001", "人民广场地铁站2号口", "乘客带大件行李，请开后备箱"), 256, ()),
    "notice-256": (NoticeScreen("明日8:00起人民路施工封闭，请绕行中山路。"), 256, ()),
    "fault-256": (FaultScreen("计程脉冲中断，计价已停止，请联系维修站", "E21"), 256, ()),
    "self-test-all-on-128": (AllOnScreen(), 128, ()),
    "self-test-identity-128": (IdentityScreen("taxiterm 0.1.0 sha256:3f9a1c", "T2024-03"), 128, ()),
}


def write_all(directory: Path, samples: dict | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (screen, width, warnings) in (samples or SAMPLES).items():
        frame = render(screen, width, 64, warnings).convert("L")
        path = directory / f"display-{name}.png"
        frame.resize((frame.width * SCALE, frame.height * SCALE), 0).save(path)
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m drivers.preview DIR", file=sys.stderr)
        return 2
    for path in write_all(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
