"""The receipt model: what a passenger's receipt says, from the meter's trip record.

Pure: a trip record plus vehicle information in, an ordered list of blocks out
(title, key-value rows, itemised extras, totals, the e-receipt QR code with its signed
link from printer/e_receipt.py, the footer). No I/O and no clock; layout to a fixed number of printer columns is the
pure helper ``layout_row`` so the text a printer prints is decided here too.

Money is integer fen shown as yuan with two decimals, distance integer metres shown
as km to 0.1 km (truncated, see ``format_km``), times integer ms shown in the trip's
local time (UTC + ``utc_offset_min``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

LANGUAGES = ("zh", "en")
DEFAULT_SUPERVISION_PHONE = "12328"


class ReceiptError(ValueError):
    """The trip record or vehicle information cannot make a correct receipt."""


# ---------------------------------------------------------------- blocks

@dataclass(frozen=True)
class Title:
    text: str


@dataclass(frozen=True)
class Row:
    """A key-value row. ``key`` names the field for programs; ``label`` is printed."""

    key: str
    label: str
    value: str
    emphasis: bool = False  # printed bold and double size (the total)


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Note:
    key: str
    text: str
    align: str = "center"


@dataclass(frozen=True)
class QrCode:
    payload: str


Block = Title | Row | Rule | Note | QrCode


@dataclass(frozen=True)
class Receipt:
    lang: str
    trip_no: int
    qr_payload: str
    blocks: tuple = field(default_factory=tuple)

    def rows(self) -> dict[str, str]:
        """Values of the key-value rows by key (extras as ``extra:<n>``)."""
        return {b.key: b.value for b in self.blocks if isinstance(b, Row)}


@dataclass(frozen=True)
class Vehicle:
    plate: str
    company: str
    driver_cert: str
    supervision_phone: str = DEFAULT_SUPERVISION_PHONE


# ---------------------------------------------------------------- labels

LABELS = {
    "zh": {
        "title": "出租汽车乘车票据",
        "reprint": "补打 (副本)",
        "plate": "车号",
        "company": "公司",
        "driver_cert": "资格证号",
        "supervision_phone": "监督电话",
        "date": "日期",
        "board": "上车",
        "alight": "下车",
        "distance": "里程",
        "waiting": "等候",
        "unit_price": "单价",
        "fare": "车费",
        "extras": "附加费",
        "total": "合计",
        "trip_no": "车次",
        "order_id": "电召单号",
        "tariff_id": "运价",
        "software": "软件",
        "flags": "标记",
        "footer": "以计价器显示为准",
        "qr_hint": "扫码查验电子票据",
        "next_day": "次日",
        "yuan": "元",
        "km": "公里",
        "per_km": "元/公里",
    },
    "en": {
        "title": "TAXI RECEIPT",
        "reprint": "REPRINT (copy)",
        "plate": "Plate",
        "company": "Company",
        "driver_cert": "Driver cert.",
        "supervision_phone": "Complaints",
        "date": "Date",
        "board": "Boarding",
        "alight": "Alighting",
        "distance": "Distance",
        "waiting": "Waiting",
        "unit_price": "Price/km",
        "fare": "Fare",
        "extras": "Extras",
        "total": "TOTAL",
        "trip_no": "Trip no.",
        "order_id": "Order",
        "tariff_id": "Tariff",
        "software": "Software",
        "flags": "Flags",
        "footer": "The meter display prevails",
        "qr_hint": "Scan to verify the e-receipt",
        "next_day": "+1d",
        "yuan": "CNY",
        "km": "km",
        "per_km": "CNY/km",
    },
}


# ---------------------------------------------------------------- formatting (pure)

def format_yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals: 4200 -> "42.00", -5 -> "-0.05"."""
    _require_int(fen, "amount")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_km(metres: int) -> str:
    """Metres as km to 0.1 km, truncated: 8350 -> "8.3", 99 -> "0.0".

    Truncated (not rounded) so the receipt never shows more distance than measured.
    """
    _require_int(metres, "distance_m")
    if metres < 0:
        raise ReceiptError(f"distance_m must not be negative, got {metres}")
    tenths = metres // 100
    return f"{tenths // 10}.{tenths % 10}"


