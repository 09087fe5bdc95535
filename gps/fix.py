"""GNSS fixes: the position model the terminal uses, and the builder that merges one epoch's sentences.

A receiver sends several sentences per measurement epoch (RMC, GGA, GSA, ...); each
carries part of the answer. ``FixBuilder`` collects the records of one epoch and emits
one ``Fix`` when the epoch is over: when a sentence with a newer time arrives, or at once
on the sentence that ended the previous epochs (it learns the receiver's order, like
gpsd's cycle detection), or on ``flush()`` at the end of input.

Times are UTC epoch milliseconds from the receiver's own clock (``time_ms``): the
terminal uses them for clock discipline. An epoch whose time goes backwards is refused.
"""

from gps.parse import Gga, Gll, Gsa, Gsv, Rmc, Vtg, Zda
from gps.stats import GnssStats

DAY_MS = 86_400_000
MOVING_MPS = 1.0  # above 3.6 km/h the vehicle is moving (receiver Doppler speed is far quieter)


class Fix:
    """One GNSS epoch. ``lat``/``lon`` in degrees (WGS-84), ``speed_mps``, ``course_deg`` true,
    ``quality`` the GGA indicator (0 none, 1 GPS, 2 DGPS, 6 estimated...), ``mode`` 1 no fix /
    2 2D / 3 3D, ``sats`` used, ``hdop``, ``valid`` the receiver's own verdict.
    ``time_ms`` is None until the receiver has told a date."""

    __slots__ = ("time_ms", "lat", "lon", "alt_m", "speed_mps", "course_deg", "quality", "mode", "sats",
                 "hdop", "valid", "talker")

    def __init__(self, time_ms=None, lat=None, lon=None, alt_m=None, speed_mps=None, course_deg=None,
                 quality=0, mode=1, sats=None, hdop=None, valid=False, talker="") -> None:
        self.time_ms, self.lat, self.lon, self.alt_m = time_ms, lat, lon, alt_m
        self.speed_mps, self.course_deg, self.quality, self.mode = speed_mps, course_deg, quality, mode
        self.sats, self.hdop, self.valid, self.talker = sats, hdop, valid, talker

    @property
    def positioned(self) -> bool:
        return self.valid and self.mode >= 2 and self.lat is not None and self.lon is not None

    @property
    def moving(self) -> bool:
        return self.positioned and self.speed_mps is not None and self.speed_mps >= MOVING_MPS

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def __repr__(self) -> str:
        return (f"Fix(time_ms={self.time_ms}, lat={self.lat}, lon={self.lon}, speed_mps={self.speed_mps}, "
                f"mode={self.mode}, valid={self.valid})")


_TIMED = (Rmc, Gga, Gll, Zda)


class FixBuilder:
    """Merges parsed records into fixes, one per epoch. ``add(record)`` returns a finished Fix or None."""

    def __init__(self, stats: GnssStats | None = None) -> None:
        self.stats = stats if stats is not None else GnssStats()
        self._day: int | None = None       # last date the receiver told (days since 1970)
        self._last_tod: int | None = None  # time of day of the last timed epoch
        self._last_time_ms: int | None = None
        self._mode: int | None = None      # GSA state carries over: receivers send it after the epoch's end
        self._gsa_hdop: float | None = None
        self._ender: type | None = None    # the record type that closes an epoch on this receiver
        self._last_timed_type: type | None = None
        self._reset()

    def _reset(self) -> None:
        self._tod: int | None = None
        self._rmc: Rmc | None = None
        self._gga: Gga | None = None
        self._gll: Gll | None = None
        self._vtg: Vtg | None = None
        self._open = False

    def add(self, record) -> Fix | None:
        cls = type(record)
        if cls in _TIMED:
            tod = record.tod_ms
            if tod is None:
                return None
            if cls is Zda:
                # ZDA is a clock report, not a position; it only updates the date
                if record.day is not None:
                    self._day = record.day
                return None
            done = None
            if self._open and tod != self._tod:
                if self._ender is None:
                    self._ender = self._last_timed_type
                done = self._finish()
            if not self._open:
                self._open = True
                self._tod = tod
            if cls is Rmc:
                self._rmc = record
                if record.day is not None:
                    self._day = record.day
            elif cls is Gga:
                self._gga = record
            else:
                self._gll = record
            self._last_timed_type = cls
            if done is None and cls is self._ender:
                done = self._finish()
            return done
        if cls is Vtg:
            if self._open:  # a VTG after the epoch's closing sentence has nothing left to join
                self._vtg = record
        elif cls is Gsa:
            self._mode = record.mode
            self._gsa_hdop = record.hdop
        elif cls is not Gsv:
            return None
        return None

    def flush(self) -> Fix | None:
        """End of input: the epoch in progress, if any."""
        return self._finish() if self._open else None

    def _finish(self) -> Fix | None:
        rmc, gga, gll, vtg, tod = self._rmc, self._gga, self._gll, self._vtg, self._tod
        self._reset()
        stats = self.stats
        time_ms = None
        if self._day is not None and tod is not None:
            day = self._day
            # a GGA-only epoch just after midnight, before RMC brings the new date
            if rmc is None and self._last_tod is not None and tod < self._last_tod - DAY_MS // 2:
                day += 1
                self._day = day
            time_ms = day * DAY_MS + tod
            if self._last_time_ms is not None and time_ms < self._last_time_ms:
                stats.fixes_rejected += 1
                return None
            self._last_time_ms = time_ms
        self._last_tod = tod
        fix = Fix(time_ms=time_ms)
        valid = False
        if rmc is not None:
            fix.talker = rmc.talker
            fix.lat, fix.lon = rmc.lat, rmc.lon
            fix.speed_mps, fix.course_deg = rmc.speed_mps, rmc.course_deg
            valid = rmc.valid
        if gga is not None:
            fix.talker = fix.talker or gga.talker
            if fix.lat is None:
                fix.lat, fix.lon = gga.lat, gga.lon
            fix.quality, fix.sats, fix.hdop, fix.alt_m = gga.quality, gga.sats, gga.hdop, gga.alt_m
            valid = gga.quality > 0 if rmc is None else valid and gga.quality > 0
        elif rmc is not None and rmc.valid:
            fix.quality = 1
        if gll is not None and fix.lat is None:
            fix.talker = fix.talker or gll.talker
            fix.lat, fix.lon = gll.lat, gll.lon
            valid = gll.valid
        if vtg is not None:
            if fix.speed_mps is None:
                fix.speed_mps = vtg.speed_mps
            if fix.course_deg is None:
                fix.course_deg = vtg.course_deg
        if fix.hdop is None:
            fix.hdop = self._gsa_hdop
        if fix.lat is None or fix.lon is None:
            valid = False
        if not valid:
            fix.mode = 1
        elif self._mode is not None and self._mode >= 2:
            fix.mode = self._mode
        else:
            fix.mode = 3 if fix.alt_m is not None else 2
        fix.valid = valid
        stats.fixes += 1
        return fix
