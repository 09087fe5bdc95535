"""GB/T 19056 data blocks (recorder room, pure): the driving records in the recorder standard's byte layouts.

The layouts are those of GB/T 19056-2012 Annex A as open implementations of the standard
declare them (the standard's own text was not read; docs/recorder.md says which parts):

- 08H speed: BCD[6] start of the minute, 60 x (speed BYTE km/h, status BYTE) = 126 bytes;
- 09H position: BCD[6] start of the hour, 60 x (position[10], speed BYTE) = 666 bytes;
- 10H stop (accident doubtful point): BCD[6] stop time, licence[18], 100 x (speed, status)
  from the stop backwards at 0.2 s, position[10] = 234 bytes;
- 11H overtime driving: licence[18], BCD[6] start, BCD[6] end, position[10] x 2 = 50 bytes;
- 12H driver identity: BCD[6], licence[18], event BYTE (1 sign-in, 2 sign-out) = 25 bytes;
- 13H external power: BCD[6], event BYTE (1 on, 2 off) = 7 bytes;
- 14H parameter change: BCD[6], the setting command word BYTE = 7 bytes;
- 15H speed status log: status BYTE (01H normal, 02H abnormal), BCD[6] start, BCD[6] end,
  60 x (recorded speed BYTE, reference speed BYTE) = 133 bytes.

The header blocks 00H-07H are in header_blocks.py.

position[10] = longitude DWORD, latitude DWORD (signed, 0.0001 minute, negative west/south),
altitude WORD (signed, m); an unknown position is 0x7FFFFFFF, 0x7FFFFFFF, 0. Times are
BCD ``YYMMDDhhmmss`` in GMT+8. Unrecorded speed is 0xFF. The licence field carries the
driver's qualification certificate number, ASCII, padded with zero bytes.
"""

import struct

from terminal.link.payloads import bcd_time
from terminal.recorder.core import NO_SPEED

NAMES = {0x00: "执行标准版本", 0x01: "当前驾驶人信息", 0x02: "实时时间", 0x03: "累计行驶里程",
         0x04: "脉冲系数", 0x05: "车辆信息", 0x06: "状态信号配置信息", 0x07: "记录仪唯一性编号",
         0x08: "行驶速度记录", 0x09: "位置信息记录", 0x10: "事故疑点记录", 0x11: "超时驾驶记录",
         0x12: "驾驶人身份记录", 0x13: "外部供电记录", 0x14: "参数修改记录", 0x15: "速度状态日志"}
# audit events -> GB/T 19056 setting command words (others have none and appear only in JSON)
PARAMETER_CODES = {"k_applied": 0xC3, "k_calibrated": 0xC3, "clock_correction": 0xC2, "provisioned": 0x82}
UNKNOWN_POS = struct.pack(">iih", 0x7FFFFFFF, 0x7FFFFFFF, 0)
HOUR_MS = 3_600_000


def bcd6(t_ms):
    return bytes.fromhex(bcd_time(t_ms))


def licence(cert):
    raw = (cert or "").encode("ascii", "replace")[:18]
    return raw + b"\0" * (18 - len(raw))


def position(pos):
    """(lat_1e6, lon_1e6, alt_m) -> 10 bytes; None -> the unknown position."""
    if pos is None or pos[0] is None:
        return UNKNOWN_POS
    lat, lon, alt = pos
    # 1e-6 degree -> 0.0001 minute: x 60 x 10^4 / 10^6 = x 3 / 5, rounded half away from zero
    lat_m = (abs(lat) * 3 * 2 + 5) // 10 * (1 if lat >= 0 else -1)
    lon_m = (abs(lon) * 3 * 2 + 5) // 10 * (1 if lon >= 0 else -1)
    return struct.pack(">iih", lon_m, lat_m, max(-32768, min(32767, alt or 0)))


