"""An independent reference computation of taxi fares, for checking the meter.

Written apart from meter/fare.py and deliberately in another shape: it reads the raw
tariff data, walks every measurement interval minute by minute, cuts it where the minute's
night or peak flags change, and prices each piece metre by metre; the meter instead finds
the next window edge and keeps category sums. Both follow the
documented rules (docs/tariff.md), so they must agree to the fen.
"""

MIN = 60000
DAY = 86400000


def _hm(text):
    return int(text[0:2]) * 60 + int(text[3:5])


def _weekday(day):
    # 1970-01-01 was a Thursday (ISO 4)
    return ((day % 7) + 3) % 7 + 1


class Reference:
    def __init__(self, tariff, board_ms):
        self.t = tariff
        self.offset = tariff.get("utc_offset_min", 480)
        self.mode = tariff.get("mode", "CN")
        w = tariff.get("waiting")
        self.below = w["below_kmh"] if w else 0
        self.wfen = w["fen_per_unit"] if w else 0
        self.unit_ms = (w["unit_s"] if w else 60) * 1000
        self.free_ms = w.get("free_s", 0) * 1000 if w else 0
        self.whole = bool(w) and w.get("units") == "whole"
        self.paid_ms = 0
        ld = tariff.get("long_distance")
        self.long_from = ld["from_m"] if ld else None
        self.long_pct = ld["surcharge_pct"] if ld else 0
        n = tariff.get("night")
        self.night = (_hm(n["from"]), _hm(n["to"])) if n else None
        self.night_pct = n.get("surcharge_pct", 0) if n else 0
        self.night_wpct = n.get("waiting_surcharge_pct", 0) if n else 0
        p = tariff.get("peak")
        self.peak = [(_hm(x[:5]), _hm(x[6:])) for x in p["windows"]] if p else []
        self.peak_days = p.get("days", [1, 2, 3, 4, 5, 6, 7]) if p else []
        self.peak_pct = p.get("surcharge_pct", 0) if p else 0
        self.peak_wpct = p.get("waiting_surcharge_pct", 0) if p else 0
        self.start = tariff["start_fare_fen"]
        if self.night and self._is_night(self._minute(board_ms)):
            self.start = n.get("start_fare_fen", tariff["start_fare_fen"])
        self.d = 0          # hired metres so far
        self.money = 0      # fen * 100000 * unit_ms
        # what the start fare covers, in fen * 1000 * unit_ms; used up metre by metre and, in
        # modes CN and S, millisecond by millisecond of waiting too (JJG 517 6.8.2 时距冲抵)
        self.cover = tariff["start_distance_m"] * tariff["per_km_fen"] * self.unit_ms
        self.waiting_ms = 0

    def _minute(self, t):
        return ((t // MIN) + self.offset) % 1440

    def _is_night(self, minute):
        a, b = self.night
        if a < b:
            return a <= minute < b
        return minute >= a or minute < b

    def _is_peak(self, t):
        local = t + self.offset * MIN
        minute = (local % DAY) // MIN
        if _weekday(local // DAY) not in self.peak_days:
            return False
        return any(a <= minute < b for a, b in self.peak)

    def _flags(self, t):
        night = self.night is not None and self._is_night(self._minute(t))
        return (night, bool(self.peak) and self._is_peak(t))

    def interval(self, t0, t1, dm, low):
        """Price [t0, t1] with dm metres; ``low``: average speed below the waiting threshold."""
        dt = t1 - t0
        cuts = [t0]
        x = (t0 // MIN + 1) * MIN
        flags = self._flags(t0)
        while x < t1:
            if self._flags(x) != flags:     # a window opens or closes: only there is a cut
                cuts.append(x)
                flags = self._flags(x)
            x += MIN
        cuts.append(t1)
        prev_m = 0
        for i in range(len(cuts) - 1):
            a, b = cuts[i], cuts[i + 1]
            cum = dm if b == t1 else dm * (b - t0) // dt
            self.piece(a, b - a, cum - prev_m, low)
            prev_m = cum

    def piece(self, a, ms, m, low):
        night = self.night is not None and self._is_night(self._minute(a))
        peak = bool(self.peak) and self._is_peak(a)
        d0, d1 = self.d, self.d + m
        self.d = d1
        if not (self.mode == "S" and low):
            for metre_end in range(d0 + 1, d1 + 1):   # price metre by metre
                pct = 100 + (self.night_pct if night else 0) + (self.peak_pct if peak else 0)
                if self.long_from is not None and metre_end > self.long_from:
                    pct += self.long_pct
                self.money += self._beyond_cover(self.t["per_km_fen"] * self.unit_ms) * pct
        if ms and (self.mode == "D" or low):
            self.waiting_ms += ms
            pct = 100 + (self.night_wpct if night else 0) + (self.peak_wpct if peak else 0)
            free = min(ms, self.free_ms)       # the trip's first free_s seconds of waiting
            self.free_ms -= free
            paid = ms - free
            if self.whole:                    # whole units only, when the trip's waiting completes one
                paid = ((self.paid_ms + paid) // self.unit_ms - self.paid_ms // self.unit_ms) * self.unit_ms
            self.paid_ms += ms - free
            cost = self.wfen * paid * 1000
            if self.mode != "D":
                cost = self._beyond_cover(cost)
            self.money += cost * pct

    def _beyond_cover(self, cost):
        used = cost if cost < self.cover else self.cover
        self.cover -= used
        return cost - used

    def fare(self):
        step = self.t.get("step_fen", 10)
        den = 100000 * self.unit_ms * step
        rounding = self.t.get("rounding", "down")
        if rounding == "down":
            n = self.money // den
        elif rounding == "up":
            n = (self.money + den - 1) // den
        else:
            n = (2 * self.money + den) // (2 * den)
        return self.start + n * step


class ReferencePlausibility:
    """docs/meter.md "Plausibility", step by step: is a reading within max_kmh of its anchor?"""

    def __init__(self, max_kmh=250, window_ms=1000, window_counts=20, per_km=1000):
        self.max_kmh = max_kmh
        self.window_ms = window_ms
        self.window_counts = window_counts
        self.per_km = per_km
        self.kept = []

    def start(self, t, count):
        self.kept = [(t, count)]

    def judge(self, t, count):
        """(plausible, index of the anchor) of a reading."""
        far = [i for i, (pt, pc) in enumerate(self.kept)
               if pt <= t - self.window_ms and pc <= count - self.window_counts]
        if far:
            i, allow = far[-1], 0
        else:
            i, allow = 0, 1      # short of the window: one count for the first reading's part pulse
        at, ac = self.kept[i]
        return (count - ac - allow) * 3600000 <= self.max_kmh * self.per_km * (t - at), i

    def remember(self, t, count, anchor):
        kept = self.kept[anchor:]
        if len(kept) > 1 and (count == kept[-1][1] or t - kept[-2][0] < self.window_ms // 8):
            kept[-1] = (t, count)
        else:
            kept.append((t, count))
        self.kept = kept
