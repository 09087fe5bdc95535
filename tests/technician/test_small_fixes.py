"""Small things a technician tripped over: a non-NMEA file decoded silently, a calibration drive with no
live count, simulation outputs written into the working directory by default."""

import io
import time

import pytest

from terminal.cli import main
from terminal.cli.commands.calibrate import live_count


def test_gnss_decode_of_a_file_without_nmea_fails_and_says_so(tmp_path, capsys):
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(bytes(range(256)) * 8)
    assert main(["gnss", "decode", str(junk)]) == 1
    err = capsys.readouterr().err
    assert "no valid NMEA sentence" in err and str(junk) in err


def test_calibration_shows_the_pulses_while_driving_the_course():
    class Counter:
        count = 100

    counter = Counter()

    def drive() -> None:              # the technician drives; pulses arrive; Enter at the finish
        for _ in range(6):
            counter.count += 50
            time.sleep(0.05)

    stream = io.StringIO()
    live_count(counter, drive, stream, every_s=0.1)()
    shown = [part.strip() for part in stream.getvalue().split("\r") if part.strip()]
    assert shown and all(line.endswith("pulses so far") for line in shown)
    counts = [int(line.split()[0]) for line in shown]
    assert counts == sorted(counts) and counts[-1] <= 300


def test_sim_without_out_writes_under_the_temp_dir_not_the_working_directory(tmp_path, monkeypatch):
    import sim.commands.sim as sim_command

    seen = {}

    def fake_run(sc, out, **kwargs):
        seen["out"] = out
        return {"ok": True}

    monkeypatch.setattr(sim_command, "run_scenario", fake_run)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert main(["sim", "demo"]) == 0
    assert seen["out"].parent == tmp_path / "tmp" and seen["out"].name.startswith("taxiterm-sim-demo-")
    assert list(tmp_path.iterdir()) == [tmp_path / "tmp"]


def test_selftest_on_loopback_ports_says_to_name_the_devices(tmp_path, capsys):
    config = tmp_path / "sim.toml"
    config.write_text("[mqtt]\nhost = \"127.0.0.1\"\nport = 1\n")
    assert main(["selftest", "--board", "sim", "--config", str(config), "--display-s", "0",
                 "--skip", "mqtt", "--skip", "display", "--skip", "pulse"]) == 1
    out = capsys.readouterr().out
    assert out.count("loop:// is a loopback") == 3 and "malformed" not in out
    assert "taxiterm bench up" in out


def test_calibrate_on_a_board_whose_gpio_backend_is_missing_says_so_in_one_line(state, capsys, monkeypatch):
    import board.pins
    from board.profiles import BoardError

    def no_backend(profile):
        raise BoardError(f"board '{profile.name}' needs the lgpio GPIO backend, which is not installed")

    monkeypatch.setattr(board.pins, "make_pin_factory", no_backend)
    assert main(["calibrate", "--board", "pi4", "--distance-m", "1000", "--state", str(state.root)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("taxiterm: cannot count pulses on GPIO 4:") and "lgpio" in err


def test_meter_replay_checks_the_tariff_file_the_authority_issues_before_it_is_installed(tmp_path, capsys):
    """docs/meter-replay.md: check a tariff before installing it. The file installed has `sequence = N`."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    demo = (root / "sim/data/tariff-demo.toml").read_text(encoding="utf-8")
    issued = tmp_path / "tariff.toml"
    issued.write_text("sequence = 1\n" + demo, encoding="utf-8")
    events = str(root / "sim/data/demo-trip.jsonl")
    assert main(["meter", "replay", "--tariff", str(root / "sim/data/tariff-demo.toml"), "--events", events]) == 0
    plain = capsys.readouterr().out
    assert main(["meter", "replay", "--tariff", str(issued), "--events", events]) == 0
    assert capsys.readouterr().out == plain
    issued.write_text("sequence = -1\n" + demo, encoding="utf-8")
    assert main(["meter", "replay", "--tariff", str(issued), "--events", events]) == 2
    assert "sequence must be a whole number" in capsys.readouterr().err


def test_jt_deregister_with_nothing_to_deregister_or_no_platform_exits_1_as_documented(tmp_path, capsys):
    """docs/jtt.md: nothing to deregister is exit status 1; a refusal or no answer keeps the code (exit 1)."""
    import socket

    with socket.socket() as probe:               # a port where no platform listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    auth = tmp_path / "jt808.auth"
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{tmp_path}"\n[links]\nuse = ["mqtt", "jt808"]\n'
                      f'[jt808]\nport = {port}\nauth_file = "{auth}"\nreconnect_min_s = 0.05\n')
    assert main(["jt", "deregister", "--config", str(config)]) == 1
    assert "nothing to deregister" in capsys.readouterr().err
    auth.write_text("AUTHCODE")
    assert main(["jt", "deregister", "--config", str(config), "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "did not accept the deregistration" in err and "the auth code is kept" in err
    assert auth.read_text() == "AUTHCODE"


def test_gnss_decode_with_a_count_or_time_out_of_range_refuses_instead_of_printing_a_fix(tmp_path, capsys):
    nmea = tmp_path / "drive.nmea"
    assert main(["emulate", "gnss", "--route", "urban", "--length-m", "300", "--write", str(nmea)]) == 0
    capsys.readouterr()
    for option, value, said in (("--fixes", "0", "must be at least 1"), ("--fixes", "-1", "must be at least 1"),
                                ("--seconds", "-1", "must be more than 0"), ("--baud", "0", "must be a positive baud rate")):
        assert main(["gnss", "decode", str(nmea), option, value]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.startswith(f"taxiterm: {option} {value}: {said}"), captured
    assert main(["gnss", "decode", str(nmea), "--fixes", "2"]) == 0
    assert [line[:20] for line in capsys.readouterr().out.splitlines()][:2] == ['{"class": "TPV", "mo'] * 2


@pytest.mark.parametrize("timeout", ["-1", "0"])
def test_receipt_status_with_a_timeout_out_of_range_is_one_line(timeout, capsys):
    assert main(["receipt", "status", "--printer", "dummy://", "--timeout", timeout]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"taxiterm: --timeout {timeout}: must be more than 0 seconds\n"


@pytest.mark.parametrize("terminal", ["bad id/+", "T#1", ""])
def test_sign_command_for_a_terminal_id_no_terminal_can_have_says_why(terminal, tmp_path, capsys):
    """Before: 'the terminal would refuse it: addressed to taxi/bad id/+, this terminal is taxi/bad id/+'."""
    key = tmp_path / "platform"
    assert main(["keys", "gen", str(key)]) == 0
    capsys.readouterr()
    assert main(["platform", "sign-command", "--key", f"{key}.key", "--terminal", terminal, "--cmd-id", "c-1",
                 "notice", '{"text": "hi"}']) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"taxiterm: --terminal must be a terminal id: 1-64 of A-Z a-z 0-9 _ . -, got {terminal!r}\n"
