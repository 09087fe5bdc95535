"""`taxiterm receipt render|print|status` as a technician runs it."""

import json

from PIL import Image

from terminal.cli import main

from .conftest import DATA, DEVICE_ID

VEHICLE = ["--plate", "粤A·D12345", "--company", "广州市白云出租汽车有限公司",
           "--driver-cert", "440100201912345678", "--software", "taxiterm 0.1.0 meter:3f2a9c1b"]


def test_render_writes_the_golden_text_and_a_png(tmp_path, device_state):
    png, text = tmp_path / "r.png", tmp_path / "r.txt"
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--png", str(png), "--text", str(text),
                 "--state", str(device_state), *VEHICLE]) == 0
    assert text.read_text(encoding="utf-8") == (DATA / "trip_12_zh.txt").read_text(encoding="utf-8")
    with Image.open(png) as image:
        assert image.width == 384
        # dark dots exist, and the paper is mostly white
        histogram = image.convert("L").histogram()
        assert histogram[0] > 1000 and histogram[255] > sum(histogram) // 2


def test_render_english_to_stdout_by_default(capsys, device_state):
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--lang", "en", "--state", str(device_state),
                 *VEHICLE]) == 0
    out = capsys.readouterr().out
    assert out == (DATA / "trip_12_en.txt").read_text(encoding="utf-8")


def test_render_takes_a_trips_list_with_trip_n(tmp_path, capsys):
    """Issue 14, item 8: the demo's own trips.json (a list) renders, one trip chosen with --trip."""
    trip = json.loads((DATA / "trip_12.json").read_text(encoding="utf-8"))
    trips = tmp_path / "trips.json"
    trips.write_text(json.dumps([dict(trip, trip_no=11), trip]), encoding="utf-8")
    assert main(["receipt", "render", str(trips), "--trip", "12", *VEHICLE]) == 0
    out = capsys.readouterr().out
    assert "车次                          12" in out and "[QR" not in out     # no key given: no QR code
    assert main(["receipt", "render", str(trips), *VEHICLE]) == 2
    assert "--trip N" in capsys.readouterr().err
    assert main(["receipt", "render", str(trips), "--trip", "5", *VEHICLE]) == 2
    assert "no trip 5 (trips 11, 12)" in capsys.readouterr().err


def test_render_requires_the_vehicle_instead_of_placeholders(tmp_path, capsys):
    assert main(["receipt", "render", str(DATA / "trip_12.json")]) == 2
    err = capsys.readouterr().err
    assert "--plate, --company, --driver-cert" in err
    config = tmp_path / "terminal.toml"
    config.write_text('[terminal]\nplate = "浙A·T1234"\ncompany = "杭州示范出租汽车有限公司"\n'
                      'driver_cert = "330100123456"\nstate_dir = "/nonexistent"\n', encoding="utf-8")
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--config", str(config)]) == 2
    assert "not a provisioned state directory" in capsys.readouterr().err
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--config", str(config),
                 "--state", str(tmp_path / "none")]) == 2


def test_verify_checks_the_signature_and_the_stored_trip(tmp_path, capsys, device_state):
    from tests.printer.conftest import link_of
    trip = json.loads((DATA / "trip_12.json").read_text(encoding="utf-8"))
    link = link_of(trip, "粤A·D12345")
    assert main(["receipt", "verify", link, "--state", str(device_state)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] and out["trip_no"] == 12 and out["total_fen"] == 4200 and out["device_id"] == DEVICE_ID
    trips = tmp_path / "trips.json"
    trips.write_text(json.dumps([trip]), encoding="utf-8")
    assert main(["receipt", "verify", link, "--public-key", str(device_state / "keys" / "device.pub"),
                 "--trips", str(trips)]) == 0
    capsys.readouterr()
    assert main(["receipt", "verify", link.replace("total=4200", "total=4100"), "--state", str(device_state)]) == 1
    assert capsys.readouterr().out.startswith("NOT VALID")
    trips.write_text(json.dumps([dict(trip, total_fen=4100)]), encoding="utf-8")
    assert main(["receipt", "verify", link, "--state", str(device_state), "--trips", str(trips)]) == 1
    assert "another total" in capsys.readouterr().out


def test_render_refuses_bad_input_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"trip_no": 1}), encoding="utf-8")
    assert main(["receipt", "render", str(bad), "--text", "-", *VEHICLE]) == 2
    assert main(["receipt", "render", str(tmp_path / "missing.json"), "--text", "-", *VEHICLE]) == 2
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert main(["receipt", "render", str(tmp_path / "broken.json"), "--text", "-", *VEHICLE]) == 2
    assert main(["receipt", "render", str(DATA / "trip_12.json")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("taxiterm: ") for line in err)
    assert "lacks" in err[0] and "missing.json" in err[1]


def test_print_and_status_against_the_emulator(pty_printer, capsys, device_state):
    emulator, pty = pty_printer
    assert main(["receipt", "status", "--printer", pty.path]) == 0
    assert json.loads(capsys.readouterr().out)["online"] is True
    assert main(["receipt", "print", str(DATA / "trip_12.json"), "--printer", pty.path, "--state", str(device_state),
                 *VEHICLE]) == 0
    assert emulator.wait_for_receipts(1)
    assert emulator.text(0) == (DATA / "trip_12_zh.txt").read_text(encoding="utf-8")
    emulator.set_state(paper_out=True)
    assert main(["receipt", "print", str(DATA / "trip_12.json"), "--printer", pty.path, *VEHICLE]) == 2
    assert "paper_out" in capsys.readouterr().err
    assert main(["receipt", "status", "--printer", pty.path]) == 1
