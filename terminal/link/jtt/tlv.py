"""Platform-link room, JT/T codec: the TLV-shaped parts of JT/T 808 bodies.

Location additional items (0x0200 ``extra``), terminal parameters (0x8103 / 0x0104
``params``), bit maps and counted lists. Items the tables do not know are kept as
base64 under their decimal id, so nothing a device sends is lost on a round trip.
"""

from terminal.link.jtt import fields as f
from terminal.link.jtt import layout as lay
from terminal.link.jtt.errors import BodyError, EncodeError

SIZES = {"byte": 1, "word": 2, "dword": 4, "int16": 2}


class Bits(lay.Part):
    """An integer of ``size`` bytes as ``{name: 0|1}``; set bits without a name go to ``reserved``."""

    def __init__(self, size: int, names: tuple):
        self.size, self.names = size, names

    def decode(self, reader):
        value = int.from_bytes(reader.take(self.size), "big")
        out = {name: (value >> bit) & 1 for bit, name in enumerate(self.names)}
        rest = value & ~((1 << len(self.names)) - 1)
        if rest:
            out["reserved"] = rest
        return out

    def encode(self, value, name):
        if not isinstance(value, dict):
            raise EncodeError(f"{name}: object expected, got {value!r}")
        number = 0
        for bit, key in enumerate(self.names):
            if value.get(key, 0):
                number |= 1 << bit
        reserved = value.get("reserved", 0)
        if reserved:
            number |= int.from_bytes(f.uint(reserved, self.size, f"{name}.reserved"), "big")
        return f.uint(number, self.size, name)


class Overspeed(lay.Part):
    """0x11: position type BYTE, then the area/route id DWORD unless the type is 0."""

    def decode(self, reader):
        out = {"type": reader.byte()}
        if reader.remaining():
            out["id"] = reader.dword()
        return out

    def encode(self, value, name):
        if not isinstance(value, dict) or "type" not in value:
            raise EncodeError(f"{name}: object with 'type' expected")
        raw = f.uint(value["type"], 1, f"{name}.type")
        if "id" in value:
            raw += f.uint(value["id"], 4, f"{name}.id")
        return raw


def _value(kind, reader):
    if isinstance(kind, lay.Part):
        return kind.decode(reader)
    return lay._read(kind, 0, reader)


def _raw(kind, value, name):
    if isinstance(kind, lay.Part):
        return kind.encode(value, name)
    return lay._write(kind, 0, value, name)


class Extras(lay.Part):
    """Location additional items: BYTE id, BYTE length, value; JSON ``{key: value}``.

    ``table`` maps id -> (key, kind). An item whose length does not fit its kind, and
    any id not in the table, is kept as base64 under ``str(id)``; ids in
    ``custom_ids`` go under ``extra["custome"][str(id)]`` as EMQX's gateway puts them.
    Encoding writes items in the order of the JSON object (a decoded message keeps the
    wire order, so frames with distinct ids re-encode byte for byte, except that the custom ids
    are written together where the first of them was).
    """

    def __init__(self, table: dict, custom_ids: range):
        self.table, self.custom_ids = table, custom_ids
        self.by_key = {key: (item_id, kind) for item_id, (key, kind) in table.items()}

    def decode(self, reader):
        out: dict = {}
        while reader.remaining():
            item_id, size = reader.byte(), reader.byte()
            raw = reader.take(size)
            if item_id in self.table:
                key, kind = self.table[item_id]
                inner = f.Reader(raw)
                try:
                    value = _value(kind, inner)
                    if not inner.remaining():
                        out[key] = value
                        continue
                except BodyError:
                    pass
            if item_id in self.custom_ids:
                out.setdefault("custome", {})[str(item_id)] = f.b64_decode_field(raw)
            else:
                out[str(item_id)] = f.b64_decode_field(raw)
        return out

    def encode(self, value, name):
        if not isinstance(value, dict):
            raise EncodeError(f"{name}: object expected, got {value!r}")
        items = []
        for key, item in value.items():
            where = f"{name}.{key}"
            if key in self.by_key:
                item_id, kind = self.by_key[key]
                items.append((item_id, _raw(kind, item, where)))
            elif key == "custome":
                if not isinstance(item, dict):
                    raise EncodeError(f"{where}: object of id -> base64 expected")
                for sub, data in item.items():
                    items.append((_item_id(sub, f"{where}.{sub}"), f.b64_encode_field(data, f"{where}.{sub}")))
            else:
                items.append((_item_id(key, where), f.b64_encode_field(item, where)))
        out = bytearray()
        for item_id, raw in items:
            if len(raw) > 255:
                raise EncodeError(f"{name}: item {item_id} is {len(raw)} bytes, at most 255")
            out += bytes((item_id, len(raw))) + raw
        return bytes(out)


