"""The tariff and meter documents name every field the code accepts, with its range and default."""

import re
from pathlib import Path

from meter import tariff
from meter.taximeter import DEFAULT_PARAMS

REPO = Path(__file__).resolve().parents[2]


def rows(doc: str, heading: str) -> dict[str, str]:
    """Table rows (first cell -> whole row) of the section starting with ``heading``."""
    text = (REPO / "docs" / doc).read_text(encoding="utf-8")
    start = text.index(heading)
    section = text[start:]
    end = section.find("\n#", 1)
    section = section if end < 0 else section[:end]
    out = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`([a-z_]+)`\s*\|(.*)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def test_every_tariff_field_has_a_documented_range_and_default():
    sections = {
        "## Fields of a `[[tariff]]` table": tariff.TOP_KEYS,
        "`[tariff.waiting]`": tariff.WAITING_KEYS,
        "`[tariff.long_distance]`": tariff.LONG_KEYS,
        "`[tariff.night]`": tariff.NIGHT_KEYS,
        "`[tariff.peak]`": tariff.PEAK_KEYS,
        "`[[tariff.fixed_extras]]`": tariff.EXTRA_KEYS,
    }
    for heading, keys in sections.items():
        found = rows("tariff.md", heading)
        for key in keys:
            if key in ("waiting", "long_distance", "night", "peak", "fixed_extras"):
                continue   # sub-tables: their own sections
            assert key in found, (heading, key)
            cells = [c.strip() for c in found[key].split("|")]
            assert len(cells) >= 3 and cells[0] and cells[1], (heading, key, cells)   # range, default


def test_every_meter_parameter_is_documented_with_its_range_and_default():
    found = rows("meter.md", "## Parameters")
    for key, default in DEFAULT_PARAMS.items():
        assert key in found, key
        cells = [c.strip() for c in found[key].split("|")]
        assert cells[0], (key, "no range")
        assert cells[1].replace(",", "").strip("`") == str(default), (key, cells[1])
