"""Hypothesis strategies that build valid JSON messages from the codec's own layout tables,
so every message id in jt808.MESSAGES / jt905.MESSAGES gets a round-trip property."""

import base64

from hypothesis import strategies as st

from terminal.link.jtt import jt808, jt905, tlv
from terminal.link.jtt import layout as lay

B64 = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
B64_NONEMPTY = st.binary(min_size=1, max_size=12).map(lambda b: base64.b64encode(b).decode())
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def text(max_bytes: int):
    return st.text(CHARS, max_size=max_bytes).filter(lambda s: len(s.encode("gb18030")) <= max_bytes)


def uint(size: int):
    return st.integers(0, (1 << (8 * size)) - 1)


def bcd(size: int):
    return st.text("0123456789", min_size=2 * size, max_size=2 * size)


def for_kind(kind, size=0):
    if isinstance(kind, lay.Part):
        return for_part(kind)
    return {
        "byte": uint(1), "word": uint(2), "dword": uint(4), "int16": st.integers(-32768, 32767),
        "bcd": bcd(size) if size else None, "str": text(size) if size else None,
        "strz": text(40), "lstr": text(40), "text": text(60), "b64": B64,
    }[kind]


def for_layout(layout: tuple):
    fixed: dict = {}
    optional: dict = {}
    merges = []
    for field in layout:
        key, kind = field[0], field[1]
        size = field[2] if len(field) > 2 else 0
        if isinstance(kind, lay.Merge):
            merges.append(for_merge(kind))
        elif kind == "b64opt":
            optional[key] = B64_NONEMPTY
        elif kind == "textopt":
            optional[key] = text(40).filter(bool)
        else:
            fixed[key] = for_kind(kind, size)
    base = st.fixed_dictionaries(fixed, optional=optional)
    if not merges:
        return base
    return st.tuples(base, *merges).map(lambda parts: {k: v for part in parts for k, v in part.items()})


def _bits(part: tlv.Bits):
    names = st.fixed_dictionaries({name: st.integers(0, 1) for name in part.names})
    top = 8 * part.size
    reserved = st.integers(1, (1 << (top - len(part.names))) - 1).map(lambda r: r << len(part.names))
    return st.tuples(names, st.none() | reserved).map(
        lambda t: t[0] if t[1] is None else dict(t[0], reserved=t[1]))


def _extras(part: tlv.Extras):
    known = {key: for_kind(kind) for key, kind in part.table.values()}
    unknown_ids = [i for i in range(256) if i not in part.table and i not in part.custom_ids]
    unknown = st.dictionaries(st.sampled_from(unknown_ids).map(str), B64, max_size=2)
    custom = st.dictionaries(st.sampled_from(list(part.custom_ids)).map(str), B64, min_size=1, max_size=2)
    return st.tuples(st.fixed_dictionaries({}, optional=known), unknown, st.none() | custom).map(
        lambda t: {**t[0], **t[1], **({"custome": t[2]} if t[2] else {})})


def _param(part: tlv.Param):
    typed = [(pid, kind) for pid, kind in part.table.items()]
    unknown = st.integers(0, (1 << (8 * part.id_size)) - 1).filter(lambda i: i not in part.table)

    def known(pair):
        pid, kind = pair
        value = text(60) if kind == "str" else uint(tlv.SIZES[kind])
        return value.map(lambda v: {"id": pid, "value": v})

    return st.sampled_from(typed).flatmap(known) | st.builds(lambda i, v: {"id": i, "value": v}, unknown, B64)


def for_part(part):
    if isinstance(part, tlv.Bits):
        return _bits(part)
    if isinstance(part, tlv.Extras):
        return _extras(part)
    if isinstance(part, tlv.Param):
        return _param(part)
    if isinstance(part, tlv.Overspeed):
        return st.fixed_dictionaries({"type": uint(1)}, optional={"id": uint(4)})
    if isinstance(part, jt808.Location):
        return st.tuples(for_layout(jt808.LOCATION_BASE), st.none() | _extras(part.extras).filter(bool)).map(
            lambda t: t[0] if t[1] is None else dict(t[0], extra=t[1]))
    if isinstance(part, jt905.Location):
        extra = st.dictionaries(st.integers(0, 255).map(str), B64, min_size=1, max_size=3)
        return st.tuples(for_layout(jt905.LOCATION_BASE), st.none() | extra).map(
            lambda t: t[0] if t[1] is None else dict(t[0], extra=t[1]))
    if isinstance(part, lay.Sub):
        return for_layout(part.layout)
    if isinstance(part, lay.Rest):
        return st.lists(for_part(part.item), max_size=4)
    if isinstance(part, lay.Sized):
        return for_part(part.item)
    raise AssertionError(f"no strategy for {part!r}")


def for_merge(part):
    if isinstance(part, (jt808.Inline, jt905.Inline)):
        return for_part(part.part)
    if isinstance(part, tlv.Counted):
        items = st.lists(for_kind(part.item) if not isinstance(part.item, lay.Part) else for_part(part.item),
                         max_size=5)
        return items.map(lambda xs: {part.count_key: len(xs), part.list_key: xs})
    if isinstance(part, jt808.BatchLocation):
        return st.builds(lambda kind, xs: {"length": len(xs), "type": kind, "location": xs},
                         st.integers(0, 1), st.lists(for_part(part.item.item), max_size=4))
    if isinstance(part, jt808.Auth2019):
        return st.builds(lambda code, imei, ver: {"code_len": len(code.encode("gb18030")), "code": code,
                                                  "imei": imei, "sw_version": ver},
                         text(40), text(15), text(20))
    if isinstance(part, jt808.Registration):   # a 2011 body must stay shorter than the 2013 layout
        short = jt808.REGISTRATION_2011[:-1] + (("license_number", "str", 11),)
        return for_layout(jt808.REGISTRATION_2013) | for_layout(short).map(lambda b: dict(b, version=2011))
    if isinstance(part, jt905.Tracking):
        return for_layout(part.layout)
    if isinstance(part, jt905.ParamIds):
        return st.lists(uint(2), max_size=6).map(lambda ids: {"ids": ids})
    if isinstance(part, jt905.MeterRecord):
        return st.none().map(lambda _: {}) | for_layout(jt905.METER_RECORD).map(lambda m: {"meter": m}) | \
            st.binary(min_size=1, max_size=jt905.METER_FIXED - 1).map(
                lambda b: {"meter_raw": base64.b64encode(b).decode()})
    raise AssertionError(f"no strategy for {part!r}")


PHONE_2013 = st.text("0123456789", min_size=12, max_size=12)
PHONE_2019 = st.text("0123456789", min_size=20, max_size=20)


def header_808(msg_id: int, version: str):
    base = {"msg_id": st.just(msg_id), "encrypt": st.just(0), "msg_sn": uint(2)}
    if version == "2019":
        base.update(proto_ver=uint(1), phone=PHONE_2019)
    else:
        base.update(phone=PHONE_2013)
    return st.fixed_dictionaries(base)


def header_905(msg_id: int):
    return st.fixed_dictionaries({"msg_id": st.just(msg_id), "isu": PHONE_2013, "msg_sn": uint(2)})
