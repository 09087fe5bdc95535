"""GB/T 19056 blocks 00H-07H and 15H: golden bytes (written out by hand from the layouts in
docs/recorder.md), round trips, and the platform's collection of them."""

from hypothesis import given
from hypothesis import strategies as st

from terminal.recorder import blocks, export, header_blocks, identity
from terminal.recorder.store import RecordStore
from terminal.storage.database import Storage

T0 = 1_795_000_020_000          # 2026-11-18 19:07:00 GMT+8
T0_BCD = "261118190700"
FACTS = {"driver": "440100123456", "k": 1000, "total_m": 123_456_789, "plate": "浙A12345", "device_id": "TX-0042",
         "first_install_ms": T0 - 86_400_000}

def values(storage=None, facts=FACTS):
    return identity.header_values(identity.params(storage) if storage else {}, facts, T0)

def packed(code, vals):
    return header_blocks.pack(header_blocks.COLLECT[code][1], vals[code]).hex()

def test_golden_bytes_of_the_header_blocks():
    v = values()
    assert packed(0x00, v) == "1200"                                   # 2012, no amendment
    assert packed(0x01, v) == b"440100123456".hex() + "00" * 6
    assert packed(0x02, v) == T0_BCD
    # now, first installation (a day before), initial mileage 0, 123456.7 km in 0.1 km, BCD[4] each
    assert packed(0x03, v) == T0_BCD + "261117190700" + "00000000" + "01234567"
    assert packed(0x04, v) == T0_BCD + "03e8"                          # K = 1000
    assert packed(0x05, v) == "00" * 17 + "d5e3413132333435" + "00" * 4 + "00" * 12
    status = packed(0x06, v)
    assert status[:14] == T0_BCD + "03"                                # D0 ignition, D1 occupied
    assert status[14:34] == "b5e3bbf0" + "00" * 6                      # D0 点火, GBK, padded to 10
    assert len(status) == 2 * 87
    assert packed(0x07, v) == ("00" * 7 + b"TAXITERM".hex() + "00" * 8 + "000000" + b"0042".hex() + "00" * 5)

def test_golden_bytes_of_a_speed_status_log():
    body = {"status": 2, "start_ms": T0, "end_ms": T0 + 59_000, "recorded": [505] * 60, "reference": [600] * 60}
    block = blocks.speed_status_block(body)
    assert block.hex() == "02" + T0_BCD + "261118190759" + "333c" * 60   # 51 and 60 km/h
    assert len(block) == 133

def test_the_status_byte_order_and_sizes_follow_the_layouts():
    sizes = {code: header_blocks.size(layout) for code, (_, layout) in header_blocks.COLLECT.items()}
    assert sizes == {0x00: 2, 0x01: 18, 0x02: 6, 0x03: 20, 0x04: 8, 0x05: 41, 0x06: 87, 0x07: 35}
    assert {code: header_blocks.size(layout) for code, (_, layout) in header_blocks.SETTING.items()} == \
        {0x82: 41, 0x83: 6, 0x84: 87, 0xC2: 6, 0xC3: 8, 0xC4: 20}

text17 = st.text(alphabet="ABCDEFGHJKLMNPRSTUVWXYZ0123456789", max_size=17)
plate = st.text(alphabet="京沪浙粤ABCDEFG0123456789", max_size=6)
times = st.integers(946_656_000_000, 4_102_415_999_000).map(lambda t: t - t % 1000)

@given(text17, plate, plate)
def test_vehicle_information_round_trips(vin, plate_no, plate_class):
    layout = header_blocks.SETTING[0x82][1]
    vals = {"vin": vin, "plate": plate_no, "plate_class": plate_class}
    assert header_blocks.unpack(layout, header_blocks.pack(layout, vals)) == vals

@given(times, times, st.integers(0, 99_999_999), st.integers(0, 99_999_999), st.integers(0, 0xFFFF))
def test_mileage_and_pulse_coefficient_round_trip(now, first, initial, total, k):
    layout = header_blocks.COLLECT[0x03][1]
    vals = {"now": now, "first_install": first, "initial_01km": initial, "total_01km": total}
    assert header_blocks.unpack(layout, header_blocks.pack(layout, vals)) == vals
    layout = header_blocks.COLLECT[0x04][1]
    assert header_blocks.unpack(layout, header_blocks.pack(layout, {"now": now, "k": k})) == {"now": now, "k": k}

def test_what_does_not_fit_or_read_is_refused():
    import pytest
    layout = header_blocks.COLLECT[0x05][1]
    with pytest.raises(ValueError):
        header_blocks.pack(layout, {"vin": "X" * 18})
    with pytest.raises(blocks.FrameError):
        header_blocks.unpack(layout, b"\0" * 40)
    with pytest.raises(blocks.FrameError):
        header_blocks.unpack(header_blocks.COLLECT[0x02][1], bytes.fromhex("26131819070a"))   # month 13, not BCD

def test_the_platform_collects_each_header_block(tmp_path):
    storage = Storage(tmp_path / "t.db")
    RecordStore(storage)
    identity.set_params(storage, {"vin": "LSVAU2180N2183294", "plate_class": "出租"})
    for code in range(0x08):
        reply = export.collect(storage, code, blocks.frame(blocks.DOWN, code, b""), facts=FACTS, now_ms=T0)
        got_code, data = blocks.read_frame(reply, blocks.UP)
        assert got_code == code
        assert data == header_blocks.pack(header_blocks.COLLECT[code][1], values(storage)[code])
    _, data = blocks.read_frame(export.collect(storage, 0x05, blocks.frame(blocks.DOWN, 0x05, b""), facts=FACTS,
                                               now_ms=T0), blocks.UP)
    assert header_blocks.unpack(header_blocks.COLLECT[0x05][1], data) == \
        {"vin": "LSVAU2180N2183294", "plate": "浙A12345", "plate_class": "出租"}
    # the 00H frame written out: 55 7A, command, length 2, reserved, data, XOR
    assert export.collect(storage, 0x00, bytes.fromhex("aa7500000000df"), facts=FACTS, now_ms=T0).hex() == \
        "557a000002001200" + "3f"

def test_speed_status_logs_are_collected_newest_first(tmp_path):
    storage = Storage(tmp_path / "t.db")
    s = RecordStore(storage)
    for i, status in enumerate((1, 2)):
        t = T0 + i * 120_000
        s.event("speed_status", t + 59_000, {"t_ms": t + 59_000, "start_ms": t, "end_ms": t + 59_000, "status": status,
                                            "recorded": [500] * 60, "reference": [500] * 60})
    s.flush()
    reply = export.collect(storage, 0x15, blocks.window_param(0x15, T0, T0 + 600_000, 5))
    code, data = blocks.read_frame(reply, blocks.UP)
    assert code == 0x15 and len(data) == 2 * 133 and data[0] == 2 and data[133] == 1
    line = next(r for r in export.records(storage, "speed_status", T0, T0 + 600_000))
    assert line["type"] == "speed_status" and line["status"] == 1           # in the JSON lines too
