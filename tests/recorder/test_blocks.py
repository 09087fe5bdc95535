"""GB/T 19056 data blocks: sizes, BCD time in GMT+8, positions in 0.0001 minute, stop samples newest first."""

import struct

from hypothesis import given
from hypothesis import strategies as st

from terminal.recorder import blocks
from terminal.recorder.core import NO_SPEED

T0 = 1_795_000_020_000          # 2026-11-18 19:07:00 GMT+8


def test_time_is_bcd_in_beijing_time():
    assert blocks.bcd6(T0) == bytes.fromhex("261118190700")


def test_position_in_ten_thousandths_of_a_minute_signed():
    lon, lat, alt = struct.unpack(">iih", blocks.position((22543096, 114057865, 12)))
    assert (lat, lon, alt) == (13525858, 68434719, 12)      # 22.543096 deg = 1352.58576 min
    lon, lat, _ = struct.unpack(">iih", blocks.position((-1_000_000, -2_000_000, 0)))
    assert (lat, lon) == (-600000, -1200000)
    assert blocks.position(None) == struct.pack(">iih", 0x7FFFFFFF, 0x7FFFFFFF, 0)


@given(st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000))
def test_position_is_within_half_a_unit(lat, lon):
    lon_m, lat_m, _ = struct.unpack(">iih", blocks.position((lat, lon, 0)))
    assert abs(lat_m * 5 - lat * 3) <= 3 and abs(lon_m * 5 - lon * 3) <= 3


def test_speed_block_is_126_bytes_of_whole_km_per_hour():
    secs = [(355, 3, 1)] * 59 + [(NO_SPEED, 0, 0)]
    b = blocks.speed_block(T0, secs)
    assert len(b) == 126 and b[6:8] == bytes((36, 3)) and b[-2:] == bytes((0xFF, 0))


def test_stop_block_is_234_bytes_newest_sample_first():
    body = {"t_ms": T0, "driver_cert": "440100123456", "samples": [[10 * i, 1] for i in range(100)],
            "position": (22543096, 114057865, 12)}
    b = blocks.stop_block(body)
    assert len(b) == 234
    assert b[6:24] == b"440100123456" + b"\0" * 6
    assert b[24:26] == bytes((99, 1)) and b[222:224] == bytes((0, 1))


def test_the_small_blocks_have_their_sizes():
    assert len(blocks.overtime_block({"driver_cert": "A", "start_ms": T0, "end_ms": T0 + 1000,
                                      "start_pos": None, "end_pos": (1, 2, 3)})) == 50
    assert blocks.driver_block({"t_ms": T0, "driver_cert": "A", "event": "sign_out"})[-1] == 2
    assert blocks.power_block({"t_ms": T0, "on": True}) == bytes.fromhex("26111819070001")
    assert blocks.parameter_block({"t_ms": T0, "event": "k_applied"})[-1] == 0xC3
    assert blocks.parameter_block({"t_ms": T0, "event": "parameter"}) is None


def test_position_blocks_fill_missing_minutes():
    hour = T0 - T0 % 3600_000
    [b] = blocks.position_blocks([(hour + 60_000, 1, 2, 3, 300)])
    assert len(b) == 666
    assert b[6:17] == blocks.position(None) + b"\xff"
    assert b[17:28] == blocks.position((1, 2, 3)) + bytes((30,))
