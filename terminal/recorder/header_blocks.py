"""GB/T 19056 header blocks 00H-07H and setting commands 82H-C4H (recorder room, pure): layouts as data.

The byte layouts are those open implementations of GB/T 19056-2012 Annex A give for the
recorder's collection commands 00H-07H and its setting commands 82H-C4H as JT/T 808 carries
them in 0x8700 / 0x0700 / 0x8701 (the GB19056 "CarDVR" up and down packages of
SmallChi/JT808, read for the layouts only; the standard's own text was not read, see
docs/recorder.md). Every layout is a tuple of fields ``(name, kind, bytes)``:

- ``bcd``: an unsigned integer in BCD, most significant digit first;
- ``time``: BCD[6] ``YYMMDDhhmmss`` in GMT+8 from epoch ms (``None``: all zero digits);
- ``date``: BCD[3] ``YYMMDD`` in GMT+8 from epoch ms (``None``: all zero digits);
- ``byte`` / ``word``: unsigned big-endian integers;
- ``ascii`` / ``gbk``: text padded with 00H (an unknown value is all 00H);
- ``raw``: bytes padded with 00H.

``pack(layout, values)`` and ``unpack(layout, data)`` are each other's inverse; bad input
raises ``ValueError`` (``blocks.FrameError`` for data that cannot be read).
"""

import calendar

from terminal.link.payloads import bcd_time
from terminal.recorder.blocks import FrameError

GMT8_MS = 8 * 3600 * 1000

TIME = ("now", "time", 6)
STATUS_NAMES = tuple((f"d{i}", "gbk", 10) for i in range(8))

# collection command word -> (name, layout) of the data the recorder answers with
COLLECT = {
    0x00: ("执行标准版本", (("year", "bcd", 1), ("amendment", "byte", 1))),
    0x01: ("当前驾驶人信息", (("licence", "ascii", 18),)),
    0x02: ("实时时间", (TIME,)),
    0x03: ("累计行驶里程", (TIME, ("first_install", "time", 6), ("initial_01km", "bcd", 4),
                       ("total_01km", "bcd", 4))),
    0x04: ("脉冲系数", (TIME, ("k", "word", 2))),
    0x05: ("车辆信息", (("vin", "ascii", 17), ("plate", "gbk", 12), ("plate_class", "gbk", 12))),
    0x06: ("状态信号配置信息", (TIME, ("signals", "byte", 1)) + STATUS_NAMES),
    0x07: ("记录仪唯一性编号", (("ccc", "ascii", 7), ("model", "ascii", 16), ("production_date", "date", 3),
                          ("serial", "ascii", 4), ("reserved", "raw", 5))),
}

# setting command word (JT/T 808 0x8701) -> (name, layout) of its data
SETTING = {
    0x82: ("设置车辆信息", COLLECT[0x05][1]),
    0x83: ("设置初次安装日期", (("first_install", "time", 6),)),
    0x84: ("设置状态量配置信息", COLLECT[0x06][1]),
    0xC2: ("设置记录仪时间", COLLECT[0x02][1]),
    0xC3: ("设置记录仪脉冲系数", COLLECT[0x04][1]),
    0xC4: ("设置初始里程", COLLECT[0x03][1]),
}


def size(layout):
    return sum(n for _, _, n in layout)


def _date_bcd(t_ms):
    return bcd_time(t_ms)[:6]


def _pad(raw, n, name):
    if len(raw) > n:
        raise ValueError(f"{name}: {len(raw)} bytes do not fit in {n}")
    return raw + b"\0" * (n - len(raw))


def _field(name, kind, n, value):
    if kind == "bcd":
        if not isinstance(value, int) or value < 0 or value >= 10 ** (2 * n):
            raise ValueError(f"{name}: {value!r} is not a {2 * n}-digit number")
        return bytes.fromhex(str(value).zfill(2 * n))
    if kind in ("time", "date"):
        if value is None:
            return b"\0" * n
        return bytes.fromhex(bcd_time(value) if kind == "time" else _date_bcd(value))
    if kind in ("byte", "word"):
        if not isinstance(value, int) or not 0 <= value < 256 ** n:
            raise ValueError(f"{name}: {value!r} does not fit in {n} byte(s)")
        return value.to_bytes(n, "big")
    if kind == "raw":
        return _pad(bytes(value or b""), n, name)
    text = value or ""
    try:
        raw = text.encode("ascii" if kind == "ascii" else "gbk")
    except UnicodeEncodeError:
        raise ValueError(f"{name}: {text!r} is not {kind} text") from None
    return _pad(raw, n, name)


def pack(layout, values):
    """The data bytes of ``layout`` from ``values`` (a dict by field name; missing text/raw/time is empty)."""
    out = bytearray()
    for name, kind, n in layout:
        out += _field(name, kind, n, values.get(name))
    return bytes(out)


def _bcd_digits(raw, name):
    digits = raw.hex()
    if not digits.isdigit():
        raise FrameError(f"{name}: {digits} is not BCD")
    return digits


def _time_of(raw, name, kind):
    if raw == b"\0" * len(raw):
        return None
    digits = _bcd_digits(raw, name)
    if kind == "date":
        digits += "000000"
    y, mo, d, h, mi, s = (int(digits[i:i + 2]) for i in range(0, 12, 2))
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(2000 + y, mo)[1] and h < 24 and mi < 60 and s < 60):
        raise FrameError(f"{name}: {digits} is not a valid date and time")
    return calendar.timegm((2000 + y, mo, d, h, mi, s)) * 1000 - GMT8_MS


def unpack(layout, data):
    """The values of ``layout`` read from ``data``; FrameError when it is not that layout."""
    if len(data) != size(layout):
        raise FrameError(f"data of {len(data)} bytes, the layout has {size(layout)}")
    values, pos = {}, 0
    for name, kind, n in layout:
        raw = data[pos:pos + n]
        pos += n
        if kind == "bcd":
            values[name] = int(_bcd_digits(raw, name))
        elif kind in ("time", "date"):
            values[name] = _time_of(raw, name, kind)
        elif kind in ("byte", "word"):
            values[name] = int.from_bytes(raw, "big")
        elif kind == "raw":
            values[name] = bytes(raw)
        else:
            try:
                values[name] = raw.rstrip(b"\0").decode("ascii" if kind == "ascii" else "gbk")
            except UnicodeDecodeError:
                raise FrameError(f"{name}: not {kind} text") from None
    return values


def fit(text, n, encoding="gbk"):
    """``text`` cut to what fits in ``n`` bytes of ``encoding`` (whole characters; unencodable ones dropped)."""
    out = ""
    for ch in text or "":
        try:
            candidate = (out + ch).encode(encoding)
        except UnicodeEncodeError:
            continue
        if len(candidate) > n:
            break
        out += ch
    return out
