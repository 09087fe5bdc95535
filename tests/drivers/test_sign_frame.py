"""The top light's 55 AA frame: known bytes, round trips, and a decoder that survives line noise."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.sign_frame import (
    CMD_SET_STATE,
    DEVICE_TOP_LIGHT,
    MAX_LENGTH,
    Frame,
    FrameDecoder,
    FrameError,
    Rejected,
    TopLightStatus,
    bcd_time,
    decode,
    encode,
    parse_ack,
    parse_bcd_time,
    parse_status,
    query_frame,
    stars_frame,
    state_frame,
)

frames = st.builds(
    Frame,
    device=st.integers(0, 255),
    vendor=st.integers(0, 255),
    command=st.integers(0, 0xFFFF),
    body=st.binary(max_size=64),
)


def test_set_occupied_frame_bytes():
    # length 5 = type + vendor + command + one body byte; XOR of 00 05 05 00 00 10 01 = 0x11
    assert encode(state_frame("occupied")) == bytes.fromhex("55 AA 00 05 05 00 00 10 01 11 55 AA")


def test_alarm_frame_decodes_back():
    frame = decode(bytes.fromhex("55 AA 00 05 05 00 00 10 04 14 55 AA"))
    assert frame == Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_STATE, b"\x04")


def test_query_carries_bcd_time_in_gmt8():
    # 2024-03-01 00:00:00 UTC is 08:00:00 in Beijing
    frame = query_frame(1709251200000)
    assert frame.body == bytes.fromhex("20 24 03 01 08 00 00")
    assert parse_bcd_time(frame.body) == "2024-03-01 08:00:00"
    assert bcd_time(1709251200000, utc_offset_min=0) == bytes.fromhex("20 24 03 01 00 00 00")


@given(frames)
def test_round_trip(frame):
    assert decode(encode(frame)) == frame


@given(st.lists(frames, max_size=6), st.data())
def test_stream_in_any_chunks_gives_the_same_frames(items, data):
    stream = b"".join(encode(f) for f in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder, got = FrameDecoder(), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        got += decoder.feed(stream[a:b])
    assert got == items
    assert decoder.pending == 0


@given(st.binary(max_size=40).filter(lambda b: 0x55 not in b), frames)
def test_noise_before_a_frame_is_skipped_and_reported(noise, frame):
    out = FrameDecoder().feed(noise + encode(frame))
    assert out[-1] == frame
    assert sum(r.skipped for r in out if isinstance(r, Rejected)) == len(noise)


@given(st.binary(max_size=300), frames)
def test_any_noise_never_raises_and_a_later_frame_is_found(noise, frame):
    decoder = FrameDecoder()
    out = decoder.feed(noise)
    # enough valid frames to outlast any length a false header in the noise could claim
    filler = encode(Frame(DEVICE_TOP_LIGHT, 0, 0x7FFF, bytes(1000)))
    for _ in range(2):
        out += decoder.feed(filler)
    out += decoder.feed(encode(frame))
    assert out[-1] == frame
    for item in out:
        assert isinstance(item, (Frame, Rejected))
        if isinstance(item, Frame):
            assert decode(encode(item)) == item


@pytest.mark.parametrize(
    "raw, message",
    [
        ("55 AA 00 05 05 00 00 10 01 15 55 AA", "XOR mismatch"),
        ("55 AA 00 05 05 00 00 10 01 11 55 AB", "does not end with 55 AA"),
        ("55 AA 00 02 05 00 00 10 01 14 55 AA", "length field 2"),
        ("55 AA 00 06 05 00 00 10 01 14 55 AA", "length field says 13 bytes, got 12"),
        ("AA 55 00 05 05 00 00 10 01 14 55 AA", "not a frame"),
    ],
)
def test_malformed_frames_are_refused_by_reason(raw, message):
    with pytest.raises(FrameError, match=message):
        decode(bytes.fromhex(raw))


def test_corrupt_frame_then_good_frame_resyncs():
    good = encode(state_frame("vacant"))
    bad = bytearray(encode(state_frame("alarm")))
    bad[8] ^= 0xFF
    out = FrameDecoder().feed(bytes(bad) + good)
    assert out[-1] == state_frame("vacant")
    assert any(isinstance(r, Rejected) and "XOR" in r.reason for r in out)


def test_oversized_length_is_noise():
    raw = b"\x55\xaa" + (MAX_LENGTH + 1).to_bytes(2, "big") + bytes(8)
    out = FrameDecoder().feed(raw)
    assert all(isinstance(r, Rejected) for r in out)


def test_status_body_round_trip_and_short_body():
    status = TopLightStatus(0x00, 0x05, 0x000123, 1, 2, 3, 0, 0x04, 1)
    body = status.to_body()
    assert len(body) == 16
    assert parse_status(body) == status and parse_status(body).state == "alarm"
    with pytest.raises(FrameError, match="at least 11"):
        parse_status(body[:10])
    with pytest.raises(FrameError, match="one result byte"):
        parse_ack(b"")


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="unknown sign state"):
        state_frame("disco")
    with pytest.raises(ValueError, match="0..5"):
        stars_frame(6)
    with pytest.raises(FrameError, match="command"):
        Frame(5, 0, 0x10000)