def speed_byte(speed_01):
    if speed_01 is None or speed_01 == NO_SPEED:
        return 0xFF
    return min(254, (speed_01 + 5) // 10)


def speed_block(minute_ms, seconds):
    """08H from one minute of (speed_01, status, source)."""
    out = bytearray(bcd6(minute_ms))
    for speed, status, _ in seconds:
        out += bytes((speed_byte(speed), status & 0xFF))
    return bytes(out)


def position_blocks(rows):
    """09H, one per hour, from (minute_ms, lat, lon, alt, speed_01) rows sorted by time."""
    hours = {}
    for minute_ms, lat, lon, alt, speed in rows:
        hours.setdefault(minute_ms - minute_ms % HOUR_MS, {})[(minute_ms % HOUR_MS) // 60_000] = (lat, lon, alt, speed)
    out = []
    for hour in sorted(hours):
        block = bytearray(bcd6(hour))
        for minute in range(60):
            lat, lon, alt, speed = hours[hour].get(minute, (None, None, None, None))
            block += position((lat, lon, alt)) + bytes((speed_byte(speed),))
        out.append(bytes(block))
    return out


def stop_block(body):
    """10H from a stop record (samples oldest first in the record; newest first in the block)."""
    samples = list(body["samples"])[-100:]
    samples = [[NO_SPEED, 0]] * (100 - len(samples)) + samples
    out = bytearray(bcd6(body["t_ms"]) + licence(body.get("driver_cert")))
    for speed, status in reversed(samples):
        out += bytes((speed_byte(speed), status & 0xFF))
    return bytes(out + position(body.get("position")))


def overtime_block(body):
    return (licence(body.get("driver_cert")) + bcd6(body["start_ms"]) + bcd6(body["end_ms"])
            + position(body.get("start_pos")) + position(body.get("end_pos")))


def driver_block(body):
    return bcd6(body["t_ms"]) + licence(body.get("driver_cert")) + bytes((1 if body["event"] == "sign_in" else 2,))


def power_block(body):
    return bcd6(body["t_ms"]) + bytes((1 if body["on"] else 2,))


def parameter_block(row):
    code = PARAMETER_CODES.get(row["event"])
    if code is None and row["event"] == "parameter":
        from terminal.recorder.setting import PARAMETER_WORDS
        code = PARAMETER_WORDS.get(row.get("parameter"))
    return None if code is None else bcd6(row["t_ms"]) + bytes((code,))


def speed_status_block(body):
    """15H from a speed status log (terminal/recorder/speed_status.py)."""
    pairs = list(zip(body["recorded"], body["reference"], strict=False))[:60]
    pairs += [(NO_SPEED, NO_SPEED)] * (60 - len(pairs))
    out = bytearray(bytes((body["status"] & 0xFF,)) + bcd6(body["start_ms"]) + bcd6(body["end_ms"]))
    for recorded, reference in pairs:
        out += bytes((speed_byte(recorded), speed_byte(reference)))
    return bytes(out)


def container(blocks):
    """A data file: block count WORD, then per block code BYTE, name[18] (GBK), length DWORD, data; XOR last.

    ``blocks`` is a list of (code, data bytes) with one entry per code (data = its records
    concatenated).
    """
    out = bytearray(struct.pack(">H", len(blocks)))
    for code, data in blocks:
        name = NAMES[code].encode("gbk")[:18]
        out += bytes((code,)) + name + b"\0" * (18 - len(name)) + struct.pack(">I", len(data)) + data
    check = 0
    for byte in out:
        check ^= byte
    out.append(check)
    return bytes(out)


# -- GB/T 19056 serial frames (inside JT/T 808 0x8700 / 0x0700) ------------------------------------------

DOWN = b"\xaa\x75"          # platform/PC to recorder
UP = b"\x55\x7a"            # recorder to platform/PC
ERROR_COLLECT = 0xFA        # the reply when a collection command cannot be read


class FrameError(ValueError):
    """A GB/T 19056 frame that cannot be read."""


def _xor(data):
    check = 0
    for byte in data:
        check ^= byte
    return check


def frame(head, command, data):
    """head[2], command BYTE, length WORD, reserved BYTE (00), data, XOR of everything before."""
    out = head + struct.pack(">BHB", command, len(data), 0) + data
    return out + bytes((_xor(out),))


def read_frame(raw, head=DOWN):
    """(command, data) of one frame; FrameError when it is not one."""
    if len(raw) < 7 or raw[:2] != head:
        raise FrameError(f"not a GB/T 19056 frame (head {raw[:2].hex()})")
    command, length, _ = struct.unpack(">BHB", raw[2:6])
    if len(raw) != 7 + length:
        raise FrameError(f"frame length {len(raw)}, header says {7 + length}")
    if _xor(raw[:-1]) != raw[-1]:
        raise FrameError("frame checksum does not match")
    return command, raw[6:-1]


def read_window(data):
    """The 08H-15H collection parameters: (start_ms, end_ms, max blocks)."""
    from terminal.link.jtt.fields import epoch_ms
    if len(data) != 14:
        raise FrameError(f"collection parameters are 14 bytes (start, end, count), got {len(data)}")
    return epoch_ms(data[:6].hex()), epoch_ms(data[6:12].hex()) + 999, struct.unpack(">H", data[12:14])[0]


def window_param(command, start_ms, end_ms, count):
    """The 0x8700 ``param`` a platform sends for 08H-15H (for tests and the emulator)."""
    return frame(DOWN, command, bcd6(start_ms) + bcd6(end_ms) + struct.pack(">H", count))
