"""A file of the wrong format where a command wants a configuration, an event file or a message:
one line naming the file, exit status 2, no traceback."""

from pathlib import Path

import pytest

from terminal.cli import main

DEMO_TARIFF = str(Path(__file__).resolve().parents[2] / "sim/data/tariff-demo.toml")


# `taxiterm run` in-process points the root logger at this test's captured stderr (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("keep_the_root_logger")


NOT_TEXT = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4    # a photo, a firmware image: not UTF-8


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(NOT_TEXT)
    return str(path)


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("taxiterm: ") and all(w in err for w in words), err
    return err


@pytest.mark.parametrize("argv", [
    ["run", "--board", "sim", "--config"],
    ["selftest", "--board", "sim", "--display-s", "0", "--config"],
    ["jt", "deregister", "--config"],
    ["calibrate", "--pulses", "4000", "--dry-run", "--config"],
])
def test_a_configuration_that_is_not_text(argv, binary, capsys):
    assert main(argv + [binary]) == 2
    one_line(capsys, binary, "not UTF-8 text")


def test_meter_replay_of_a_binary_event_file_stops_at_the_first_bad_line(binary, tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_bytes(b'{"t_ms": 1795240800000, "pulses": 0}\n{"t_ms": 1795240801000, "key": "hire"}\n' + NOT_TEXT)
    for path, line in ((binary, 1), (events, 3)):
        assert main(["meter", "replay", "--tariff", DEMO_TARIFF, "--events", str(path)]) == 1
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        assert captured.err == f"taxiterm meter replay: line {line}: not UTF-8 text (an event file is JSON lines); " \
                               "nothing after it was applied\n"
        assert captured.out.splitlines()[-1].endswith(f'"error": "line {line}: not UTF-8 text (an event file is JSON lines)"}}')


def test_jt_encode_of_a_missing_or_binary_file(binary, tmp_path, capsys):
    assert main(["jt", "encode", str(tmp_path / "nothere.json")]) == 2
    one_line(capsys, "cannot read message file", "nothere.json", "No such file")
    assert main(["jt", "encode", binary]) == 2
    one_line(capsys, binary, "not UTF-8 text")


def test_emulate_meter_refuses_to_erase_a_file_that_is_not_its_flash(tmp_path, capsys):
    tariff = tmp_path / "tariff.toml"
    tariff.write_bytes(open(DEMO_TARIFF, "rb").read())
    before = tariff.read_bytes()
    assert main(["emulate-meter", "--flash", str(tariff)]) == 2
    one_line(capsys, str(tariff), "is not a meter flash image", "would be erased")
    assert tariff.read_bytes() == before
    assert main(["emulate-meter", "--flash", str(tmp_path)]) == 2
    one_line(capsys, "cannot write meter flash", "it is a directory")


def test_emulate_gnss_replay_of_a_file_without_nmea_is_refused(binary, tmp_path, capsys):
    out = tmp_path / "replayed.nmea"
    assert main(["emulate", "gnss", "--replay", binary, "--write", str(out)]) == 2
    one_line(capsys, binary, "no valid NMEA sentence in it")
    assert not out.exists()
    nmea = tmp_path / "drive.nmea"
    assert main(["emulate", "gnss", "--route", "urban", "--length-m", "200", "--write", str(nmea)]) == 0
    assert main(["emulate", "gnss", "--replay", str(nmea), "--write", str(out)]) == 0
    assert out.read_bytes() == nmea.read_bytes()


@pytest.mark.parametrize("text, items", [("[]", 0), ("[1, 2]", 2)])
def test_receipt_render_of_a_list_that_holds_no_trip_says_so(text, items, tmp_path, capsys):
    """Before: 'holds 2 trip records: choose one with --trip N (trips none)' for [1, 2]."""
    path = tmp_path / "trips.json"
    path.write_text(text)
    assert main(["receipt", "render", str(path), "--plate", "P", "--company", "C", "--driver-cert", "D"]) == 2
    err = one_line(capsys, str(path))
    assert err == f"taxiterm: {path} holds no trip record (a JSON list of {items} item(s), none a trip)\n"


def test_a_scenario_that_is_not_text(binary, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sim", binary, "--virtual", "--out", str(out)]) == 2
    one_line(capsys, binary, "not UTF-8 text")
    assert not out.exists()


def test_scenarios_doc_names_every_bundled_scenario():
    """`taxiterm sim --list` shows fatigue-overspeed; docs/scenarios.md's list of bundled names did not."""
    import re

    from sim import scenario

    doc = (Path(__file__).resolve().parents[2] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- `SCENARIO`: (.*?)(?=^- )", doc, re.M | re.S).group(1)
    assert {p.stem for p in scenario.bundled()} == set(re.findall(r"`([a-z-]+)`", bullet))
