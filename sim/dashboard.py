"""The live text dashboard of a simulated shift: what the meter, display, sign, GNSS, printer, outbox and platform say now.

The viewing window of the simulator. ``Dashboard(stream)`` is given the runner's status
once a simulated second. On a terminal it is a panel of ``len(panel(...))`` lines redrawn in
place (cursor up, rewrite, clear to the end of each line), every line cut to the terminal's
width so nothing wraps and nothing scrolls; it adapts when the window is resized. Without a
TTY (CI, a log) it prints one short line when the state, sign, display warnings, printer or
last platform message changes, and otherwise once a simulated minute.

Amounts are the meter's: the fare, the extras keyed (tolls, surcharges) and their total;
distance is shown as the display and the receipt show it (0.1 km, rounded down).
"""

from __future__ import annotations

import shutil
import sys
import unicodedata
from typing import TextIO

from sim.summary import hhmm

STATE_ZH = {"for_hire": "空车", "hired": "载客", "stopped": "暂停", "settling": "结算", "out_of_service": "停运"}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def km(metres: int) -> str:
    """As the display and the receipt show it: to 0.1 km, rounded down."""
    return f"{metres // 1000}.{metres // 100 % 10}"


def width_of(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cut(text: str, columns: int) -> str:
    """``text`` cut to ``columns`` terminal columns."""
    out, used = [], 0
    for c in text:
        w = 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if used + w > columns:
            break
        out.append(c)
        used += w
    return "".join(out)


def screen_text(screen) -> str:
    """The display's screen in a few words, with the values it shows."""
    from drivers.screens import STATE_LABELS
    from drivers.screens import km as km_shown
    from drivers.screens import yuan as yuan_shown
    kind = type(screen).__name__
    if kind == "FareScreen":
        return f"{STATE_LABELS.get(screen.state, screen.state)} {yuan_shown(screen.fare_fen)} 元 " \
               f"{km_shown(screen.distance_m)} km"
    if kind == "SettleScreen":
        entry = f"  输入 {screen.entry[0][:-1]}.{screen.entry[0][-1]}" if screen.entry else ""
        return f"结算 车费 {yuan_shown(screen.fare_fen)} 合计 {yuan_shown(screen.total_fen)}{entry}"
    if kind == "SignedOutScreen":
        return "停运 已签退"
    if kind == "FaultScreen":
        return f"故障 {screen.code}"
    return {"NoticeScreen": "通知", "OfferScreen": "电召", "AllOnScreen": "自检", "IdentityScreen": "自检 软件",
            "NoneType": "-"}.get(kind, kind)


GNSS_WORDS = {"gnss_fault": "FAULT", "antenna_open": "antenna open", "antenna_short": "antenna short"}


def gnss_text(value: str) -> str:
    """The runner's GNSS summary ("fix", "no fix" or the raised GNSS flags) in words."""
    return ",".join(GNSS_WORDS.get(v, v) for v in value.split(",")) if value else "-"


def _faults(status: dict) -> str:
    faults = list(status.get("faults") or ())
    return ",".join(faults) if faults else "none"


def panel(status: dict, offset_min: int) -> list[str]:
    """The dashboard's lines (each at most 79 columns for the usual values)."""
    state = status["state"]
    fare, extras = status["fare_fen"], status["extras_fen"]
    outbox = "-" if status["outbox"] is None else str(status["outbox"])
    shift = status.get("shift")
    lines = [
        f"{hhmm(status['t_ms'], offset_min)}  {STATE_ZH[state]} {state:<14} trips {status['trips']:<4}"
        + (f"shift {yuan(shift['fares_fen'])} + {yuan(shift['extras_fen'])}"
           f" = {yuan(shift['fares_fen'] + shift['extras_fen'])} yuan" if shift else ""),
        f"meter   fare {yuan(fare)} + extras {yuan(extras)} = total {yuan(fare + extras)}"
        f"   {km(status['distance_m'])} km  {status['speed_kmh']} km/h",
        f"display {status.get('display', '-')}"
        + (f"  [{' '.join(status['warnings'])}]" if status.get("warnings") else ""),
        f"sign    {status['sign'] or '-':<15} gnss {gnss_text(status['gnss']):<13} printer {status.get('printer', '-')}",
        f"faults  {_faults(status):<23} alarm bits {status.get('alarm', 0)}"
        + ("" if status["powered"] else "   POWER OFF"),
        f"link    {'up' if status['link'] else 'DOWN':<4} outbox {outbox:<6} order {status['order']:<9}"
        f" platform: {status['platform'] or '-'}",
    ]
    return lines


def line(status: dict, offset_min: int) -> str:
    """One short line for a log (about 80 columns): what changed is what is on it."""
    fare, extras = status["fare_fen"], status["extras_fen"]
    text = (f"{hhmm(status['t_ms'], offset_min)} {STATE_ZH[status['state']]} {yuan(fare + extras)}"
            f"={yuan(fare)}+{yuan(extras)} {km(status['distance_m'])}km sign {status['sign']}"
            f" gnss {gnss_text(status['gnss'])} printer {status.get('printer', '-')}")
    if status.get("warnings"):
        text += f" [{' '.join(status['warnings'])}]"
    if status["platform"]:
        text += f" plat {status['platform']}"
    if not status["link"]:
        text += " LINK DOWN"
    if not status["powered"]:
        text += " POWER OFF"
    return text


class Dashboard:
    def __init__(self, offset_min: int = 480, stream: TextIO | None = None, tty: bool | None = None,
                 every_ms: int = 60_000, columns: int | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.offset_min = offset_min
        self.every_ms = every_ms
        self.columns = columns            # None: the terminal's width, asked at every redraw
        self._last_key = None
        self._last_ms = None
        self._outbox = None
        self._drawn = 0                   # lines of the panel on the screen now

    def width(self) -> int:
        return self.columns or shutil.get_terminal_size((80, 24)).columns

    def __call__(self, status: dict) -> None:
        if status["outbox"] is not None:
            self._outbox = status["outbox"]
        status = dict(status, outbox=self._outbox)
        if self.tty:
            self._redraw(panel(status, self.offset_min))
            return
        key = (status["state"], status["sign"], status["platform"], status["gnss"], status["link"], status["powered"],
               status.get("printer"), tuple(status.get("warnings") or ()))
        if key != self._last_key or self._last_ms is None or status["t_ms"] - self._last_ms >= self.every_ms:
            self.stream.write(line(status, self.offset_min) + "\n")
            self.stream.flush()
            self._last_ms = status["t_ms"]
        self._last_key = key

    def _redraw(self, lines: list[str]) -> None:
        columns = max(self.width() - 1, 10)       # never the last column: some terminals wrap there
        out = [f"\x1b[{self._drawn}F" if self._drawn else ""]
        out += [cut(text, columns) + "\x1b[K\n" for text in lines]
        self.stream.write("".join(out))
        self.stream.flush()
        self._drawn = len(lines)

    def close(self) -> None:
        self.stream.flush()
