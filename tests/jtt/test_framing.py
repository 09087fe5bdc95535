"""The 0x7E/0x7D framing and the stream decoder: what a TCP reader sees in the field."""

from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.link.jtt import (
    ChecksumError,
    FramingError,
    JttError,
    StreamDecoder,
    checksum,
    decode,
    decode_payload,
    escape,
    unescape,
    unwrap,
    wrap,
)
from tests.jtt.golden import GOLDEN_808, frame

HEARTBEAT = frame("0002 0000 013912345678 0003")
ESCAPED = frame("8001 0005 013912345678 0015  7e7d 0002 00")
CHECK_7E = frame("0002 0000 013912345678 004c")
FRAMES = [frame(payload) for _, payload, _ in GOLDEN_808]


def payloads(items):
    return [item for item in items if isinstance(item, bytes)]


@given(st.binary(max_size=200))
def test_escape_round_trip_and_no_flag_inside(data):
    escaped = escape(data)
    assert 0x7E not in escaped
    assert unescape(escaped) == data


@given(st.binary(min_size=1, max_size=200))
def test_wrap_unwrap_round_trip(payload):
    raw = wrap(payload)
    assert raw[0] == raw[-1] == 0x7E and 0x7E not in raw[1:-1]
    assert unwrap(raw) == payload


def test_checksum_is_xor():
    assert checksum(b"\x01\x02\x04") == 7 and checksum(b"") == 0


def test_bad_checksum_and_bad_escape_are_reported():
    bad = bytearray(HEARTBEAT)
    bad[-2] ^= 0xFF
    for raw, error in ((bytes(bad), ChecksumError), (b"\x7e\x00\x7d\x03\x00\x7e", FramingError),
                       (b"\x7e\x00\x01\x7d\x7e", FramingError), (b"\x00\x7e", FramingError)):
        try:
            unwrap(raw)
        except error:
            continue
        raise AssertionError(f"{raw.hex()} accepted")


def test_stream_with_garbage_empty_frames_and_a_bad_checksum_continues():
    bad = bytearray(HEARTBEAT)
    bad[-2] ^= 0x01
    stream = b"\x00\x12junk" + HEARTBEAT + b"\x7e\x7e" + bytes(bad) + ESCAPED + CHECK_7E
    items = StreamDecoder().feed(stream)
    assert [type(i).__name__ for i in items] == ["bytes", "ChecksumError", "bytes", "bytes"]
    assert [decode_payload(p)["header"]["msg_sn"] for p in payloads(items)] == [3, 21, 0x4C]


def test_split_right_after_0x7d_and_inside_escaped_check_byte():
    decoder = StreamDecoder()
    cut = ESCAPED.index(b"\x7d") + 1
    assert decoder.feed(ESCAPED[:cut]) == []
    assert payloads(decoder.feed(ESCAPED[cut:])) == [unwrap(ESCAPED)]
    cut = len(CHECK_7E) - 2  # between 7D and 02 of the escaped check byte
    assert decoder.feed(CHECK_7E[:cut]) == []
    assert payloads(decoder.feed(CHECK_7E[cut:])) == [unwrap(CHECK_7E)]


def test_junk_without_flags_cannot_grow_memory():
    decoder = StreamDecoder(max_frame=64)
    decoder.feed(b"\x7e")
    items = []
    for _ in range(100):
        items += decoder.feed(b"\x01" * 1000)
        assert decoder.pending <= 64
    items += decoder.feed(b"\x7e" + HEARTBEAT)
    assert isinstance(items[0], FramingError) and "longer than 64" in str(items[0])
    assert payloads(items) == [unwrap(HEARTBEAT)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(FRAMES), min_size=1, max_size=8), st.data())
def test_any_chunking_of_a_stream_gives_the_same_frames(frames, data):
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=12)))
    decoder = StreamDecoder()
    out = []
    for start, end in zip([0] + cuts, cuts + [len(stream)], strict=True):
        out += decoder.feed(stream[start:end])
    assert out == [unwrap(f) for f in frames]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["jt808", "jt905"]))
def test_no_input_crashes_the_decoder(data, protocol):
    try:
        decode(data, protocol)
    except JttError:
        pass
    for item in StreamDecoder(max_frame=128).feed(data):
        if isinstance(item, bytes):
            try:
                decode_payload(item, protocol)
            except JttError:
                pass
        else:
            assert isinstance(item, FramingError)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FRAMES), st.data(), st.sampled_from(["jt808", "jt905"]))
def test_corrupted_real_frames_only_raise_documented_errors(raw, data, protocol):
    payload = bytearray(unwrap(raw))
    for _ in range(data.draw(st.integers(1, 4))):
        if payload:
            payload[data.draw(st.integers(0, len(payload) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    for candidate in (bytes(payload), bytes(payload[:cut])):
        try:
            decode(wrap(candidate), protocol)
        except JttError:
            pass
