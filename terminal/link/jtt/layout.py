"""Platform-link room, JT/T codec: message bodies described as data.

A layout is a tuple of fields ``(json_key, kind)`` or ``(json_key, kind, size)``, read
and written in order. To correct a message, edit its table in ``jt808.py`` or
``jt905.py``; this module only knows the kinds:

=========  =====================================================  ==================
kind       bytes                                                  JSON
=========  =====================================================  ==================
byte       BYTE                                                   integer
word       WORD                                                   integer
dword      DWORD                                                  integer
int16      signed WORD                                            integer
bcd        BCD[size]                                              string of digits
str        fixed-width GBK, NUL-padded, BYTE[size]                string
strz       GBK terminated by 0x00 (a missing final 0x00 is        string
           accepted)
lstr       BYTE length, then GBK                                  string
text       GBK up to the end of the body                          string
b64        bytes up to the end of the body                        base64 string
b64opt     like b64, key omitted when there are no bytes          base64 string
textopt    like text, key omitted when there are no bytes         string
Part       a nested codec (location bodies, lists, TLVs): an      whatever it returns
           object with ``decode(reader) -> value`` and
           ``encode(value, name) -> bytes``
Merge      like Part, but its dict is merged into the body        several keys
=========  =====================================================  ==================

On encode, keys the layout does not name are ignored (so a decoded message, which
may carry derived keys such as ``length``, encodes back unchanged).
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt.errors import BodyError, EncodeError


class Part:
    """A nested value under one key. Subclasses set decode/encode."""

    def decode(self, reader: f.Reader):
        raise NotImplementedError

    def encode(self, value, name: str) -> bytes:
        raise NotImplementedError


class Merge(Part):
    """A group of keys decoded/encoded together (its decode returns a dict)."""


def decode(layout: tuple, reader: f.Reader) -> dict:
    body: dict = {}
    for field in layout:
        key, kind = field[0], field[1]
        size = field[2] if len(field) > 2 else 0
        if isinstance(kind, Merge):
            body.update(kind.decode(reader))
            continue
        if isinstance(kind, Part):
            body[key] = kind.decode(reader)
            continue
        if kind in ("b64opt", "textopt"):
            raw = reader.rest()
            if raw:
                body[key] = f.b64_decode_field(raw) if kind == "b64opt" else f.text_decode(raw)
            continue
        body[key] = _read(kind, size, reader)
    return body


def _read(kind: str, size: int, reader: f.Reader):
    if kind == "byte":
        return reader.byte()
    if kind == "word":
        return reader.word()
    if kind == "dword":
        return reader.dword()
    if kind == "int16":
        return int.from_bytes(reader.take(2), "big", signed=True)
    if kind == "bcd":
        return f.bcd_decode(reader.take(size))
    if kind == "str":
        return f.fixed_text_decode(reader.take(size))
    if kind == "strz":
        data = reader.data
        end = data.find(b"\x00", reader.pos)
        if end < 0:
            return f.text_decode(reader.rest())
        text = f.text_decode(data[reader.pos:end])
        reader.pos = end + 1
        return text
    if kind == "lstr":
        return f.text_decode(reader.take(reader.byte()))
    if kind == "text":
        return f.text_decode(reader.rest())
    if kind == "b64":
        return f.b64_decode_field(reader.rest())
    raise BodyError(f"unknown field kind {kind!r}")


def encode(layout: tuple, body, name: str = "body") -> bytes:
    if not isinstance(body, dict):
        raise EncodeError(f"{name}: object expected, got {body!r}")
    out = bytearray()
    for field in layout:
        key, kind = field[0], field[1]
        size = field[2] if len(field) > 2 else 0
        where = f"{name}.{key}"
        if isinstance(kind, Merge):
            out += kind.encode(body, name)
            continue
        if kind in ("b64opt", "textopt"):
            if key in body:
                out += (f.b64_encode_field if kind == "b64opt" else f.text_encode)(body[key], where)
            continue
        if key not in body:
            raise EncodeError(f"{where} is missing")
        value = body[key]
        if isinstance(kind, Part):
            out += kind.encode(value, where)
        else:
            out += _write(kind, size, value, where)
    return bytes(out)


def _write(kind: str, size: int, value, where: str) -> bytes:
    if kind == "byte":
        return f.uint(value, 1, where)
    if kind == "word":
        return f.uint(value, 2, where)
    if kind == "dword":
        return f.uint(value, 4, where)
    if kind == "int16":
        return f.sint(value, 2, where)
    if kind == "bcd":
        return f.bcd_encode(value, size, where)
    if kind == "str":
        return f.fixed_text_encode(value, size, where)
    if kind == "strz":
        raw = f.text_encode(value, where)
        if b"\x00" in raw:
            raise EncodeError(f"{where}: a zero-terminated string cannot contain NUL")
        return raw + b"\x00"
    if kind == "lstr":
        raw = f.text_encode(value, where)
        if len(raw) > 255:
            raise EncodeError(f"{where}: {len(raw)} bytes, at most 255")
        return bytes((len(raw),)) + raw
    if kind == "text":
        return f.text_encode(value, where)
    if kind == "b64":
        return f.b64_encode_field(value, where)
    raise EncodeError(f"unknown field kind {kind!r}")


class ListOf(Part):
    """A count (BYTE or WORD) then that many items of one kind or Part."""

    def __init__(self, count_kind: str, item, size: int = 0):
        self.count_kind, self.item, self.size = count_kind, item, size

    def decode(self, reader):
        count = reader.byte() if self.count_kind == "byte" else reader.word()
        return [self._one(reader) for _ in range(count)]

    def _one(self, reader):
        if isinstance(self.item, Part):
            return self.item.decode(reader)
        return _read(self.item, self.size, reader)

    def encode(self, value, name):
        if not isinstance(value, list):
            raise EncodeError(f"{name}: list expected, got {value!r}")
        out = bytearray(f.uint(len(value), 1 if self.count_kind == "byte" else 2, f"{name} count"))
        for i, item in enumerate(value):
            where = f"{name}[{i}]"
            out += self.item.encode(item, where) if isinstance(self.item, Part) else \
                _write(self.item, self.size, item, where)
        return bytes(out)


class Rest(Part):
    """Items of one Part repeated to the end of the body (no count)."""

    def __init__(self, item: Part):
        self.item = item

    def decode(self, reader):
        items = []
        while reader.remaining():
            items.append(self.item.decode(reader))
        return items

    def encode(self, value, name):
        if not isinstance(value, list):
            raise EncodeError(f"{name}: list expected, got {value!r}")
        return b"".join(self.item.encode(item, f"{name}[{i}]") for i, item in enumerate(value))


class Sub(Part):
    """A nested layout (an object)."""

    def __init__(self, layout: tuple):
        self.layout = layout

    def decode(self, reader):
        return decode(self.layout, reader)

    def encode(self, value, name):
        return encode(self.layout, value, name)


class Sized(Part):
    """A nested Part occupying exactly ``size`` bytes (or the WORD length prefix if size is 'word')."""

    def __init__(self, item: Part, size):
        self.item, self.size = item, size

    def decode(self, reader):
        size = reader.word() if self.size == "word" else self.size
        inner = f.Reader(reader.take(size))
        value = self.item.decode(inner)
        if inner.remaining():
            raise BodyError(f"{inner.remaining()} unexpected byte(s) inside a {size}-byte item")
        return value

    def encode(self, value, name):
        raw = self.item.encode(value, name)
        if self.size == "word":
            return f.uint(len(raw), 2, f"{name} length") + raw
        if len(raw) != self.size:
            raise EncodeError(f"{name}: encodes to {len(raw)} bytes, the field holds {self.size}")
        return raw
