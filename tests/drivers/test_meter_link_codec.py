"""The 905.2 meter link codec: frames published by an independent implementation, round trips of
every command's layout, and random bytes that never raise anything but FrameError."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import meter_link_codec as ml
from drivers.peripheral_frame import DEVICE_METER, Frame, FrameError, decode, encode

# Published as test vectors by SmallChi/JT905 (src/JT905.Protocol.Test/SerialPort/).
TRIP_END = ("55AA0046020000E8414133333333000000000000000000000000000000003432313038333139383830393036303131"
            "580023072619411941000001056700000000000000800000000C002255AA")
STATUS_QUERY = "55AA000B02000000201111111111112955AA"


def test_an_independent_trip_end_frame_decodes_to_its_operation_data():
    command, values = ml.parse(decode(bytes.fromhex(TRIP_END)), ml.UP)
    assert command == ml.CMD_TRIP_END
    assert values["plate"] == "AA3333" and values["driver"] == "42108319880906011X"
    assert values["board"] == (2023, 7, 26, 19, 41) and values["alight"] == (19, 41)
    assert values["distance_100m"] == 1 and values["empty_100m"] == 567
    assert values["fare_jiao"] == 80 and values["trip_no"] == 12 and values["waiting"] == (0, 0)
    assert encode(ml.meter_frame(command, ml.UP, values)).hex().upper() == TRIP_END


def test_an_independent_status_query_encodes_byte_for_byte():
    frame = ml.meter_frame(ml.CMD_STATUS, ml.DOWN, {"time": (2011, 11, 11, 11, 11, 11)})
    assert encode(frame).hex().upper() == STATUS_QUERY


def test_acknowledgements_carry_0x90_or_0xff():
    assert ml.ack(ml.CMD_TRIP_END).body == b"\x90"
    assert ml.ack(ml.CMD_RESEND, ok=False).body == b"\xff"
    assert encode(ml.ack(ml.CMD_TRIP_END)).hex() == "55aa0005020000e8907f55aa"


def _value(kind, size):
    if kind == "ascii":
        return st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=size)
    if kind == "bcd":
        return st.integers(0, 10 ** size - 1)
    if kind in ("u8", "u16", "u32"):
        return st.integers(0, (1 << (8 * ml.field_size(kind, size))) - 1)
    if kind in ("time7", "time6", "ymdh", "yymdhm", "hhmm", "mmss"):
        parts = ml._CIVIL[kind]
        tup = st.tuples(*[st.integers(low, high) for _, low, high in parts])
        if kind == "yymdhm":
            return tup.map(lambda t: (t[0] + 2000,) + t[1:])
        return tup
    if kind == "raw":
        return st.binary(min_size=size, max_size=size)
    return st.binary(max_size=40)


def _values(key):
    return st.fixed_dictionaries({name: _value(kind, size) for name, kind, size in ml.LAYOUTS[key]})


@pytest.mark.parametrize("key", sorted(ml.LAYOUTS), ids=lambda k: f"{k[0]:04x}-{k[1]}")
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_every_command_round_trips_through_the_wire(key, data):
    command, direction = key
    values = data.draw(_values(key))
    vendor = data.draw(st.integers(0, 255))
    raw = encode(ml.meter_frame(command, direction, values, vendor))
    frame = decode(raw)
    assert frame.vendor == vendor and frame.device == DEVICE_METER
    assert ml.parse(frame, direction) == (command, values)


@settings(max_examples=300, deadline=None)
@given(command=st.sampled_from(sorted({c for c, _ in ml.LAYOUTS})), direction=st.sampled_from([ml.UP, ml.DOWN]),
       body=st.binary(max_size=140))
def test_random_bodies_decode_or_raise_frame_error(command, direction, body):
    try:
        ml.parse(Frame(DEVICE_METER, 0, command, body), direction)
    except FrameError:
        pass


def test_strict_where_the_layout_is_fixed():
    with pytest.raises(FrameError, match="ends inside"):
        ml.parse(Frame(DEVICE_METER, 0, ml.CMD_TRIP_END, bytes(30)), ml.UP)
    with pytest.raises(FrameError, match="after the last field"):
        ml.parse(Frame(DEVICE_METER, 0, ml.CMD_TRIP_START, bytes.fromhex("20260101120000") + b"\x00"), ml.UP)
    with pytest.raises(FrameError, match="not BCD"):
        ml.parse(Frame(DEVICE_METER, 0, ml.CMD_TRIP_START, bytes.fromhex("2026010112005A")), ml.UP)
    with pytest.raises(FrameError, match="out of"):
        ml.parse(Frame(DEVICE_METER, 0, ml.CMD_TRIP_START, bytes.fromhex("20261301120000")), ml.UP)
    with pytest.raises(FrameError, match="not the meter"):
        ml.parse(Frame(0x05, 0, ml.CMD_STATUS, bytes(7)), ml.DOWN)
    with pytest.raises(FrameError, match="not a meter command"):
        ml.parse(Frame(DEVICE_METER, 0, 0x4242, b""), ml.UP)


def test_lenient_where_meters_differ():
    status = ml.encode_body(ml.CMD_STATUS, ml.UP, {
        "vendor_id": 3, "device_type": 2, "serial": b"\x00\x01\x02", "hw_version": 1, "sw_major": 2,
        "sw_minor": 3, "device_state": 0, "work_state": 0, "plate": "AA3333", "licence": "L1", "driver": "D1",
        "trips": 7})
    assert ml.decode_body(ml.CMD_STATUS, ml.UP, status + bytes(5))["trips"] == 7   # padded answer
    gbk_plate = "粤".encode("gbk") + b"B1234"
    body = bytes.fromhex(TRIP_END)[8:-3]
    values = ml.decode_body(ml.CMD_TRIP_END, ml.UP, gbk_plate[:6] + body[6:])
    assert values["plate"] == gbk_plate[:6]                                         # not UTF-8: kept as bytes


def test_tariff_parameters_keep_the_vendor_area_and_the_reserved_bytes():
    values = {name: 0 for name, kind, _ in ml.LAYOUTS[(ml.CMD_TARIFF_SET, ml.DOWN)] if kind == "bcd"}
    values.update(valid_from=(2026, 1, 1, 0), free_wait=(5, 0), wait_unit=(1, 0), night_start=(23, 0),
                  night_end=(5, 0), reserved=bytes(22), vendor_area=b"\x01" * 64, start_day_fen=1300,
                  start_10m=300, step_10m=100)
    body = ml.encode_body(ml.CMD_TARIFF_SET, ml.DOWN, values)
    assert len(body) == 127
    assert body[:5].hex() == "2026010100" and body[17:19].hex() == "1300"
    assert ml.decode_body(ml.CMD_TARIFF_QUERY, ml.UP, body) == values
