"""The driver display's screens: plain data, and pure functions that draw them on a PIL ImageDraw.

Nothing here touches a device; ``drivers/display.py`` hands these functions luma's canvas. Layouts
scale to the display's width (128 or 256) for a 64-pixel-high panel. There is deliberately no
alarm screen: the emergency alarm is silent in the cabin (DESIGN A5).
"""

from dataclasses import dataclass
from functools import lru_cache

from PIL import ImageDraw, ImageFont

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

STATE_LABELS = {
    "for_hire": "空车",
    "hired": "载客",
    "stopped": "暂停",
    "settling": "结算",
    "out_of_service": "停运",
}


class ScreenError(ValueError):
    """A screen that cannot be drawn as given (bad values, missing font)."""


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    # Pillow's basic layout: the screens show Chinese and Latin text, which needs no shaping;
    # Raqm with HarfBuzz would add about 1 MB of code touched to the car's resident memory.
    try:
        return ImageFont.truetype(CJK_FONT, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        raise ScreenError(
            f"CJK font {CJK_FONT} cannot be loaded ({exc}); install fonts-wqy-microhei (make setup)"
        ) from exc


def release_fonts() -> None:
    """Let the font faces go once a frame is drawn (the display does, after each frame).

    FreeType maps the whole 5 MB font file once per face, that is once per size, and the kernel
    maps 64 KB of it around every glyph read, so a face kept open grows towards 5 MB of the
    process's resident memory per size as more characters are shown (1 MB each after a minute of
    the fare screens). Opening the faces again, with their pages mapped again, costs about
    0.5 ms a frame; the glyphs are the same."""
    font.cache_clear()


# --- formatting (pure) ------------------------------------------------------------------------

def _nonneg_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ScreenError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def yuan(fen: int) -> str:
    """Fen as yuan.jiao ("13.5"); a fare not on a whole jiao keeps its fen digit ("13.55")."""
    fen = _nonneg_int(fen, "fare (fen)")
    text = f"{fen // 100}.{fen // 10 % 10}"
    return text + str(fen % 10) if fen % 10 else text


def km(metres: int) -> str:
    """Metres as km to 0.1 km, rounded down ("12.3")."""
    metres = _nonneg_int(metres, "distance (m)")
    return f"{metres // 1000}.{metres // 100 % 10}"


def mmss(ms: int) -> str:
    """Milliseconds as mm:ss, rounded down; minutes grow past 99 rather than wrap."""
    seconds = _nonneg_int(ms, "waiting time (ms)") // 1000
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


# --- screens (data) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class FareScreen:
    state: str  # for_hire | hired | stopped | settling | out_of_service
    fare_fen: int = 0
    distance_m: int = 0
    waiting_ms: int = 0


@dataclass(frozen=True)
class SettleScreen:
    fare_fen: int
    extras: tuple = ()  # ((label, fen), ...) e.g. (("路桥费", 1000),)
    entry: tuple = ()   # a toll being keyed in: (digits "0255" = 025.5 yuan, cursor index), not in the total yet

    @property
    def total_fen(self) -> int:
        return self.fare_fen + sum(fen for _, fen in self.extras)


@dataclass(frozen=True)
class SignedOutScreen:
    """After sign-out until the next sign-in: the car is out of service."""


@dataclass(frozen=True)
class OfferScreen:
    order_id: str
    pickup: str
    text: str = ""


@dataclass(frozen=True)
class NoticeScreen:
    text: str
    title: str = "通知"


@dataclass(frozen=True)
class FaultScreen:
    message: str
    code: str = ""


@dataclass(frozen=True)
class AllOnScreen:
    """Power-on self-test: every pixel lit."""


@dataclass(frozen=True)
class IdentityScreen:
    software_id: str
    tariff_id: str


# --- drawing ----------------------------------------------------------------------------------

WHITE = "white"
BLACK = "black"


def _text_width(text: str, f) -> int:
    return int(f.getlength(text))


def _right(draw: ImageDraw.ImageDraw, x_right: int, y: int, text: str, f) -> None:
    draw.text((x_right - _text_width(text, f), y), text, font=f, fill=WHITE)


def _fit(text: str, f, width: int) -> str:
    """``text`` cut to ``width`` pixels, with an ellipsis if it was cut."""
    if _text_width(text, f) <= width:
        return text
    while text and _text_width(text + "…", f) > width:
        text = text[:-1]
    return text + "…"


def _wrap(text: str, f, width: int, lines: int) -> list[str]:
    """Character-wise wrapping (Chinese has no spaces); the last line gets an ellipsis if text is left."""
    out, line = [], ""
    for char in text.replace("\n", " "):
        if _text_width(line + char, f) > width:
            out.append(line)
            line = char.lstrip()
        else:
            line += char
    if line:
        out.append(line)
    if len(out) > lines:
        out = out[: lines - 1] + [_fit("".join(out[lines - 1:]), f, width)]
        if not out[-1].endswith("…"):
            out[-1] = _fit(out[-1] + "……", f, width)
    return out


def _warnings(draw, width: int, height: int, warnings: tuple) -> None:
    if not warnings:
        return
    f = font(12)
    text = _fit(" ".join(warnings), f, width // 2)
    w = _text_width(text, f)
    draw.rectangle((width - w - 4, height - 14, width - 1, height - 1), fill=WHITE)
    draw.text((width - w - 2, height - 14), text, font=f, fill=BLACK)


def draw_fare(draw, size, screen: FareScreen, warnings: tuple = ()) -> None:
    width, height = size
    if screen.state not in STATE_LABELS:
        raise ScreenError(f"unknown meter state {screen.state!r} (known: {', '.join(STATE_LABELS)})")
    fare, dist, wait = yuan(screen.fare_fen), km(screen.distance_m), mmss(screen.waiting_ms)
    draw.text((0, 0), STATE_LABELS[screen.state], font=font(16), fill=WHITE)
    _right(draw, width - 1, 2, f"{dist} km", font(12))
    big = font(30 if width >= 256 else 26)
    _right(draw, width - 16, 17, fare, big)
    draw.text((width - 14, 31), "元", font=font(12), fill=WHITE)
    draw.text((0, height - 14), f"等候 {wait}", font=font(12), fill=WHITE)
    _warnings(draw, width, height, warnings)


def draw_settle(draw, size, screen: SettleScreen, warnings: tuple = ()) -> None:
    width, height = size
    f = font(12)
    for label, fen in screen.extras:
        if not isinstance(label, str) or not label:
            raise ScreenError(f"extra needs a label, got {label!r}")
        yuan(fen)
    draw.text((0, 0), "结算", font=font(16), fill=WHITE)
    _right(draw, width - 1, 0, f"合计 {yuan(screen.total_fen)} 元", font(16))
    items = [("车费", screen.fare_fen), *screen.extras]
    rows = 2 if screen.entry else 3
    if len(items) > rows:
        rest = items[rows - 1:]
        items = items[: rows - 1] + [(f"其他 {len(rest)} 项", sum(fen for _, fen in rest))]
    y = 20
    for label, fen in items:
        draw.text((0, y), _fit(label, f, width // 2), font=f, fill=WHITE)
        _right(draw, width - 1, y, yuan(fen), f)
        y += 14
    if screen.entry:
        _draw_entry(draw, width, y, screen.entry, f)
    _warnings(draw, width, height, warnings)


def _draw_entry(draw, width: int, y: int, entry: tuple, f) -> None:
    """The toll being keyed in, "路桥费 输入  025.5", the digit under the cursor drawn inverted."""
    digits, cursor = entry
    if not (isinstance(digits, str) and digits.isdigit() and len(digits) >= 2 and 0 <= cursor < len(digits)):
        raise ScreenError(f"toll entry must be (digits, cursor), got {entry!r}")
    draw.text((0, y), "路桥费 输入", font=f, fill=WHITE)
    chars = list(digits[:-1]) + [".", digits[-1]]
    positions = list(range(len(digits) - 1)) + [None, len(digits) - 1]
    x = width - 1 - sum(_text_width(c, f) for c in chars)
    for char, pos in zip(chars, positions, strict=True):
        w = _text_width(char, f)
        if pos == cursor:
            draw.rectangle((x - 1, y, x + w, y + 13), fill=WHITE)
            draw.text((x, y), char, font=f, fill=BLACK)
        else:
            draw.text((x, y), char, font=f, fill=WHITE)
        x += w


def draw_offer(draw, size, screen: OfferScreen, warnings: tuple = ()) -> None:
    width, height = size
    f = font(12)
    draw.rectangle((0, 0, width - 1, 14), fill=WHITE)
    draw.text((2, 0), _fit(f"电召 {screen.order_id}", f, width - 4), font=f, fill=BLACK)
    draw.text((0, 16), _fit(f"上车: {screen.pickup}", f, width), font=f, fill=WHITE)
    if screen.text:
        draw.text((0, 32), _fit(screen.text, f, width), font=f, fill=WHITE)
    draw.text((0, height - 14), "[接受]接单", font=f, fill=WHITE)
    _right(draw, width - 1, height - 14, "[拒绝]放弃", f)


def draw_signed_out(draw, size, screen: SignedOutScreen, warnings: tuple = ()) -> None:
    width, height = size
    draw.text((0, 0), "停运", font=font(16), fill=WHITE)
    _right(draw, width - 1, 2, "已签退", font(12))
    big = font(22 if width >= 256 else 18)
    _right(draw, width - 1, 20, "未签到", big)
    draw.text((0, height - 14), _fit("按[签到]键签到", font(12), width // 2 if warnings else width),
              font=font(12), fill=WHITE)
    _warnings(draw, width, height, warnings)


def draw_notice(draw, size, screen: NoticeScreen, warnings: tuple = ()) -> None:
    width, height = size
    f = font(12)
    draw.text((0, 0), _fit(screen.title, font(14), width), font=font(14), fill=WHITE)
    for i, line in enumerate(_wrap(screen.text, f, width, lines=3)):
        draw.text((0, 18 + i * 15), line, font=f, fill=WHITE)


def draw_fault(draw, size, screen: FaultScreen, warnings: tuple = ()) -> None:
    width, height = size
    f = font(12)
    draw.rectangle((0, 0, width - 1, 16), fill=WHITE)
    title = "故障" + (f" {screen.code}" if screen.code else "")
    draw.text((2, 0), _fit(title, font(14), width - 4), font=font(14), fill=BLACK)
    for i, line in enumerate(_wrap(screen.message, f, width, lines=3)):
        draw.text((0, 19 + i * 15), line, font=f, fill=WHITE)


def draw_all_on(draw, size, screen: AllOnScreen, warnings: tuple = ()) -> None:
    width, height = size
    draw.rectangle((0, 0, width - 1, height - 1), fill=WHITE)


def draw_identity(draw, size, screen: IdentityScreen, warnings: tuple = ()) -> None:
    width, height = size
    f = font(12)
    draw.text((0, 0), "自检完成", font=font(14), fill=WHITE)
    # The software id must be readable whole (WELMEC 7.2): it may take two lines on a narrow panel.
    for i, line in enumerate(_wrap(f"软件 {screen.software_id}", f, width, lines=2)):
        draw.text((0, 17 + i * 15), line, font=f, fill=WHITE)
    draw.text((0, height - 15), _fit(f"费率 {screen.tariff_id}", f, width), font=f, fill=WHITE)


DRAWERS = {
    FareScreen: draw_fare,
    SettleScreen: draw_settle,
    SignedOutScreen: draw_signed_out,
    OfferScreen: draw_offer,
    NoticeScreen: draw_notice,
    FaultScreen: draw_fault,
    AllOnScreen: draw_all_on,
    IdentityScreen: draw_identity,
}


def draw_screen(draw, size: tuple[int, int], screen, warnings: tuple = ()) -> None:
    drawer = DRAWERS.get(type(screen))
    if drawer is None:
        raise ScreenError(f"no such screen: {type(screen).__name__}")
    drawer(draw, size, screen, warnings)


class SelfTest:
    """Power-on self-test schedule (pure): all pixels on for ``all_on_ms`` (>= 3 s), then the identity."""

    def __init__(self, started_ms: int, software_id: str, tariff_id: str, *,
                 all_on_ms: int = 3000, identity_ms: int = 3000) -> None:
        if all_on_ms < 3000:
            raise ScreenError(f"all pixels must stay on at least 3000 ms, got {all_on_ms}")
        self.started_ms = started_ms
        self.identity = IdentityScreen(software_id, tariff_id)
        self.all_on_ms = all_on_ms
        self.identity_ms = identity_ms

    def screen(self, now_ms: int):
        """The self-test screen due at ``now_ms``, or None once the self-test is over."""
        elapsed = now_ms - self.started_ms
        if elapsed < self.all_on_ms:
            return AllOnScreen()
        if elapsed < self.all_on_ms + self.identity_ms:
            return self.identity
        return None
