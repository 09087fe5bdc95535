"""Daily statistics (004 art. 18): the pure day book behind up/daily.

The ledger room of the house. ``DayBook`` is fed the terminal's state changes and
the meter's closed trip records (times in Unix epoch ms, distances in metres) and
keeps, per local calendar day: online time, operating time, loaded time, trips,
on-call trips, loaded and empty distance split into peak and off-peak, fares.
``close(day)`` hands back the up/daily body, with the distance utilisation
(loaded / (loaded + empty), per mille) all day, in the peak and off the peak.

How time and distance are attributed:
- state time goes to the local day (and never past ``now``) it was spent in;
- a trip's hired distance is spread over [board, alight] and the empty distance
  before it over [previous trip's end, board], in proportion to time (constant
  speed assumed within those spans), then cut at midnight and the peak windows;
- a trip counts on the day it was alighted.
The empty distance driven after a day's last trip reaches the book with the next
trip's record; a day closed before that report lacks it (docs/mqtt.md says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from terminal.link.payloads import civil_from_days

DAY_MS = 86_400_000
MINUTE_MS = 60_000
STATES = ("offline", "for_hire", "hired", "stopped", "settle", "out_of_service")
LOADED_STATES = ("hired", "stopped", "settle")
DEFAULT_PEAKS = ((7 * 60, 9 * 60), (17 * 60, 19 * 60))
_COUNTERS = ("online_ms", "operating_ms", "loaded_ms", "trips", "on_call_trips", "loaded_m_peak",
             "loaded_m_off_peak", "empty_m_peak", "empty_m_off_peak", "fares_fen", "total_fen")


class DayBookError(ValueError):
    """Input the day book cannot take (bad state, time running backwards, malformed record)."""


class DayBook:
    def __init__(self, utc_offset_min: int = 480, peak_windows: Iterable[tuple[int, int]] = DEFAULT_PEAKS) -> None:
        if not isinstance(utc_offset_min, int) or not -720 <= utc_offset_min <= 840:
            raise DayBookError(f"utc offset {utc_offset_min!r} min outside -720..840")
        windows = sorted((int(a), int(b)) for a, b in peak_windows)
        for (a, b), nxt in zip(windows, windows[1:] + [(1441, 1441)], strict=True):
            if not 0 <= a < b <= 1440 or b > nxt[0]:
                raise DayBookError(f"peak windows must be ordered, non-overlapping minutes of the day: {windows}")
        self.offset_ms = utc_offset_min * MINUTE_MS
        self.utc_offset_min = utc_offset_min
        self.peaks = windows
        self.days: dict[int, dict] = {}
        self.state = "offline"
        self.since_ms: int | None = None
        self.last_trip_end_ms: int | None = None

    # --- inputs ---------------------------------------------------------------------------

    def set_state(self, state: str, t_ms: int) -> None:
        """The terminal's state from ``t_ms`` on: "offline" or a meter state.

        After a restart, call ``set_state("offline", last_alive_ms)`` then the state now,
        so the time the terminal was off is not counted as online.
        """
        if state not in STATES:
            raise DayBookError(f"unknown state {state!r}")
        self._advance(t_ms)
        self.state = state

    def trip(self, record: Mapping) -> None:
        """A closed trip record from the meter."""
        try:
            board, alight, end = int(record["board_ms"]), int(record["alight_ms"]), int(record["end_ms"])
            loaded, empty = int(record["distance_m"]), int(record["empty_m"])
            fare, total, order_id = int(record["fare_fen"]), int(record["total_fen"]), str(record["order_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DayBookError(f"not a trip record: {exc!r}") from exc
        if not board <= alight <= end or loaded < 0 or empty < 0:
            raise DayBookError(f"trip times/distances out of order: board {board}, alight {alight}, end {end}, "
                               f"distance {loaded}, empty {empty}")
        empty_from = self.last_trip_end_ms if self.last_trip_end_ms is not None else board
        self._spread(min(empty_from, board), board, empty, "empty")
        self._spread(board, alight, loaded, "loaded")
        day = self._day(self._day_index(alight))
        day["trips"] += 1
        day["on_call_trips"] += order_id != "0"
        day["fares_fen"] += fare
        day["total_fen"] += total
        self.last_trip_end_ms = max(end, self.last_trip_end_ms or end)

    # --- output ----------------------------------------------------------------------------

    def day_of(self, t_ms: int) -> str:
        """The local calendar day ("YYYY-MM-DD") that instant ``t_ms`` falls in."""
        return _iso(self._day_index(t_ms))

    def open_days(self) -> list[str]:
        return [_iso(d) for d in sorted(self.days)]

    def close(self, day: str, now_ms: int) -> dict:
        """The up/daily body for local ``day``; the day leaves the book. State time is
        counted up to ``now_ms`` first."""
        index = _index_of(day)
        self._advance(now_ms)
        counts = self.days.pop(index, None) or _empty_day()
        loaded = counts["loaded_m_peak"] + counts["loaded_m_off_peak"]
        empty = counts["empty_m_peak"] + counts["empty_m_off_peak"]
        return {
            "day": day, "utc_offset_min": self.utc_offset_min,
            "online_ms": counts["online_ms"], "operating_ms": counts["operating_ms"],
            "loaded_ms": counts["loaded_ms"], "trips": counts["trips"], "on_call_trips": counts["on_call_trips"],
            "loaded_m": loaded, "empty_m": empty,
            "peak": {"loaded_m": counts["loaded_m_peak"], "empty_m": counts["empty_m_peak"]},
            "off_peak": {"loaded_m": counts["loaded_m_off_peak"], "empty_m": counts["empty_m_off_peak"]},
            "utilisation_permille": {
                "all_day": _permille(loaded, empty),
                "peak": _permille(counts["loaded_m_peak"], counts["empty_m_peak"]),
                "off_peak": _permille(counts["loaded_m_off_peak"], counts["empty_m_off_peak"]),
            },
            "fares_fen": counts["fares_fen"], "total_fen": counts["total_fen"],
            "peak_windows": [[_hhmm(a), _hhmm(b)] for a, b in self.peaks],
        }

    # --- persistence ------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {"utc_offset_min": self.utc_offset_min, "peaks": [list(w) for w in self.peaks],
                "days": {_iso(d): dict(c) for d, c in self.days.items()}, "state": self.state,
                "since_ms": self.since_ms, "last_trip_end_ms": self.last_trip_end_ms}

    @classmethod
    def from_snapshot(cls, snap: Mapping) -> DayBook:
        keys = {"utc_offset_min", "peaks", "days", "state", "since_ms", "last_trip_end_ms"}
        if set(snap) != keys:
            raise DayBookError(f"not a day book snapshot: keys {sorted(snap)}")
        book = cls(snap["utc_offset_min"], [tuple(w) for w in snap["peaks"]])
        if snap["state"] not in STATES:
            raise DayBookError(f"bad snapshot state {snap['state']!r}")
        for day, counts in snap["days"].items():
            if set(counts) != set(_COUNTERS):
                raise DayBookError(f"snapshot day {day} has counters {sorted(counts)}")
            book.days[_index_of(day)] = dict(counts)
        book.state, book.since_ms, book.last_trip_end_ms = snap["state"], snap["since_ms"], snap["last_trip_end_ms"]
        return book

    # --- inside ------------------------------------------------------------------------------

    def _advance(self, t_ms: int) -> None:
        if isinstance(t_ms, bool) or not isinstance(t_ms, int):
            raise DayBookError(f"time must be integer ms, got {t_ms!r}")
        if self.since_ms is not None and t_ms < self.since_ms:
            raise DayBookError(f"time ran backwards: {t_ms} < {self.since_ms}")
        if self.since_ms is not None and self.state != "offline":
            for index, _peak, length in self._segments(self.since_ms, t_ms):
                day = self._day(index)
                day["online_ms"] += length
                if self.state != "out_of_service":
                    day["operating_ms"] += length
                if self.state in LOADED_STATES:
                    day["loaded_ms"] += length
        self.since_ms = t_ms

    def _spread(self, start: int, end: int, metres: int, kind: str) -> None:
        if metres == 0:
            return
        segments = self._segments(start, end) if end > start else [(self._day_index(start), self._is_peak(start), 1)]
        total = sum(length for _, _, length in segments)
        # Largest remainder: the parts always add up to the metres driven.
        shares = [(metres * length // total, metres * length % total, i) for i, (_, _, length) in enumerate(segments)]
        left = metres - sum(s for s, _, _ in shares)
        bonus = {i for _, _, i in sorted(shares, key=lambda s: (-s[1], s[2]))[:left]}
        for (index, peak, _), (share, _, i) in zip(segments, shares, strict=True):
            self._day(index)[f"{kind}_m_{'peak' if peak else 'off_peak'}"] += share + (i in bonus)

    def _segments(self, start: int, end: int) -> list[tuple[int, bool, int]]:
        """[start, end) cut at local midnights and peak-window edges: (day index, peak?, ms)."""
        out = []
        t = start
        while t < end:
            local = t + self.offset_ms
            index, into = divmod(local, DAY_MS)
            edges = [a * MINUTE_MS for a, b in self.peaks] + [b * MINUTE_MS for a, b in self.peaks] + [DAY_MS]
            nxt = min(e for e in edges if e > into)
            stop = min(end, t + (nxt - into))
            out.append((index, self._is_peak(t), stop - t))
            t = stop
        return out

    def _is_peak(self, t_ms: int) -> bool:
        minute = ((t_ms + self.offset_ms) % DAY_MS) // MINUTE_MS
        return any(a <= minute < b for a, b in self.peaks)

    def _day_index(self, t_ms: int) -> int:
        return (t_ms + self.offset_ms) // DAY_MS

    def _day(self, index: int) -> dict:
        if index not in self.days:
            self.days[index] = _empty_day()
        return self.days[index]


def _empty_day() -> dict:
    return dict.fromkeys(_COUNTERS, 0)


def _permille(loaded: int, empty: int) -> int | None:
    if loaded + empty == 0:
        return None
    return (2000 * loaded + loaded + empty) // (2 * (loaded + empty))  # rounded half up


def _iso(index: int) -> str:
    y, m, d = civil_from_days(index)
    return f"{y:04d}-{m:02d}-{d:02d}"


def _index_of(day: str) -> int:
    try:
        y, m, d = (int(p) for p in day.split("-"))
    except ValueError as exc:
        raise DayBookError(f"day must be YYYY-MM-DD, got {day!r}") from exc
    # days-from-civil, the inverse of civil_from_days
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    index = era * 146097 + doe - 719468
    if _iso(index) != day:
        raise DayBookError(f"no such day {day!r}")
    return index


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
