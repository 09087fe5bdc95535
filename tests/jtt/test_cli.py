"""``taxiterm jt decode`` / ``jt encode`` as an integrator uses them."""

import json

from terminal.cli import main
from tests.jtt.golden import frame

LOCATION = ("7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202"
            "006401040000000c417e")


def test_decode_hex_prints_header_and_body(capsys):
    assert main(["jt", "decode", LOCATION]) == 0
    message = json.loads(capsys.readouterr().out)
    assert message["header"]["msg_id"] == 512 and message["body"]["extra"]["mileage"] == 12


def test_decode_a_binary_capture_with_a_bad_frame_reports_it_and_decodes_the_rest(tmp_path, capsys):
    bad = bytearray(frame("0002 0000 013912345678 0003"))
    bad[-2] ^= 1
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"junk" + bytes(bad) + bytes.fromhex(LOCATION))
    assert main(["jt", "decode", str(capture)]) == 1
    out = capsys.readouterr()
    assert "ChecksumError" in out.err and json.loads(out.out)["header"]["msg_sn"] == 0


def test_decode_905(capsys):
    assert main(["jt", "decode", "--protocol", "jt905", frame("8b0a 0000 108000000316 000b").hex()]) == 0
    assert json.loads(capsys.readouterr().out)["header"]["isu"] == "108000000316"


def test_encode_from_a_json_file_round_trips(tmp_path, capsys):
    main(["jt", "decode", LOCATION])
    source = tmp_path / "m.json"
    source.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["jt", "encode", str(source)]) == 0
    assert capsys.readouterr().out.strip() == LOCATION


def test_garbage_is_a_clear_error(capsys):
    assert main(["jt", "decode", "zz-not-hex"]) == 2
    assert "neither hex nor a file" in capsys.readouterr().err
