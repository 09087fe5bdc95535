"""Export and query of the driving records (recorder room): JSON lines, and the platform's query.

``lines(storage, from_ms, to_ms)`` yields one JSON object per line (format
``taxiterm-record/1``, docs/recorder.md): a header, then every record in the window by
kind: ``speed`` (one line per minute of one-second records), ``position`` (one per
minute), ``stop``, ``overtime``, ``overspeed``, ``driver``, ``power`` and ``parameter``
(the latter read from the audit trail). ``query(...)`` gives one kind as a list for the
platform (``down/record_query`` -> ``up/record``), at most ``limit`` records.
"""

from __future__ import annotations

import json

from terminal.recorder import store
from terminal.recorder.core import NO_SPEED, SOURCE_LETTERS

FORMAT = "taxiterm-record/1"
KINDS = ("speed", "position", "stop", "overtime", "overspeed", "driver", "power", "parameter")
EVENT_KINDS = ("stop", "overtime", "overspeed", "driver", "power")


def _pos(pos) -> dict | None:
    if pos is None or pos[0] is None:
        return None
    lat, lon, alt = pos
    return {"lat_1e6": lat, "lon_1e6": lon, "alt_m": alt}


def speed_line(minute_ms: int, data: bytes) -> dict:
    secs = store.seconds(data)
    return {"type": "speed", "t": minute_ms,
            "speed": [None if s == NO_SPEED else s for s, _, _ in secs],
            "status": [st for _, st, _ in secs],
            "source": "".join(SOURCE_LETTERS[src] if src < len(SOURCE_LETTERS) else "?" for _, _, src in secs)}


def position_line(row: tuple) -> dict:
    minute_ms, lat, lon, alt, speed = row
    return {"type": "position", "t": minute_ms, "position": _pos((lat, lon, alt)),
            "speed": None if speed == NO_SPEED else speed}


def event_line(kind: str, body: dict) -> dict:
    out = {"type": kind, "t": body.get("t_ms", body.get("start_ms"))}
    for key, value in body.items():
        if key == "t_ms":
            continue
        out[key] = _pos(value) if key in ("position", "start_pos", "end_pos") else value
    return out


def parameter_line(row: dict) -> dict:
    return {"type": "parameter", "t": row["t_ms"], **{k: v for k, v in row.items() if k != "t_ms"}}


def records(storage, kind: str, from_ms: int, to_ms: int):
    """Every record of one kind in [from_ms, to_ms], oldest first, as export lines."""
    if kind == "speed":
        for minute_ms, data in store.speed_minutes(storage, from_ms, to_ms):
            yield speed_line(minute_ms, data)
    elif kind == "position":
        for row in store.positions(storage, from_ms, to_ms):
            yield position_line(row)
    elif kind == "parameter":
        for row in store.parameter_changes(storage, from_ms, to_ms):
            yield parameter_line(row)
    elif kind in EVENT_KINDS:
        for body in store.events(storage, kind, from_ms, to_ms):
            yield event_line(kind, body)
    else:
        raise ValueError(f"unknown record kind {kind!r}; known: {', '.join(KINDS)}")


def lines(storage, from_ms: int, to_ms: int, *, terminal_id: str = "", now_ms: int = 0, kinds=KINDS):
    yield {"type": "header", "format": FORMAT, "terminal_id": terminal_id, "from": from_ms, "to": to_ms,
           "generated": now_ms, "kinds": list(kinds)}
    for kind in kinds:
        yield from records(storage, kind, from_ms, to_ms)


def write_jsonl(out, storage, from_ms: int, to_ms: int, **kw) -> int:
    """Write the export to the text stream ``out``; returns the number of lines."""
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for line in lines(storage, from_ms, to_ms, **kw):
        out.write(dumps(line))
        out.write("\n")
        n += 1
    return n


def query(storage, kind: str, from_ms: int, to_ms: int, limit: int) -> tuple[list[dict], bool]:
    """Up to ``limit`` records of ``kind`` in the window, and whether more were left out."""
    found = []
    for line in records(storage, kind, from_ms, to_ms):
        if len(found) == limit:
            return found, True
        found.append(line)
    return found, False


def gbt_file(storage, from_ms: int, to_ms: int) -> bytes:
    """The window as GB/T 19056 data blocks 08H-14H in one data file (terminal/recorder/blocks.py)."""
    from terminal.recorder import blocks
    parts = [
        (0x08, b"".join(blocks.speed_block(m, store.seconds(d)) for m, d in store.speed_minutes(storage, from_ms, to_ms))),
        (0x09, b"".join(blocks.position_blocks(store.positions(storage, from_ms, to_ms)))),
        (0x10, b"".join(blocks.stop_block(b) for b in store.events(storage, "stop", from_ms, to_ms))),
        (0x11, b"".join(blocks.overtime_block(b) for b in store.events(storage, "overtime", from_ms, to_ms))),
        (0x12, b"".join(blocks.driver_block(b) for b in store.events(storage, "driver", from_ms, to_ms))),
        (0x13, b"".join(blocks.power_block(b) for b in store.events(storage, "power", from_ms, to_ms))),
        (0x14, b"".join(filter(None, (blocks.parameter_block(r)
                                      for r in store.parameter_changes(storage, from_ms, to_ms))))),
    ]
    return blocks.container(parts)


def collect(storage, command: int, param: bytes) -> bytes:
    """The GB/T 19056 reply frame for a JT/T 808 0x8700 (its ``command`` and ``param``): 0x0700's ``data``.

    08H-14H with a window: that kind's blocks in the window, newest first, at most the count
    asked for; anything else, or a frame that cannot be read, is the error reply (FAH).
    """
    from terminal.recorder import blocks
    try:
        code, data = blocks.read_frame(param)
        start, end, count = blocks.read_window(data)
    except blocks.FrameError:
        return blocks.frame(blocks.UP, blocks.ERROR_COLLECT, b"")
    if code != command or not 0x08 <= code <= 0x14 or count < 1:
        return blocks.frame(blocks.UP, blocks.ERROR_COLLECT, b"")
    if code == 0x08:
        units = [blocks.speed_block(m, store.seconds(d)) for m, d in store.speed_minutes(storage, start, end)]
    elif code == 0x09:
        units = blocks.position_blocks(store.positions(storage, start, end))
    elif code == 0x14:
        units = [b for b in map(blocks.parameter_block, store.parameter_changes(storage, start, end)) if b]
    else:
        kind = {0x10: "stop", 0x11: "overtime", 0x12: "driver", 0x13: "power"}[code]
        build = {0x10: blocks.stop_block, 0x11: blocks.overtime_block, 0x12: blocks.driver_block,
                 0x13: blocks.power_block}[code]
        units = [build(b) for b in store.events(storage, kind, start, end)]
    if units:
        count = min(count, 0xFFFF // len(units[0]))       # a frame's length is a WORD
    return blocks.frame(blocks.UP, code, b"".join(reversed(units[-count:])))
