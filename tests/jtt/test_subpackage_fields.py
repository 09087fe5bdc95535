"""Long messages split into packages and back; BCD time and text fields."""

import calendar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.link.jtt import (
    BodyError,
    EncodeError,
    Reassembler,
    StreamDecoder,
    bcd_time,
    decode,
    decode_payload,
    encode,
    epoch_ms,
    split,
)
from terminal.link.jtt.fields import fixed_text_decode, fixed_text_encode

LOC = {"alarm": 0, "status": 2, "latitude": 22543096, "longitude": 114057865, "altitude": 12, "speed": 0,
       "direction": 0, "time": "261121103000"}


def batch(n: int, version: str = "2013") -> dict:
    header = {"msg_id": 0x0704, "encrypt": 0, "phone": "013912345678", "msg_sn": 65534}
    if version == "2019":
        header.update(proto_ver=1, phone="00000000013912345678")
    return {"header": header, "body": {"length": n, "type": 1, "location": [dict(LOC, speed=i) for i in range(n)]}}


@pytest.mark.parametrize("version", ["2013", "2019"])
def test_a_long_batch_is_split_and_reassembled_in_any_order(version):
    message = batch(60, version)  # 60 x 30 bytes: two packages of 1023 bytes at most
    frames = split(message)
    assert len(frames) == 2
    headers = [decode(f)["header"] for f in frames]
    assert [(h["frag_total"], h["frag_sn"], h["msg_sn"]) for h in headers] == [(2, 1, 65534), (2, 2, 65535)]
    assert all(h["len"] <= 1023 for h in headers)
    reassembler = Reassembler()
    assert reassembler.add(decode(frames[1])) is None
    assert reassembler.missing(Reassembler.key(headers[1])) == [1]
    whole = reassembler.add(decode(frames[0]))
    assert whole["body"] == message["body"]
    assert whole["header"]["msg_sn"] == 65534 and "frag_total" not in whole["header"]
    assert reassembler.pending() == []


def test_a_short_message_is_not_split_and_passes_through_the_reassembler():
    frames = split(batch(2))
    assert frames == [encode(batch(2))]
    message = decode(frames[0])
    assert Reassembler().add(message) is message


def test_reassembler_is_bounded():
    reassembler = Reassembler(max_pending=3)
    for sn in range(0, 20, 2):
        frames = split(dict(batch(60), header=dict(batch(60)["header"], msg_sn=sn)))
        reassembler.add(decode(frames[0]))
    assert len(reassembler.pending()) == 3


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(8, 1023))
def test_split_then_stream_then_reassemble_round_trips(n, max_body):
    message = batch(n)
    stream = b"".join(split(message, max_body))
    reassembler = Reassembler()
    results = [reassembler.add(decode_payload(p)) for p in StreamDecoder().feed(stream)]
    assert results[-1]["body"] == message["body"]
    assert all(r is None for r in results[:-1])


def test_bcd_time_is_gmt8():
    ms = calendar.timegm((2026, 11, 21, 2, 30, 0)) * 1000 + 999
    assert bcd_time(ms) == "261121103000"
    assert epoch_ms("261121103000") == ms - 999
    assert bcd_time(calendar.timegm((2026, 12, 31, 16, 0, 0)) * 1000) == "270101000000"  # New Year in GMT+8


@given(st.integers(calendar.timegm((2000, 1, 1, 0, 0, 0)) - 8 * 3600,
                   calendar.timegm((2099, 12, 31, 15, 59, 59))))
def test_bcd_time_round_trip(seconds):
    assert epoch_ms(bcd_time(seconds * 1000)) == seconds * 1000


@pytest.mark.parametrize("bad", ["261321103000", "260230000000", "2611211030", "26112110300x", "２61121103000"])
def test_invalid_bcd_time_is_a_body_error(bad):
    with pytest.raises(BodyError):
        epoch_ms(bad)


def test_fixed_width_text_is_gbk_nul_padded_and_never_truncated():
    assert fixed_text_encode("粤B1", 6, "plate") == b"\xd4\xc1B1\x00\x00"
    assert fixed_text_decode(b"\xd4\xc1B1\x00\x00") == "粤B1"
    with pytest.raises(EncodeError):
        fixed_text_encode("粤B12345", 6, "plate")


def test_encode_errors_are_clear():
    with pytest.raises(EncodeError, match="body.seq is missing"):
        encode({"header": {"msg_id": 1, "phone": "1", "msg_sn": 0}, "body": {"id": 2, "result": 0}})
    with pytest.raises(EncodeError, match="does not fit"):
        encode({"header": {"msg_id": 1, "phone": "1", "msg_sn": 0}, "body": {"seq": 70000, "id": 2, "result": 0}})
    with pytest.raises(EncodeError, match="not a known item"):
        encode({"header": {"msg_id": 0x200, "phone": "1", "msg_sn": 0}, "body": dict(LOC, extra={"operating": 1})})
