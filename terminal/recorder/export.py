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
KINDS = ("speed", "position", "stop", "overtime", "overspeed", "driver", "power", "parameter", "speed_status")
EVENT_KINDS = ("stop", "overtime", "overspeed", "driver", "power", "speed_status")


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


def header_values(storage, facts: dict | None, now_ms: int) -> dict:
    """The values of blocks 00H-07H: the recorder's parameters with ``facts`` (the live terminal's,
    or where there is none the ones the desk last wrote with its batch)."""
    from terminal.recorder import identity
    if facts is None:
        facts = (store.saved_state(storage) or {}).get("facts") or {}
    facts = dict(facts)
    facts.setdefault("first_install_ms", identity.first_provisioned_ms(storage))
    return identity.header_values(identity.params(storage), facts, now_ms)


def _units(storage, code: int, start: int, end: int) -> list[bytes]:
    """The unit blocks of one collection command (08H-15H) in the window, oldest first."""
    from terminal.recorder import blocks
    if code == 0x08:
        return [blocks.speed_block(m, store.seconds(d)) for m, d in store.speed_minutes(storage, start, end)]
    if code == 0x09:
        return blocks.position_blocks(store.positions(storage, start, end))
    if code == 0x14:
        return [b for b in map(blocks.parameter_block, store.parameter_changes(storage, start, end)) if b]
    kind, build = {0x10: ("stop", blocks.stop_block), 0x11: ("overtime", blocks.overtime_block),
                   0x12: ("driver", blocks.driver_block), 0x13: ("power", blocks.power_block),
                   0x15: ("speed_status", blocks.speed_status_block)}[code]
    return [build(b) for b in store.events(storage, kind, start, end)]


def gbt_file(storage, from_ms: int, to_ms: int, *, facts: dict | None = None, now_ms: int | None = None) -> bytes:
    """The window as GB/T 19056 data blocks in one data file: the header blocks 00H-07H as of
    ``now_ms`` (default ``to_ms``), then 08H-15H (terminal/recorder/blocks.py, header_blocks.py)."""
    from terminal.recorder import blocks, header_blocks
    now = to_ms if now_ms is None else now_ms
    values = header_values(storage, facts, now)
    parts = [(code, header_blocks.pack(header_blocks.COLLECT[code][1], values[code])) for code in range(0x08)]
    parts += [(code, b"".join(_units(storage, code, from_ms, to_ms))) for code in (*range(0x08, 0x0A),
                                                                                    *range(0x10, 0x16))]
    return blocks.container(parts)


def collect(storage, command: int, param: bytes, *, facts: dict | None = None, now_ms: int = 0) -> bytes:
    """The GB/T 19056 reply frame for a JT/T 808 0x8700 (its ``command`` and ``param``): 0x0700's ``data``.

    00H-07H: the recorder's header block (``facts`` from the terminal, as of ``now_ms``);
    08H-15H with a window: that kind's blocks in the window, newest first, at most the count
    asked for and at most what the frame's WORD length holds; anything else, or a frame that
    cannot be read, is the error reply (FAH).
    """
    from terminal.recorder import blocks, header_blocks
    error = blocks.frame(blocks.UP, blocks.ERROR_COLLECT, b"")
    try:
        code, data = blocks.read_frame(param)
        if code != command:
            return error
        if code in header_blocks.COLLECT:
            if data:
                return error
            values = header_values(storage, facts, now_ms)[code]
            return blocks.frame(blocks.UP, code, header_blocks.pack(header_blocks.COLLECT[code][1], values))
        start, end, count = blocks.read_window(data)
    except (blocks.FrameError, ValueError):
        return error
    if not (0x08 <= code <= 0x15 and code not in range(0x0A, 0x10)) or count < 1:
        return error
    units = _units(storage, code, start, end)
    if units:
        count = min(count, 0xFFFF // len(units[0]))       # a frame's length is a WORD
    return blocks.frame(blocks.UP, code, b"".join(reversed(units[-count:])))
