"""The fare of one trip: exact integer accumulators and the fare they give.

Every measurement interval of the hired state is fed in as (start, end, metres). The
interval is cut where a surcharge window (night, peak) opens or closes; the metres
before a cut are floor(metres * elapsed / duration), so cuts never create or lose a
metre. The interval's average speed, measured by the caller at the sensor's resolution
(pulses, not rounded metres), decides whether it is low speed (waiting).

Charges are kept as exact sums (metre-percent and millisecond-percent), and the fare
is computed from them in one integer division, then moved to the tariff's step. All
sums only grow, so the shown fare never decreases within a trip.
"""

from meter import civil

MS_PER_MIN = civil.MS_PER_MIN


class TripFare:
    def __init__(self, tariff, board_ms):
        self.tariff = tariff
        local_min = (board_ms // MS_PER_MIN + tariff.utc_offset_min) % 1440
        self.night_start = tariff.in_night(local_min)
        self.start_fen = tariff.night_start_fare_fen if self.night_start else tariff.start_fare_fen
        self.trip_m = 0        # hired distance, charged or not (drives start and long-distance thresholds)
        self.base_m = 0        # charged metres beyond the start distance
        self.long_m = 0        # of those, metres beyond the long-distance threshold
        self.night_m = 0       # of the charged metres, those driven in the night window
        self.peak_m = 0        # ... in a peak window
        self.waiting_ms = 0    # time charged by the time tariff
        self.waiting_night_ms = 0
        self.waiting_peak_ms = 0
        self._edge_ms = None   # next instant a surcharge window opens or closes
        self._night = False
        self._peak = False

    # -- classification of time ---------------------------------------------------
    def _classify(self, t_ms):
        """Set the window flags for instant t_ms and the next edge after it."""
        t = self.tariff
        local_ms = t_ms + t.utc_offset_min * MS_PER_MIN
        day = local_ms // civil.MS_PER_DAY
        ms_in_day = local_ms - day * civil.MS_PER_DAY
        minute = ms_in_day // MS_PER_MIN
        self._night = t.in_night(minute)
        self._peak = bool(t.peak_windows) and t.in_peak(minute, civil.iso_weekday(day))
        edge = None
        for e in t.edges:
            if e * MS_PER_MIN > ms_in_day:
                edge = e * MS_PER_MIN
                break
        if edge is None:
            edge = civil.MS_PER_DAY + (t.edges[0] * MS_PER_MIN if t.edges else 0)
        self._edge_ms = t_ms - ms_in_day + edge

    # -- accrual --------------------------------------------------------------------
    def accrue(self, t0, t1, dm, low):
        """Charge the hired interval [t0, t1] in which the vehicle moved dm metres.

        ``low`` says whether the interval's average speed was below the waiting
        threshold; the caller decides it at the sensor's own resolution.
        """
        dt = t1 - t0
        if self._edge_ms is None or t0 >= self._edge_ms:
            self._classify(t0)
        a = t0
        done_m = 0
        while True:
            b = t1 if t1 <= self._edge_ms else self._edge_ms
            cut_m = dm if b == t1 else dm * (b - t0) // dt
            self._piece(b - a, cut_m - done_m, low)
            done_m = cut_m
            a = b
            if a >= t1:
                break
            self._classify(a)
        if t1 >= self._edge_ms:
            self._classify(t1)

    def _piece(self, ms, m, low):
        t = self.tariff
        mode = t.mode
        if ms and (mode == "D" or low):
            self.waiting_ms += ms
            if self._night:
                self.waiting_night_ms += ms
            if self._peak:
                self.waiting_peak_ms += ms
        d0 = self.trip_m
        d1 = d0 + m
        self.trip_m = d1
        if m == 0 or (mode == "S" and low):
            return
        start = t.start_distance_m
        charged = d1 - (d0 if d0 > start else start)
        if charged <= 0:
            return
        self.base_m += charged
        if t.long_from_m is not None:
            lf = t.long_from_m
            beyond = d1 - (d0 if d0 > lf else lf)
            if beyond > 0:
                self.long_m += beyond
        if self._night:
            self.night_m += charged
        if self._peak:
            self.peak_m += charged

    # -- the fare -------------------------------------------------------------------
    def parts_scaled(self):
        """Charges beyond the start fare as numerators over ``denominator()``."""
        t = self.tariff
        unit = t.waiting_unit_ms
        km = t.per_km_fen * unit  # distance numerators are fen*m*pct, over 100000*unit
        wt = t.waiting_fen_per_unit * 1000  # time numerators are fen*ms*pct, over unit*100 -> *1000
        return {
            "distance_fen": km * self.base_m * 100,
            "long_distance_fen": km * self.long_m * t.long_pct,
            "night_fen": km * self.night_m * t.night_pct + wt * self.waiting_night_ms * t.night_waiting_pct,
            "peak_fen": km * self.peak_m * t.peak_pct + wt * self.waiting_peak_ms * t.peak_waiting_pct,
            "waiting_fen": wt * self.waiting_ms * 100,
        }

    def denominator(self):
        return 100000 * self.tariff.waiting_unit_ms

    def fare_fen(self):
        t = self.tariff
        num = 0
        for v in self.parts_scaled().values():
            num += v
        den = self.denominator() * t.step_fen
        if t.rounding == "down":
            steps = num // den
        elif t.rounding == "up":
            steps = -((-num) // den)
        else:
            steps = (2 * num + den) // (2 * den)
        return self.start_fen + steps * t.step_fen

    def breakdown(self):
        """Fare per tariff element in fen; ``rounding_fen`` makes the parts sum to the fare."""
        den = self.denominator()
        out = {"start_fen": self.start_fen}
        total = self.start_fen
        for key, num in self.parts_scaled().items():
            out[key] = num // den
            total += out[key]
        out["rounding_fen"] = self.fare_fen() - total
        return out

    def snapshot(self):
        return [self.start_fen, self.night_start, self.trip_m, self.base_m, self.long_m, self.night_m,
                self.peak_m, self.waiting_ms, self.waiting_night_ms, self.waiting_peak_ms]

    @staticmethod
    def restore(tariff, s, board_ms):
        f = TripFare(tariff, board_ms)
        (f.start_fen, f.night_start, f.trip_m, f.base_m, f.long_m, f.night_m,
         f.peak_m, f.waiting_ms, f.waiting_night_ms, f.waiting_peak_ms) = s
        return f
