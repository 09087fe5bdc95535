"""A 48 h speed-record collection over JT/T 808: each 0x0700 reply longer than one package goes in
sub-packages (header flag, total, index) that the platform reassembles; the platform pages through
the 48 h because one GB/T 19056 frame holds at most 65535 bytes (520 minutes of 08H)."""

import base64

import pytest

from sim.jtt_platform import JttPlatform
from terminal.recorder import blocks
from terminal.recorder.store import RecordStore
from tests.terminal.harness import Car

MINUTES = 48 * 60


@pytest.fixture
def rig(tmp_path, mosquitto):
    platform = JttPlatform("jt808").start()
    car = Car(tmp_path, mosquitto)
    from terminal.app import config as config_mod
    raw = {k: v for k, v in car.config.items()}
    raw["links"] = {"use": ["mqtt", "jt808"]}
    raw["jt808"] = {"port": platform.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.2}
    raw["mqtt"] = {k: v for k, v in raw["mqtt"].items() if k != "terminal_id"}
    car.config = config_mod.from_dict(raw)
    runtime = car.start()
    platform.wait_online(10)
    yield runtime, platform
    car.close()
    platform.stop()


def fill(storage, end_minute):
    s = RecordStore(storage)
    start = end_minute - MINUTES * 60_000
    for m in range(MINUTES):
        minute = start + m * 60_000
        for i in range(60):
            s.second(minute + i * 1000, (m % 100) * 10, 3, 1)
        if m % 60 == 59:
            s.flush()
    s.flush()
    return start


def test_a_48_hour_speed_collection_arrives_in_sub_packages_and_whole(rig):
    runtime, platform = rig
    now = runtime.clock()
    end_minute = now - now % 60_000 - 20 * 60_000           # clear of what the live recorder writes, within 49 h
    start = fill(runtime.terminal.storage, end_minute)
    got, to, replies = {}, end_minute - 1000, []
    while to >= start:
        sn = platform.command(0x8700, {"command": 0x08, "param": base64.b64encode(
            blocks.window_param(0x08, start, to, MINUTES)).decode("ascii")})
        reply = platform.wait_for(lambda m, sn=sn: m["header"]["msg_id"] == 0x0700 and m["body"]["seq"] == sn, 20)
        replies.append(reply)
        code, data = blocks.read_frame(base64.b64decode(reply["body"]["data"]), blocks.UP)
        assert code == 0x08 and len(data) % 126 == 0 and data
        assert len(data) + 3 > 1023                           # more than one package's body: it was split
        minutes = [data[i:i + 126] for i in range(0, len(data), 126)]
        for unit in minutes:
            got[unit[:6]] = unit
        oldest = min(blocks_time(u) for u in minutes)
        to = oldest - 1000
    assert len(got) == MINUTES
    assert got[blocks.bcd6(start)][6:8] == bytes((0, 3)) and got[blocks.bcd6(start + 60_000)][6:8] == bytes((1, 3))
    # the packages of one reply used consecutive serials: the next message comes after all of them
    first, second = replies[0]["header"]["msg_sn"], replies[1]["header"]["msg_sn"]
    packages = -(-(3 + len(base64.b64decode(replies[0]["body"]["data"]))) // 1023)
    assert (second - first) % 0x10000 >= packages


def blocks_time(unit):
    from terminal.link.jtt.fields import epoch_ms
    return epoch_ms(unit[:6].hex())


def test_header_blocks_and_settings_over_a_real_connection(rig):
    from terminal.recorder import header_blocks
    runtime, platform = rig

    def collect(code):
        sn = platform.command(0x8700, {"command": code, "param": base64.b64encode(
            blocks.frame(blocks.DOWN, code, b"")).decode("ascii")})
        reply = platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0700 and m["body"]["seq"] == sn, 10)
        got, data = blocks.read_frame(base64.b64decode(reply["body"]["data"]), blocks.UP)
        assert got == code
        return header_blocks.unpack(header_blocks.COLLECT[code][1], data)

    def setting(code, values):
        frame = blocks.frame(blocks.DOWN, code, header_blocks.pack(header_blocks.SETTING[code][1], values))
        sn = platform.command(0x8701, {"command": code, "param": base64.b64encode(frame).decode("ascii")})
        return platform.wait_reply(sn, 10)["body"]["result"]

    assert collect(0x04)["k"] == 1000
    assert collect(0x05)["plate"] == "浙A·T1234"                                    # the configured plate
    now = runtime.clock()
    assert setting(0xC3, {"now": now - now % 1000, "k": 1234}) == 1                # legal: refused
    assert collect(0x04)["k"] == 1000 and runtime.terminal.meter.odometer.k == 1000
    assert setting(0x82, {"vin": "LSVAU2180N2183294", "plate": "浙A88888", "plate_class": "出租"}) == 0
    assert collect(0x05) == {"vin": "LSVAU2180N2183294", "plate": "浙A88888", "plate_class": "出租"}