def _item_id(key: str, where: str) -> int:
    if not (isinstance(key, str) and key.isascii() and key.isdigit() and 0 <= int(key) <= 255):
        raise EncodeError(f"{where}: not a known item name nor a decimal item id 0-255")
    return int(key)


class Param(lay.Part):
    """One terminal parameter ``{"id": ID, "value": VAL}``: id (DWORD in 808, WORD in 905),
    BYTE length, value typed by ``table`` (byte/word/dword/str/b64). A value whose
    length does not match its type, or an unknown id, is base64."""

    def __init__(self, table: dict, id_size: int):
        self.table, self.id_size = table, id_size

    def decode(self, reader):
        param_id = int.from_bytes(reader.take(self.id_size), "big")
        raw = reader.take(reader.byte())
        kind = self.table.get(param_id, "b64")
        if kind == "str":
            value = f.text_decode(raw)
        elif kind in SIZES and len(raw) == SIZES[kind]:
            value = int.from_bytes(raw, "big")
        else:
            value = f.b64_decode_field(raw)
        return {"id": param_id, "value": value}

    def encode(self, value, name):
        if not isinstance(value, dict) or "id" not in value or "value" not in value:
            raise EncodeError(f"{name}: object with 'id' and 'value' expected")
        param_id = value["id"]
        head = f.uint(param_id, self.id_size, f"{name}.id")
        kind = self.table.get(param_id, "b64")
        item = value["value"]
        where = f"{name}.value"
        if kind == "str":
            raw = f.text_encode(item, where)
        elif isinstance(item, int) and not isinstance(item, bool):
            if kind not in SIZES:
                raise EncodeError(f"{where}: parameter 0x{param_id:04X} is not numeric; give base64")
            raw = f.uint(item, SIZES[kind], where)
        else:
            raw = f.b64_encode_field(item, where)
        if len(raw) > 255:
            raise EncodeError(f"{where}: {len(raw)} bytes, at most 255")
        return head + bytes((len(raw),)) + raw


class Counted(lay.Merge):
    """A count (BYTE or WORD) then items: JSON ``{count_key: n, list_key: [...]}``.

    On encode the count is taken from the list (a given ``count_key`` is ignored)."""

    def __init__(self, count_key: str, list_key: str, count_kind: str, item):
        self.count_key, self.list_key = count_key, list_key
        self.size = SIZES[count_kind]
        self.item = item

    def decode(self, reader):
        count = int.from_bytes(reader.take(self.size), "big")
        return {self.count_key: count, self.list_key: [_value(self.item, reader) for _ in range(count)]}

    def encode(self, body, name):
        items = body.get(self.list_key)
        where = f"{name}.{self.list_key}"
        if not isinstance(items, list):
            raise EncodeError(f"{where}: list expected, got {items!r}")
        out = bytearray(f.uint(len(items), self.size, f"{where} count"))
        for i, item in enumerate(items):
            out += _raw(self.item, item, f"{where}[{i}]")
        return bytes(out)