def format_duration(ms: int) -> str:
    """Milliseconds as mm:ss below one hour, h:mm:ss from one hour (whole seconds, truncated)."""
    _require_int(ms, "waiting_ms")
    if ms < 0:
        raise ReceiptError(f"duration must not be negative, got {ms}")
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def local_time(epoch_ms: int, utc_offset_min: int) -> datetime:
    """The local wall-clock time of an instant (UTC + offset), whole seconds."""
    _require_int(epoch_ms, "time")
    return datetime.fromtimestamp(epoch_ms // 1000, UTC) + timedelta(minutes=utc_offset_min)


def display_width(text: str) -> int:
    """Columns a string takes on a printer in Chinese mode: ASCII takes one, every other
    character is a double-byte GB18030 glyph and takes two."""
    return sum(1 if ord(c) < 0x80 else 2 for c in text)


def layout_row(label: str, value: str, columns: int) -> list[str]:
    """A label left and its value right in ``columns`` columns; the value moves to its
    own right-aligned line when both do not fit on one."""
    gap = columns - display_width(label) - display_width(value)
    if gap >= 1:
        return [label + " " * gap + value]
    pad = max(columns - display_width(value), 0)
    return [label, " " * pad + value]


# ---------------------------------------------------------------- the model

def build_receipt(
    trip: dict,
    vehicle: Vehicle,
    software_id: str,
    lang: str = "zh",
    reprint: bool = False,
    e_receipt_link: str = "",
) -> Receipt:
    """The receipt of one trip record. Raises ReceiptError naming the bad field.

    ``e_receipt_link`` is the signed link of this trip (printer/e_receipt.py) for the QR code;
    without one the receipt has no QR code (a preview with no device key to sign with).
    """
    if lang not in LANGUAGES:
        raise ReceiptError(f"unknown receipt language {lang!r}; known: {', '.join(LANGUAGES)}")
    _check_vehicle(vehicle)
    if not isinstance(software_id, str) or not software_id.strip():
        raise ReceiptError("software id must be a non-empty string")
    _check_trip(trip)
    L = LABELS[lang]
    offset = trip["utc_offset_min"]
    board = local_time(trip["board_ms"], offset)
    alight = local_time(trip["alight_ms"], offset)
    alight_text = alight.strftime("%H:%M")
    if alight.date() != board.date():
        alight_text = f"{L['next_day']} {alight_text}" if lang == "zh" else f"{alight_text} {L['next_day']}"

    def money(fen: int) -> str:
        return f"{format_yuan(fen)}{L['yuan']}" if lang == "zh" else f"{L['yuan']} {format_yuan(fen)}"

    qr_payload = e_receipt_link
    if qr_payload:
        link = parse_qr_payload(qr_payload)
        if (link["trip_no"], link["total_fen"], link["digest"], link["plate"]) != (
                trip["trip_no"], trip["total_fen"], trip["digest"], vehicle.plate):
            raise ReceiptError("the e-receipt link is not this trip's (trip, total, digest or plate differ)")
    blocks: list = [Title(L["title"])]
    if reprint:
        blocks.append(Note("reprint", L["reprint"]))
    blocks += [
        Rule(),
        Row("plate", L["plate"], vehicle.plate),
        Row("company", L["company"], vehicle.company),
        Row("driver_cert", L["driver_cert"], vehicle.driver_cert),
        Row("supervision_phone", L["supervision_phone"], vehicle.supervision_phone),
        Rule(),
        Row("date", L["date"], board.strftime("%Y-%m-%d")),
        Row("board", L["board"], board.strftime("%H:%M")),
        Row("alight", L["alight"], alight_text),
        Row("distance", L["distance"], f"{format_km(trip['distance_m'])}{L['km']}"
            if lang == "zh" else f"{format_km(trip['distance_m'])} {L['km']}"),
        Row("waiting", L["waiting"], format_duration(trip["waiting_ms"])),
        Row("unit_price", L["unit_price"], f"{format_yuan(trip['price_per_km_fen'])}{L['per_km']}"
            if lang == "zh" else f"{format_yuan(trip['price_per_km_fen'])} {L['per_km']}"),
        Row("fare", L["fare"], money(trip["fare_fen"])),
    ]
    if trip["extras"]:
        blocks.append(Note("extras", L["extras"], align="left"))
        for n, extra in enumerate(trip["extras"]):
            blocks.append(Row(f"extra:{n}", f"  {extra['label']}", money(extra["amount_fen"])))
    blocks += [
        Rule(),
        Row("total", L["total"], money(trip["total_fen"]), emphasis=True),
        Rule(),
        Row("trip_no", L["trip_no"], str(trip["trip_no"])),
    ]
    if trip["order_id"] != "0":
        blocks.append(Row("order_id", L["order_id"], trip["order_id"]))
    blocks += [
        Row("tariff_id", L["tariff_id"], trip["tariff_id"]),
        Row("software", L["software"], software_id),
    ]
    if trip["flags"]:
        blocks.append(Row("flags", L["flags"], ",".join(trip["flags"])))
    if qr_payload:
        blocks += [QrCode(qr_payload), Note("qr_hint", L["qr_hint"])]
    blocks += [
        Rule(),
        Note("footer", L["footer"]),
    ]
    return Receipt(lang=lang, trip_no=trip["trip_no"], qr_payload=qr_payload, blocks=tuple(blocks))


def as_reprint(receipt: Receipt) -> Receipt:
    """The same receipt marked as a reprint (a copy) under its title."""
    if any(isinstance(b, Note) and b.key == "reprint" for b in receipt.blocks):
        return receipt
    blocks = list(receipt.blocks)
    at = next(i for i, b in enumerate(blocks) if isinstance(b, Title)) + 1
    blocks.insert(at, Note("reprint", LABELS[receipt.lang]["reprint"]))
    return Receipt(lang=receipt.lang, trip_no=receipt.trip_no, qr_payload=receipt.qr_payload,
                   blocks=tuple(blocks))


def parse_qr_payload(payload: str) -> dict:
    """What a receipt's QR code says: {"plate", "trip_no", "total_fen", "digest", "device_id"}; ReceiptError if
    it is not an e-receipt link (printer/e_receipt.py). The signature is checked elsewhere, with a key."""
    from printer.e_receipt import EReceiptError, parse
    try:
        link = parse(payload)
    except EReceiptError as exc:
        raise ReceiptError(str(exc)) from None
    return {k: link[k] for k in ("plate", "trip_no", "total_fen", "digest", "device_id")}


# ---------------------------------------------------------------- validation

_INT_FIELDS = ("trip_no", "utc_offset_min", "board_ms", "alight_ms", "distance_m", "waiting_ms",
               "price_per_km_fen", "fare_fen", "extras_fen", "total_fen")
_STR_FIELDS = ("order_id", "tariff_id", "digest")


def _require_int(value, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ReceiptError(f"{name} must be an integer, got {value!r}")


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text)


def _check_printable(text: str, name: str) -> None:
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise ReceiptError(f"{name} contains control characters: {text!r}")


def _check_vehicle(vehicle: Vehicle) -> None:
    for name in ("plate", "company", "driver_cert", "supervision_phone"):
        value = getattr(vehicle, name)
        if not isinstance(value, str) or not value.strip():
            raise ReceiptError(f"vehicle {name} must be a non-empty string")
        _check_printable(value, f"vehicle {name}")


def _check_trip(trip: dict) -> None:
    if not isinstance(trip, dict):
        raise ReceiptError("trip record must be a JSON object")
    missing = [k for k in _INT_FIELDS + _STR_FIELDS + ("extras", "flags") if k not in trip]
    if missing:
        raise ReceiptError(f"trip record lacks {', '.join(missing)}")
    for name in _INT_FIELDS:
        _require_int(trip[name], name)
    for name in _STR_FIELDS:
        if not isinstance(trip[name], str):
            raise ReceiptError(f"{name} must be a string, got {trip[name]!r}")
    for name in ("trip_no", "distance_m", "waiting_ms", "price_per_km_fen", "board_ms"):
        if trip[name] < 0:
            raise ReceiptError(f"{name} must not be negative, got {trip[name]}")
    if not -720 <= trip["utc_offset_min"] <= 840:
        raise ReceiptError(f"utc_offset_min out of range: {trip['utc_offset_min']}")
    if trip["alight_ms"] < trip["board_ms"]:
        raise ReceiptError("alight_ms is before board_ms")
    if not _is_hex64(trip["digest"]):
        raise ReceiptError("digest must be 64 lower-case hex digits")
    if not trip["tariff_id"] or "|" in trip["order_id"]:
        raise ReceiptError("tariff_id must not be empty and order_id must not contain '|'")
    _check_printable(trip["tariff_id"], "tariff_id")
    _check_printable(trip["order_id"], "order_id")
    extras = trip["extras"]
    if not isinstance(extras, list):
        raise ReceiptError("extras must be a list")
    for n, extra in enumerate(extras):
        if not isinstance(extra, dict) or set(extra) < {"label", "amount_fen"}:
            raise ReceiptError(f"extras[{n}] must have label and amount_fen")
        if not isinstance(extra["label"], str) or not extra["label"].strip():
            raise ReceiptError(f"extras[{n}].label must be a non-empty string")
        _check_printable(extra["label"], f"extras[{n}].label")
        _require_int(extra["amount_fen"], f"extras[{n}].amount_fen")
    if sum(e["amount_fen"] for e in extras) != trip["extras_fen"]:
        raise ReceiptError("extras do not add up to extras_fen")
    if trip["fare_fen"] + trip["extras_fen"] != trip["total_fen"]:
        raise ReceiptError("fare_fen + extras_fen != total_fen")
    if not isinstance(trip["flags"], list) or not all(isinstance(f, str) for f in trip["flags"]):
        raise ReceiptError("flags must be a list of strings")
