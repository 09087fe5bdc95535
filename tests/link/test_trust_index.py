"""The index of issue 11's regression tests in docs/mqtt.md names tests that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHORT = {"T": "tests/link/test_link_trust.py"}


def test_every_test_the_index_names_exists():
    text = (ROOT / "docs" / "mqtt.md").read_text(encoding="utf-8")
    section = text.split("### Regression tests of the link's trust", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if re.match(r"\| (\d+|all) \|", line)]
    assert [row.split("|")[1].strip() for row in rows] == [str(n) for n in range(1, 11)] + ["all"]
    named = re.findall(r"`([\w/.]+)(?:::(\w+))?`", section)
    checked = 0
    for path, name in named:
        path = SHORT.get(path, path)
        if not path.endswith(".py"):
            continue
        source = (ROOT / path).read_text(encoding="utf-8")
        if name:
            assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name} not found"
        checked += 1
    assert checked >= 20
