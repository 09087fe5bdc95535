"""Receiver health: data silence, lost fix and antenna faults as JT/T 808 alarms (bits 4, 5, 6).

Pure and driven by time: the reader tells ``GnssHealth`` when bytes arrived, when a fix
was built and what the receiver said about its antenna, and calls ``tick(t_ms)``; each
call returns the alarm changes ``[(alarm, active), ...]`` that the reader turns into
``gnss_health`` events. Alarms: ``gnss_fault`` (no data for ``no_data_ms`` or no valid
fix for ``no_fix_ms``), ``antenna_open``, ``antenna_short``.

Antenna reports understood (see docs/gnss.md):
  u-blox            $GxTXT,01,01,02,ANTSTATUS=OK|OPEN|SHORT (INIT and DONTKNOW say nothing)
  MediaTek/GlobalTop $PGTOP,11,1 shorted / 2 internal antenna (external one open) / 3 active antenna ok
  BeiDou modules    $GxTXT,01,01,01,ANTENNA OK|OPEN|SHORT (AT6558/ATGM336H style)
"""

from gps.parse import Pgtop, Txt

ALARMS = ("gnss_fault", "antenna_open", "antenna_short")
DEFAULT_NO_DATA_MS = 5_000
DEFAULT_NO_FIX_MS = 30_000

_PGTOP = {1: "short", 2: "open", 3: "ok"}


def antenna_status(record) -> str | None:
    """"ok", "open" or "short" if ``record`` is an antenna report, else None."""
    if type(record) is Pgtop:
        return _PGTOP[record.status]
    if type(record) is Txt:
        text = record.text.strip().upper()
        if text.startswith("ANTSTATUS="):
            word = text[len("ANTSTATUS="):]
        elif text.startswith("ANTENNA "):
            word = text[len("ANTENNA "):]
        else:
            return None
        if word in ("OK", "OPEN", "SHORT"):
            return word.lower()
    return None


class GnssHealth:
    """Alarm state of one receiver; starts healthy at ``start_ms`` and waits for the thresholds."""

    def __init__(self, start_ms: int, *, no_data_ms: int = DEFAULT_NO_DATA_MS,
                 no_fix_ms: int = DEFAULT_NO_FIX_MS) -> None:
        if no_data_ms <= 0 or no_fix_ms <= 0:
            raise ValueError("health thresholds must be positive milliseconds")
        self.no_data_ms = no_data_ms
        self.no_fix_ms = no_fix_ms
        self._last_data_ms = start_ms
        self._last_fix_ms = start_ms
        self._antenna = "ok"
        self.active = {name: False for name in ALARMS}

    def on_data(self, t_ms: int) -> list[tuple[str, bool]]:
        self._last_data_ms = t_ms
        return self.tick(t_ms)

    def on_fix(self, fix, t_ms: int) -> list[tuple[str, bool]]:
        self._last_data_ms = t_ms
        if fix.positioned:
            self._last_fix_ms = t_ms
        return self.tick(t_ms)

    def on_antenna(self, status: str, t_ms: int) -> list[tuple[str, bool]]:
        if status not in ("ok", "open", "short"):
            raise ValueError(f"unknown antenna status {status!r}")
        self._antenna = status
        return self.tick(t_ms)

    def tick(self, t_ms: int) -> list[tuple[str, bool]]:
        fault = (t_ms - self._last_data_ms >= self.no_data_ms) or (t_ms - self._last_fix_ms >= self.no_fix_ms)
        wanted = {"gnss_fault": fault, "antenna_open": self._antenna == "open",
                  "antenna_short": self._antenna == "short"}
        changes = []
        for name in ALARMS:
            if wanted[name] != self.active[name]:
                self.active[name] = wanted[name]
                changes.append((name, wanted[name]))
        return changes
