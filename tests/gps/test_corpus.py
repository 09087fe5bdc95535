"""The receiver corpus: logs in the style of three receiver families decode to their expected fixes."""

import json
from pathlib import Path

import pytest

from gps.decoder import AntennaReport, NmeaDecoder
from gps.fix import Fix
from terminal.commands.gnss import fix_json

DATA = Path(__file__).resolve().parent.parent / "data" / "nmea"
LOGS = ("ublox_m8_gn", "mtk3339_gp", "atgm336h_bd")


def decode(data: bytes, parser: str, chunk: int | None = None) -> tuple[list, NmeaDecoder]:
    decoder = NmeaDecoder(parser=parser)
    items = []
    if chunk is None:
        items += decoder.feed(data)
    else:
        for i in range(0, len(data), chunk):
            items += decoder.feed(data[i:i + chunk])
    items += decoder.flush()
    return items, decoder


@pytest.mark.parametrize("parser", ["fast", "pynmea2"])
@pytest.mark.parametrize("name", LOGS)
def test_log_decodes_to_expected_fixes(name, parser):
    expected = json.loads((DATA / f"{name}.json").read_text())
    items, decoder = decode((DATA / f"{name}.nmea").read_bytes(), parser)
    fixes = [fix_json(item) for item in items if isinstance(item, Fix)]
    assert len(fixes) == len(expected["fixes"])
    for got, want in zip(fixes, expected["fixes"], strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, abs=1e-6), (key, got)
            else:
                assert got[key] == value, (key, got)
        # a field the receiver did not give must not be invented
        for key in ("lat", "lon", "speed", "track"):
            assert (key in got) == (key in want), (key, got)
    assert [a.status for a in items if isinstance(a, AntennaReport)] == expected["antenna"]
    stats = decoder.stats.as_dict()
    stats["read"] = stats["sentences"]
    for key, value in expected["stats"].items():
        assert stats[key] == value, key
    assert decoder.stats.outcomes_total() == decoder.stats.sentences


@pytest.mark.parametrize("name", LOGS)
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_reads_of_any_size_give_the_same_fixes(name, chunk):
    data = (DATA / f"{name}.nmea").read_bytes()
    whole, _ = decode(data, "fast")
    pieces, _ = decode(data, "fast", chunk)
    assert [fix_json(f) for f in whole if isinstance(f, Fix)] == [fix_json(f) for f in pieces if isinstance(f, Fix)]
