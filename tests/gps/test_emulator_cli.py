"""The emulator (routes, faults, replay) and the ``taxiterm gnss`` command line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gps.decoder import decode_bytes
from sim.gnss_emulator import nmea_epochs, replay_epochs
from sim.gnss_route import Route, drive, urban_route
from terminal.cli import main

DATA = Path(__file__).resolve().parent.parent / "data" / "nmea"
ROOT = Path(__file__).resolve().parents[2]


def test_generator_is_reproducible_and_honours_rate_and_faults():
    samples = list(drive(urban_route(800, seed=4), 5.0))
    first = list(nmea_epochs(samples, seed=9, dropouts=[(10, 2)], silences=[(20, 1)], talker="GB"))
    assert first == list(nmea_epochs(samples, seed=9, dropouts=[(10, 2)], silences=[(20, 1)], talker="GB"))
    times = [t for t, _ in first]
    assert times[1] - times[0] == 200  # 5 Hz
    assert not any(20_000 <= t < 21_000 for t in times)
    fixes, stats = decode_bytes(b"".join(data for _, data in first))
    assert stats.checksum_rejected == stats.malformed == stats.unknown == 0
    assert {f.talker for f in fixes} == {"GB"}
    lost = [f for f in fixes if not f.positioned]
    assert len(lost) == 10  # 2 s at 5 Hz


def test_route_truth_ends_at_the_route_length():
    route = urban_route(2500, seed=7)
    samples = list(drive(route, 1.0))
    assert samples[-1].distance_m == pytest.approx(route.length_m, abs=0.01)
    assert samples[-1].speed_mps == 0.0
    assert Route.from_json(route.to_json()).length_m == pytest.approx(route.length_m, abs=0.05)
    with pytest.raises(ValueError, match="bad route file"):
        Route.from_json('{"waypoints": [{"lat": 95, "lon": 0}]}')


def test_replay_keeps_the_log_timing():
    epochs = list(replay_epochs((DATA / "ublox_m8_gn.nmea").read_bytes()))
    assert [t for t, _ in epochs] == [0, 1000, 2000, 3000, 4000]
    assert b"".join(d for _, d in epochs) == (DATA / "ublox_m8_gn.nmea").read_bytes()


def test_decode_command_prints_tpv_lines_and_counts(capsys):
    assert main(["gnss", "decode", str(DATA / "mtk3339_gp.nmea")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["class"] for line in lines] == ["TPV"] * 5 + ["STATS"]
    assert lines[2]["lat"] == pytest.approx(22.541393333) and lines[2]["speed"] == pytest.approx(7.362)
    assert lines[-1]["read"] == 29 and lines[-1]["missing_checksum"] == 1 and lines[-1]["fixes"] == 5


def test_decode_command_bad_source_is_a_one_line_error(capsys):
    assert main(["gnss", "decode", "/nonexistent.nmea"]) == 2
    assert main(["gnss", "decode", "/dev/no-such-gnss"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("taxiterm: ") for line in err)


def test_emulate_then_decode_through_a_pty(tmp_path):
    route = tmp_path / "route.json"
    route.write_text(urban_route(400, seed=2).to_json())
    emulator = subprocess.Popen([sys.executable, "-m", "terminal", "emulate", "gnss", "--route", str(route),
                                 "--speed", "20", "--style", "mtk", "--loop"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        path = emulator.stdout.readline().strip()
        assert path.startswith("/dev/")
        decoded = subprocess.run([sys.executable, "-m", "terminal", "gnss", "decode", path, "--fixes", "5", "--seconds", "40"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        emulator.terminate()
        stopped = emulator.wait(10)
    # a service manager stops the emulator with SIGTERM: a clean stop, not a kill
    assert stopped == 0, emulator.stderr.read()
    lines = [json.loads(line) for line in decoded.stdout.splitlines()]
    assert decoded.returncode == 0, decoded.stderr
    assert [line["class"] for line in lines] == ["TPV"] * 5 + ["STATS"]
    assert all(line["mode"] == 3 for line in lines[:5])


def test_looped_route_keeps_receiver_time_moving_on():
    from itertools import islice

    from sim.commands.emulate import _route_epochs
    route = urban_route(300, seed=5)
    laps = len(list(drive(route, 1.0)))
    epochs = list(islice(_route_epochs(route, 1.0, 1, True, {}), 3 * laps))
    assert [t for t, _ in epochs] == [1000 * i for i in range(3 * laps)]
    fixes, stats = decode_bytes(b"".join(data for _, data in epochs))
    assert stats.fixes_rejected == 0 and len(fixes) == 3 * laps


def test_emulate_write_and_bad_options(tmp_path, capsys):
    out = tmp_path / "drive.nmea"
    assert main(["emulate", "gnss", "--route", "urban", "--length-m", "300", "--write", str(out),
                 "--antenna", "5:3:short", "--jump", "10:1:80"]) == 0
    fixes, stats = decode_bytes(out.read_bytes())
    assert fixes and stats.sentences == stats.parsed
    assert main(["emulate", "gnss", "--route", "urban", "--antenna", "5:3:melted"]) == 2
    assert main(["emulate", "gnss", "--route", "urban", "--rate", "20"]) == 2
    assert "expected START:SECONDS:open|short" in capsys.readouterr().err
