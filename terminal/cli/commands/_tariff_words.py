"""A tariff file in words, for ``taxiterm tariff show`` (cli room): every element, times and days spelt out.

Reads the validated tariffs (meter/tariff.py) and says what a passenger's price notice says: the
start fare and what it covers, the rate per km and its steps, waiting, long distance, the night and
peak windows with their days, the fixed extras, and when each dated tariff takes over from the last.
"""

from __future__ import annotations

import datetime

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MODES = {"CN": "distance always, plus time while below the waiting speed",
         "S": "time below the waiting speed, distance above it (MID single tariff)",
         "D": "time and distance both, all the time (MID double tariff)"}


def yuan(fen: int) -> str:
    return f"{fen / 100:.2f} yuan"


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window(span: tuple[int, int]) -> str:
    start, end = span
    across = " (across midnight)" if end <= start else ""
    return f"{hhmm(start)} to {hhmm(end)}{across}"


def days_in_words(days) -> str:
    """ISO weekdays (1 = Monday) as words; a run of three or more as "Monday to Friday"."""
    days = sorted(set(days))
    if days == list(range(1, 8)):
        return "every day"
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAYS[run[0] - 1]} to {DAYS[run[-1] - 1]}")
        else:
            parts.extend(DAYS[d - 1] for d in run)
    return ", ".join(parts)


def utc_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def local_ms(t_ms: int, offset_min: int) -> str:
    zone = datetime.timezone(datetime.timedelta(minutes=offset_min))
    return datetime.datetime.fromtimestamp(t_ms / 1000, zone).strftime("%Y-%m-%d %H:%M")


def describe(tariffs) -> list[str]:
    """Lines describing ``tariffs`` (ordered by effective time), every element in words."""
    lines = []
    ordered = sorted(tariffs, key=lambda t: t.effective_ms)
    for i, t in enumerate(ordered):
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        until = (f" until {local_ms(nxt.effective_ms, t.utc_offset_min)}, when {nxt.id} takes over"
                 if nxt else " with no later tariff in this file")
        lines.append(f"- {t.id} {t.name}")
        lines.append(f"    effective {t.effective_from} local time ({utc_offset(t.utc_offset_min)}){until}")
        lines.append(f"    mode {t.mode}: {MODES.get(t.mode, 'see docs/tariff.md')}")
        lines.append(f"    start fare {yuan(t.start_fare_fen)} covers the first {t.start_distance_m} m; then "
                     f"{yuan(t.per_km_fen)}/km")
        lines.append(f"    the fare moves in steps of {yuan(t.step_fen)}, rounding {t.rounding.replace('_', ' ')}")
        if t.has_waiting:
            lines.append(f"    waiting: below {t.below_kmh} km/h, {yuan(t.waiting_fen_per_unit)} per {t.waiting_unit_s} s")
            if t.waiting_free_ms:
                lines.append(f"    the first {t.waiting_free_ms // 1000} s of waiting in a trip are free")
            if t.waiting_whole:
                lines.append(f"    waiting is charged only for each whole {t.waiting_unit_s} s the trip's waiting completes")
            if t.mode != "D":
                lines.append("    within what the start fare covers, waiting uses it up as driving does (JJG 517 6.8.2); "
                             "long distance counts metres driven only")
        else:
            lines.append("    waiting: not charged")
        if t.long_from_m is not None:
            lines.append(f"    long distance: beyond {t.long_from_m} m, +{t.long_pct} % on the distance fare")
        if t.night:
            lines.append(f"    night {window(t.night)} every day: start fare {yuan(t.night_start_fare_fen)}, "
                         f"+{t.night_pct} % on distance, waiting +{t.night_waiting_pct} %")
        else:
            lines.append("    night: no night rate")
        if t.peak_windows:
            spans = " and ".join(window(w) for w in t.peak_windows)
            lines.append(f"    peak {spans} on {days_in_words(t.peak_days)}: +{t.peak_pct} % on distance, "
                         f"waiting +{t.peak_waiting_pct} %")
        else:
            lines.append("    peak: no peak rate")
        for label, amount in t.fixed_extras:
            lines.append(f"    extra on every trip: {label} {yuan(amount)}")
        if t.extras_max_fen:
            lines.append(f"    a single extra the driver enters (a toll): at most {yuan(t.extras_max_fen)}")
        lines.append(f"    digest {t.digest}")
    return lines
