"""The fare of one trip: exact integer accumulators and the fare they give.

Every measurement interval of the hired state is fed in as (start, end, metres). The
interval is cut where a surcharge window (night, peak) opens or closes, and nowhere else
(within a piece, distance uses the start fare's cover before waiting, so cuts matter); the
metres before a cut are floor(metres * elapsed / duration), so cuts never create or lose a
metre. The interval's average speed, measured by the caller at the sensor's resolution
(pulses, not rounded metres), decides whether it is low speed (waiting).

The start fare covers start_distance_m worth of charges; in modes CN and S waiting uses
that cover too (JJG 517-2016 6.8.2). Charges beyond it are kept as exact sums in base
units (fen * 1000 * unit_ms), and the fare is computed from them in one integer
division, then moved to the tariff's step. All sums only grow, so the shown fare never
decreases within a trip.
"""

from meter import civil

MS_PER_MIN = civil.MS_PER_MIN


class TripFare:
    def __init__(self, tariff, board_ms):
        self.tariff = tariff
        local_min = (board_ms // MS_PER_MIN + tariff.utc_offset_min) % 1440
        self.night_start = tariff.in_night(local_min)
        self.start_fen = tariff.night_start_fare_fen if self.night_start else tariff.start_fare_fen
        self.trip_m = 0        # hired distance, charged or not (drives the long-distance threshold)
        self.base_m = 0        # metres driven beyond the start distance and charged by distance
        # Money is kept in base units (fen * 1000 * unit_ms): a metre is per_km_fen * unit_ms,
        # a millisecond of waiting is fen_per_unit * 1000. Exact, whatever the prices.
        self.credit = tariff.start_distance_m * self._per_m()  # what the start fare still covers
        self.dist_u = 0        # distance charged beyond the start fare
        self.long_u = 0        # ... of it, beyond the long-distance threshold
        self.night_u = 0       # ... of it, in the night window
        self.peak_u = 0        # ... of it, in a peak window
        self.waiting_ms = 0    # time classed as waiting (charged by the time tariff)
        self.wait_u = 0        # waiting charged beyond the start fare
        self.wait_night_u = 0
        self.wait_peak_u = 0
        self.free_ms = tariff.waiting_free_ms   # waiting not charged at all (免费等候), still left
        self.paid_ms = 0       # waiting beyond the free time (whole units: charged per unit completed)
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
            night = self._night
            peak = self._peak
            if b < t1:
                self._classify(b)
                if self._night == night and self._peak == peak:
                    continue   # nothing opens or closes here (a weekday change): no cut
            cut_m = dm if b == t1 else dm * (b - t0) // dt
            self._piece(b - a, cut_m - done_m, low, night, peak)
            done_m = cut_m
            a = b
            if a >= t1:
                break
        if t1 >= self._edge_ms:
            self._classify(t1)

    def _per_m(self):
        return self.tariff.per_km_fen * self.tariff.waiting_unit_ms

    def _piece(self, ms, m, low, night, peak):
        t = self.tariff
        mode = t.mode
        d0 = self.trip_m
        d1 = d0 + m
        self.trip_m = d1
        if m and not (mode == "S" and low):
            start = t.start_distance_m
            charged = d1 - (d0 if d0 > start else start)
            if charged > 0:
                self.base_m += charged
            # the start fare covers the first metres charged; JJG 517 6.8.2: time may have
            # used some of it, but the long-distance point stays at the real distance
            u = self._use_credit(m * self._per_m())
            if u:
                self.dist_u += u
                if t.long_from_m is not None:
                    lf = t.long_from_m
                    beyond = d1 - (d0 if d0 > lf else lf)
                    if beyond > 0:
                        lu = beyond * self._per_m()
                        self.long_u += lu if lu < u else u
                if night:
                    self.night_u += u
                if peak:
                    self.peak_u += u
        if ms and (mode == "D" or low):
            self.waiting_ms += ms
            free = self.free_ms if self.free_ms < ms else ms
            self.free_ms -= free
            paid = ms - free
            if t.waiting_whole:
                # 不足一个单位不计: a unit is charged when the trip's paid waiting completes it
                unit = t.waiting_unit_ms
                before = self.paid_ms
                paid = ((before + paid) // unit - before // unit) * unit
            self.paid_ms += ms - free
            u = paid * t.waiting_fen_per_unit * 1000
            if mode != "D":
                # 时距冲抵 (CN) and the single tariff (S): time uses what the start fare covers
                u = self._use_credit(u)
            if u:
                self.wait_u += u
                if night:
                    self.wait_night_u += u
                if peak:
                    self.wait_peak_u += u

    def _use_credit(self, u):
        """Take u base units from what the start fare still covers; return the rest (charged)."""
        c = self.credit
        if c >= u:
            self.credit = c - u
            return 0
        self.credit = 0
        return u - c

    # -- the fare -------------------------------------------------------------------
    def parts_scaled(self):
        """Charges beyond the start fare as numerators over ``denominator()``."""
        t = self.tariff
        return {
            "distance_fen": self.dist_u * 100,
            "long_distance_fen": self.long_u * t.long_pct,
            "night_fen": self.night_u * t.night_pct + self.wait_night_u * t.night_waiting_pct,
            "peak_fen": self.peak_u * t.peak_pct + self.wait_peak_u * t.peak_waiting_pct,
            "waiting_fen": self.wait_u * 100,
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
        return [self.start_fen, self.night_start, self.trip_m, self.base_m, self.credit, self.dist_u,
                self.long_u, self.night_u, self.peak_u, self.waiting_ms, self.wait_u, self.wait_night_u,
                self.wait_peak_u, self.free_ms, self.paid_ms]

    @staticmethod
    def restore(tariff, s, board_ms):
        f = TripFare(tariff, board_ms)
        if len(s) == 10:
            # a snapshot from before time offset the start distance: metres and milliseconds
            (f.start_fen, f.night_start, f.trip_m, f.base_m, long_m, night_m, peak_m,
             f.waiting_ms, wn_ms, wp_ms) = s
            pm = f._per_m()
            wm = tariff.waiting_fen_per_unit * 1000
            left = tariff.start_distance_m - f.trip_m
            f.credit = left * pm if left > 0 else 0
            f.dist_u, f.long_u, f.night_u, f.peak_u = f.base_m * pm, long_m * pm, night_m * pm, peak_m * pm
            f.wait_u, f.wait_night_u, f.wait_peak_u = f.waiting_ms * wm, wn_ms * wm, wp_ms * wm
            f.free_ms = 0
            f.paid_ms = f.waiting_ms
            return f
        (f.start_fen, f.night_start, f.trip_m, f.base_m, f.credit, f.dist_u, f.long_u, f.night_u,
         f.peak_u, f.waiting_ms, f.wait_u, f.wait_night_u, f.wait_peak_u, f.free_ms, f.paid_ms) = s
        return f
