"""The live text dashboard of a simulated shift: what the meter, sign, GNSS, outbox and platform say now.

The viewing window of the simulator. ``Dashboard(stream)`` is given the runner's status
once a simulated second. On a terminal it rewrites one line in place and starts a new
one when the meter's state changes; without a TTY (CI, a log) it prints a line when the
state, sign or last platform message changes and otherwise once a simulated minute.
"""

from __future__ import annotations

import sys
from typing import TextIO

from sim.summary import hhmm

STATE_ZH = {"for_hire": "空车", "hired": "载客", "stopped": "暂停", "settling": "结算", "out_of_service": "停运"}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def line(status: dict, offset_min: int) -> str:
    outbox = "-" if status["outbox"] is None else str(status["outbox"])
    link = "up" if status["link"] else "DOWN"
    power = "" if status["powered"] else " POWER-OFF"
    return (f"{hhmm(status['t_ms'], offset_min)} {STATE_ZH[status['state']]} {status['state']:<14}"
            f" fare {yuan(status['fare_fen']):>7} (+{yuan(status['extras_fen'])})"
            f" {status['distance_m'] / 1000:5.1f} km {status['speed_kmh']:3d} km/h"
            f" | sign {status['sign']:<14} | gnss {status['gnss']:<12} | outbox {outbox:>4} link {link}"
            f" | order {status['order']:<7} | trips {status['trips']:2d} | last platform: {status['platform'] or '-'}"
            f"{power}")


class Dashboard:
    def __init__(self, offset_min: int = 480, stream: TextIO | None = None, tty: bool | None = None,
                 every_ms: int = 60_000) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.offset_min = offset_min
        self.every_ms = every_ms
        self._last_key = None
        self._last_ms = None
        self._outbox = None

    def __call__(self, status: dict) -> None:
        if status["outbox"] is not None:
            self._outbox = status["outbox"]
        status = dict(status, outbox=self._outbox)
        key = (status["state"], status["sign"], status["platform"], status["gnss"], status["link"], status["powered"])
        text = line(status, self.offset_min)
        if self.tty:
            new_line = self._last_key is not None and key[0] != self._last_key[0]
            self.stream.write(("\n" if new_line else "\r") + text + "\x1b[K")
            self.stream.flush()
        elif key != self._last_key or self._last_ms is None or status["t_ms"] - self._last_ms >= self.every_ms:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_ms = status["t_ms"]
        self._last_key = key

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
