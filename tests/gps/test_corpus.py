"""The receiver corpus: logs in the style of three receiver families decode to their expected fixes."""

import json
from pathlib import Path

import pytest

from gps.decoder import AntennaReport, NmeaDecoder
from gps.fix import Fix
from terminal.cli.commands.gnss import fix_json

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


def _corpus_lines() -> list[bytes]:
    lines = []
    for name in LOGS:
        lines += (DATA / f"{name}.nmea").read_bytes().splitlines(keepends=True)
    return lines


@pytest.mark.parametrize("parser", ["fast", "pynmea2"])
def test_whole_pipeline_survives_shuffled_and_damaged_corpus(parser):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    lines = _corpus_lines()

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.one_of(st.sampled_from(lines), st.binary(max_size=30)), max_size=40),
           st.integers(0, 255), st.data())
    def run(parts, flip, data):
        stream = bytearray(b"".join(parts))
        if stream:
            stream[data.draw(st.integers(0, len(stream) - 1))] ^= flip  # one damaged byte somewhere
        decoder = NmeaDecoder(parser=parser)
        items = decoder.feed(bytes(stream)) + decoder.flush()
        stats = decoder.stats
        assert stats.sentences == stats.outcomes_total()
        fixes = [item for item in items if isinstance(item, Fix)]
        assert stats.fixes == len(fixes)
        times = [f.time_ms for f in fixes if f.time_ms is not None]
        assert times == sorted(times)
        assert all(-90 <= f.lat <= 90 and -180 <= f.lon <= 180 for f in fixes if f.positioned)

    run()
