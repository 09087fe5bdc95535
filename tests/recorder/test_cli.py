"""``taxiterm record export`` and ``record show`` on a provisioned terminal's database."""

import json
import struct

import pytest

from sim.provision import provision_state
from terminal.cli import main
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000          # 2026-11-18 19:07:00 GMT+8
POS = (22543096, 114057865, 10)


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    state = provision_state(tmp_path_factory.mktemp("rec") / "state", device_id="TX-0042")
    storage = Storage(state.database)
    s = RecordStore(storage)
    for i in range(180):
        s.second(T0 + i * 1000, 300 + i % 7, 3, 1)
    for m in range(3):
        s.position(T0 + m * 60_000, POS, 330)
    s.event("driver", T0, {"t_ms": T0, "driver_cert": "440100123456", "event": "sign_in"})
    s.event("stop", T0 + 170_000, {"t_ms": T0 + 170_000, "reason": "stopped", "driver_cert": "440100123456",
                                    "interval_ms": 200, "samples": [[300 - 3 * i, 3] for i in range(100)],
                                    "first_ms": T0 + 150_200, "position": POS})
    s.event("power", T0 + 179_000, {"t_ms": T0 + 179_000, "on": False})
    s.flush()
    storage.close()
    return state


def test_export_writes_documented_json_lines_for_the_window(state, tmp_path, capsys):
    out = tmp_path / "rec.jsonl"
    assert main(["record", "export", "--state", str(state.root), "--from", str(T0), "--to", "2026-11-18T19:10:00",
                 "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["format"] == "taxiterm-record/1"
    assert lines[0]["terminal_id"] == "TX-0042"
    speed = [line for line in lines if line["type"] == "speed"]
    assert [line["t"] for line in speed] == [T0, T0 + 60_000, T0 + 120_000]
    assert speed[0]["speed"][:3] == [300, 301, 302] and speed[0]["source"] == "P" * 60
    assert [line["type"] for line in lines[4:]] == ["position"] * 3 + ["stop", "driver", "power"]
    stop = next(line for line in lines if line["type"] == "stop")
    assert stop["position"] == {"lat_1e6": POS[0], "lon_1e6": POS[1], "alt_m": POS[2]}
    assert "exported 10 lines" in capsys.readouterr().out


def test_export_window_leaves_out_what_is_outside(state, tmp_path):
    out = tmp_path / "rec.jsonl"
    assert main(["record", "export", "--state", str(state.root), "--from", str(T0 + 61_000),
                 "--to", str(T0 + 119_999), "--out", str(out)]) == 0
    kinds = [json.loads(line)["type"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["header", "speed", "position"]


def test_export_gbt_blocks(state, tmp_path):
    gbt = tmp_path / "rec.vdr"
    assert main(["record", "export", "--state", str(state.root), "--from", str(T0), "--to", str(T0 + 200_000),
                 "--out", str(tmp_path / "x.jsonl"), "--gbt", str(gbt)]) == 0
    blob = gbt.read_bytes()
    (count,) = struct.unpack(">H", blob[:2])
    assert count == 16
    at, sizes = 2, {}
    for _ in range(count):
        code = blob[at]
        (length,) = struct.unpack(">I", blob[at + 19:at + 23])
        sizes[code] = length
        at += 23 + length
    assert at == len(blob) - 1
    assert sizes == {0x00: 2, 0x01: 18, 0x02: 6, 0x03: 20, 0x04: 8, 0x05: 41, 0x06: 87, 0x07: 35,
                     0x08: 3 * 126, 0x09: 666, 0x10: 234, 0x11: 0, 0x12: 25, 0x13: 7, 0x14: 0, 0x15: 0}


def test_bad_times_are_refused_with_a_message(state, tmp_path, capsys):
    assert main(["record", "export", "--state", str(state.root), "--from", "yesterday",
                 "--out", str(tmp_path / "x")]) == 2
    assert "neither epoch ms" in capsys.readouterr().err
    assert main(["record", "export", "--state", str(state.root), "--from", str(T0 + 1), "--to", str(T0),
                 "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_show_summarises_for_a_technician(state, capsys):
    assert main(["record", "show", "--state", str(state.root)]) == 0
    text = capsys.readouterr().out
    assert "180 seconds recorded" in text
    assert "stop:" in text and "stopped, top 30.0 km/h in the last 20 s" in text
    assert "sign_in 440100123456" in text and "supply off" in text


def test_show_lists_speed_status_logs(state, capsys):
    storage = Storage(state.database)
    s = RecordStore(storage)
    t = T0 + 36_000_000                 # outside the windows the other tests export
    s.event("speed_status", t, {"t_ms": t, "start_ms": t - 59_000, "end_ms": t, "status": 2,
                                "recorded": [500] * 60, "reference": [600] * 60})
    s.flush()
    storage.close()
    assert main(["record", "show", "--state", str(state.root)]) == 0
    text = capsys.readouterr().out
    assert "speed_status:" in text and "ABNORMAL: the sensor -16.7 % against GNSS" in text
