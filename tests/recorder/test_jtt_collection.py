"""JT/T 808 0x8700 / 0x0700: the platform collects GB/T 19056 blocks through the JT/T codec."""

import base64
import struct

from hypothesis import given
from hypothesis import strategies as st

from terminal.link.jtt import decode, encode
from terminal.recorder import blocks, export
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000
HEADER = {"msg_id": 0x8700, "encrypt": 0, "phone": "013912345678", "msg_sn": 7}


def filled(tmp_path):
    storage = Storage(tmp_path / "t.db")
    s = RecordStore(storage)
    for i in range(300):
        s.second(T0 + i * 1000, 360, 3, 1)
    for i in range(3):
        s.event("power", T0 + i * 1000, {"t_ms": T0 + i * 1000, "on": bool(i % 2)})
    s.flush()
    return storage


def test_a_collection_command_is_answered_with_the_blocks_newest_first(tmp_path):
    storage = filled(tmp_path)
    param = blocks.window_param(0x08, T0, T0 + 299_000, 3)
    down = decode(encode({"header": HEADER, "body": {"command": 0x08, "param": base64.b64encode(param).decode()}}))
    body = down["body"]
    data = export.collect(storage, body["command"], base64.b64decode(body["param"]))
    up = {"header": {**HEADER, "msg_id": 0x0700, "msg_sn": 1},
          "body": {"seq": 7, "command": 0x08, "data": base64.b64encode(data).decode()}}
    back = decode(encode(up))
    assert back["body"]["seq"] == 7 and back["body"]["command"] == 0x08
    code, blob = blocks.read_frame(base64.b64decode(back["body"]["data"]), blocks.UP)
    assert code == 0x08 and len(blob) == 3 * 126
    assert blob[:6] == blocks.bcd6(T0 + 240_000) and blob[126 * 2:126 * 2 + 6] == blocks.bcd6(T0 + 120_000)


def test_power_records_and_a_count_smaller_than_what_is_there(tmp_path):
    storage = filled(tmp_path)
    code, blob = blocks.read_frame(export.collect(storage, 0x13, blocks.window_param(0x13, T0, T0 + 10_000, 2)),
                                   blocks.UP)
    assert code == 0x13 and blob == blocks.power_block({"t_ms": T0 + 2000, "on": False}) + \
        blocks.power_block({"t_ms": T0 + 1000, "on": True})


def test_what_cannot_be_read_gets_the_error_reply(tmp_path):
    storage = filled(tmp_path)
    error = blocks.frame(blocks.UP, blocks.ERROR_COLLECT, b"")
    assert export.collect(storage, 0x08, b"") == error
    assert export.collect(storage, 0x08, blocks.window_param(0x09, T0, T0, 1)) == error     # words disagree
    assert export.collect(storage, 0x16, blocks.window_param(0x16, T0, T0, 1)) == error     # no such block
    bad = bytearray(blocks.window_param(0x08, T0, T0, 1))
    bad[-1] ^= 1
    assert export.collect(storage, 0x08, bytes(bad)) == error


@given(st.integers(0, 255), st.binary(max_size=300))
def test_frames_round_trip(command, data):
    raw = blocks.frame(blocks.UP, command, data)
    assert blocks.read_frame(raw, blocks.UP) == (command, data)
    assert struct.unpack(">H", raw[3:5])[0] == len(data)
