"""`taxiterm receipt render|print|status` as a technician runs it."""

import json

from PIL import Image

from terminal.cli import main

from .conftest import DATA

VEHICLE = ["--plate", "粤A·D12345", "--company", "广州市白云出租汽车有限公司",
           "--driver-cert", "440100201912345678", "--software", "taxiterm 0.1.0 meter:3f2a9c1b"]


def test_render_writes_the_golden_text_and_a_png(tmp_path):
    png, text = tmp_path / "r.png", tmp_path / "r.txt"
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--png", str(png), "--text", str(text),
                 *VEHICLE]) == 0
    assert text.read_text(encoding="utf-8") == (DATA / "trip_12_zh.txt").read_text(encoding="utf-8")
    with Image.open(png) as image:
        assert image.width == 384
        # dark dots exist, and the paper is mostly white
        histogram = image.convert("L").histogram()
        assert histogram[0] > 1000 and histogram[255] > sum(histogram) // 2


def test_render_english_to_stdout(capsys):
    assert main(["receipt", "render", str(DATA / "trip_12.json"), "--text", "-", "--lang", "en", *VEHICLE]) == 0
    out = capsys.readouterr().out
    assert out == (DATA / "trip_12_en.txt").read_text(encoding="utf-8")


def test_render_refuses_bad_input_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"trip_no": 1}), encoding="utf-8")
    assert main(["receipt", "render", str(bad), "--text", "-"]) == 2
    assert main(["receipt", "render", str(tmp_path / "missing.json"), "--text", "-"]) == 2
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    assert main(["receipt", "render", str(tmp_path / "broken.json"), "--text", "-"]) == 2
    assert main(["receipt", "render", str(DATA / "trip_12.json")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 4 and all(line.startswith("taxiterm: ") for line in err)
    assert "lacks" in err[0] and "missing.json" in err[1]


def test_print_and_status_against_the_emulator(pty_printer, capsys):
    emulator, pty = pty_printer
    assert main(["receipt", "status", "--printer", pty.path]) == 0
    assert json.loads(capsys.readouterr().out)["online"] is True
    assert main(["receipt", "print", str(DATA / "trip_12.json"), "--printer", pty.path, *VEHICLE]) == 0
    assert emulator.wait_for_receipts(1)
    assert emulator.text(0) == (DATA / "trip_12_zh.txt").read_text(encoding="utf-8")
    emulator.set_state(paper_out=True)
    assert main(["receipt", "print", str(DATA / "trip_12.json"), "--printer", pty.path]) == 2
    assert "paper_out" in capsys.readouterr().err
    assert main(["receipt", "status", "--printer", pty.path]) == 1
