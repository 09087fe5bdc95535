"""NMEA sentence parsing: checked sentence bodies to typed records, with absurd values refused.

Two parsers give the same records: ``SentenceParser`` (the terminal's fast path: it
splits the fields itself and converts only what a fix needs) and ``Pynmea2Parser``
(pynmea2's sentence classes, the reference the fast path is tested against). Both
understand RMC, GGA, VTG, GSA, GSV, ZDA, GLL and TXT from talkers GP, GN, BD, GB, GL,
GA, and MediaTek's ``$PGTOP`` antenna report. Anything else is counted ``unknown``;
fields that do not convert are ``malformed``; values no receiver can mean (latitude
95°, 9,999 knots, a date before ``min_year``) are ``absurd``. No input raises.

Longer than 400 lines because it is two parsers of the same sentences side by side (the
fast path and the pynmea2 reference), sharing one table of field checks.
"""

import datetime

from gps.stats import GnssStats

TALKERS = frozenset(("GP", "GN", "BD", "GB", "GL", "GA"))
TYPES = frozenset(("RMC", "GGA", "VTG", "GSA", "GSV", "ZDA", "GLL", "TXT"))
KNOT_MPS = 1852.0 / 3600.0
KMH_MPS = 1.0 / 3.6
DEFAULT_MAX_SPEED_MPS = 150.0  # 540 km/h: beyond any road vehicle, below receiver garbage
DEFAULT_MIN_YEAR = 2016        # older dates come from week-number rollover bugs or a cold RTC
ALTITUDE_RANGE_M = (-1000, 20000)  # metres a receiver on a road can report; beyond is garbage
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


class Absurd(ValueError):
    """A value that converts but cannot be true (latitude 95°, year 1980)."""


class Rmc:
    __slots__ = ("talker", "tod_ms", "valid", "lat", "lon", "speed_mps", "course_deg", "day")
    kind = "RMC"

    def __init__(self, talker, tod_ms, valid, lat, lon, speed_mps, course_deg, day):
        self.talker, self.tod_ms, self.valid = talker, tod_ms, valid
        self.lat, self.lon, self.speed_mps, self.course_deg, self.day = lat, lon, speed_mps, course_deg, day


class Gga:
    __slots__ = ("talker", "tod_ms", "lat", "lon", "quality", "sats", "hdop", "alt_m")
    kind = "GGA"

    def __init__(self, talker, tod_ms, lat, lon, quality, sats, hdop, alt_m):
        self.talker, self.tod_ms, self.lat, self.lon = talker, tod_ms, lat, lon
        self.quality, self.sats, self.hdop, self.alt_m = quality, sats, hdop, alt_m


class Vtg:
    __slots__ = ("talker", "course_deg", "speed_mps")
    kind = "VTG"

    def __init__(self, talker, course_deg, speed_mps):
        self.talker, self.course_deg, self.speed_mps = talker, course_deg, speed_mps


class Gsa:
    __slots__ = ("talker", "mode", "hdop")
    kind = "GSA"

    def __init__(self, talker, mode, hdop):
        self.talker, self.mode, self.hdop = talker, mode, hdop


class Gsv:
    __slots__ = ("talker", "in_view")
    kind = "GSV"

    def __init__(self, talker, in_view):
        self.talker, self.in_view = talker, in_view


class Zda:
    __slots__ = ("talker", "tod_ms", "day")
    kind = "ZDA"

    def __init__(self, talker, tod_ms, day):
        self.talker, self.tod_ms, self.day = talker, tod_ms, day


class Gll:
    __slots__ = ("talker", "tod_ms", "valid", "lat", "lon")
    kind = "GLL"

    def __init__(self, talker, tod_ms, valid, lat, lon):
        self.talker, self.tod_ms, self.valid, self.lat, self.lon = talker, tod_ms, valid, lat, lon


class Txt:
    __slots__ = ("talker", "text")
    kind = "TXT"

    def __init__(self, talker, text):
        self.talker, self.text = talker, text


class Pgtop:
    """MediaTek/GlobalTop antenna advisor: 1 active antenna shorted, 2 internal antenna, 3 active antenna."""
    __slots__ = ("status",)
    kind = "PGTOP"
    talker = "P"

    def __init__(self, status):
        self.status = status


Record = Rmc | Gga | Vtg | Gsa | Gsv | Zda | Gll | Txt | Pgtop


# --- field conversions shared by both parsers -------------------------------------------

def time_of_day_ms(field: str) -> int | None:
    """``hhmmss[.sss]`` to milliseconds since midnight; empty is None."""
    if not field:
        return None
    if len(field) < 6 or not field[:6].isdigit():
        raise ValueError(f"bad time {field!r}")
    hh, mm = int(field[0:2]), int(field[2:4])
    ss = float(field[4:])
    if hh > 23 or mm > 59 or not 0.0 <= ss < 61.0:
        raise Absurd(f"time {field!r}")
    return hh * 3_600_000 + mm * 60_000 + round(ss * 1000)


_day_cache: dict = {}


def day_number(day: int, month: int, year: int, min_year: int) -> int:
    """Days since 1970-01-01 of a calendar date; dates before ``min_year`` are absurd."""
    if year < min_year or year > 2099:
        raise Absurd(f"year {year}")
    try:
        return datetime.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise Absurd(f"date {year}-{month}-{day}") from None


def ddmmyy_day(field: str, min_year: int) -> int | None:
    if not field:
        return None
    key = (field, min_year)
    cached = _day_cache.get(key)
    if cached is not None:
        return cached
    if len(field) != 6 or not field.isdigit():
        raise ValueError(f"bad date {field!r}")
    yy = int(field[4:6])
    # the same century rule as time.strptime("%y"), so both parsers agree
    year = 1900 + yy if yy >= 69 else 2000 + yy
    day = day_number(int(field[0:2]), int(field[2:4]), year, min_year)
    if len(_day_cache) < 4096:
        _day_cache[key] = day
    return day


def degrees(value: str, hemisphere: str, limit: float) -> float | None:
    """NMEA ``dddmm.mmmm`` with N/S/E/W to signed decimal degrees; empty is None."""
    if not value:
        if hemisphere:
            raise ValueError("hemisphere without a coordinate")
        return None
    number = float(value)
    if number < 0.0 or number != number:
        raise ValueError(f"bad coordinate {value!r}")
    whole = int(number // 100)
    minutes = number - whole * 100
    if minutes >= 60.0:
        raise Absurd(f"minutes {value!r}")
    result = whole + minutes / 60.0
    if result > limit:
        raise Absurd(f"coordinate {value!r} beyond {limit}")
    if hemisphere in ("S", "W"):
        return -result
    if hemisphere in ("N", "E"):
        return result
    raise ValueError(f"bad hemisphere {hemisphere!r}")


def optional_float(field: str) -> float | None:
    if not field:
        return None
    value = float(field)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"not a number {field!r}")
    return value


def speed(value: float | None, factor: float, max_speed_mps: float) -> float | None:
    if value is None:
        return None
    mps = value * factor
    if mps < 0.0 or mps > max_speed_mps:
        raise Absurd(f"speed {value}")
    return mps


def course(value: float | None) -> float | None:
    if value is None:
        return None
    if value < 0.0 or value > 360.0:
        raise Absurd(f"course {value}")
    return value


def hdop_value(value: float | None) -> float | None:
    if value is not None and (value < 0.0 or value > 99.99):
        raise Absurd(f"hdop {value}")
    return value


def altitude(value: float | None) -> float | None:
    if value is not None and not ALTITUDE_RANGE_M[0] <= value <= ALTITUDE_RANGE_M[1]:
        raise Absurd(f"altitude {value}")
    return value


def optional_int(field: str) -> int | None:
    if not field:
        return None
    if not field.isdigit():
        raise ValueError(f"not an integer {field!r}")
    return int(field)


def pgtop_status(fields: list[str]) -> int:
    if len(fields) < 3 or fields[1] != "11" or fields[2] not in ("1", "2", "3"):
        raise ValueError(f"bad PGTOP {fields!r}")
    return int(fields[2])


# --- the fast parser ---------------------------------------------------------------------

class SentenceParser:
    """The terminal's parser: one ``parse(body)`` per checked sentence; counts in ``stats``."""

    def __init__(self, stats: GnssStats | None = None, *, max_speed_mps: float = DEFAULT_MAX_SPEED_MPS,
                 min_year: int = DEFAULT_MIN_YEAR) -> None:
        self.stats = stats if stats is not None else GnssStats()
        self.max_speed_mps = max_speed_mps
        self.min_year = min_year
        self._by_type = {"RMC": self._rmc, "GGA": self._gga, "VTG": self._vtg, "GSA": self._gsa,
                         "GSV": self._gsv, "ZDA": self._zda, "GLL": self._gll, "TXT": self._txt}

    def parse(self, body: str) -> Record | None:
        stats = self.stats
        fields = body.split(",")
        head = fields[0]
        if len(head) == 5 and head[:2] in TALKERS:
            handler = self._by_type.get(head[2:])
        elif head == "PGTOP":
            handler = self._pgtop
        else:
            handler = None
        if handler is None:
            stats.unknown += 1
            return None
        try:
            record = handler(head[:2], fields)
        except Absurd:
            stats.absurd += 1
            return None
        except (ValueError, IndexError):
            stats.malformed += 1
            return None
        stats.parsed += 1
        return record

    def _rmc(self, talker, f):
        # RMC,time,status,lat,N,lon,E,knots,course,date,magvar,E[,mode[,navstatus]]
        if not 12 <= len(f) <= 14:
            raise ValueError("RMC field count")
        status = f[2]
        if status not in ("A", "V"):
            raise ValueError("RMC status")
        valid = status == "A" and (len(f) < 13 or f[12] != "N")
        return Rmc(talker, time_of_day_ms(f[1]), valid, degrees(f[3], f[4], 90.0), degrees(f[5], f[6], 180.0),
                   speed(optional_float(f[7]), KNOT_MPS, self.max_speed_mps), course(optional_float(f[8])),
                   ddmmyy_day(f[9], self.min_year))

    def _gga(self, talker, f):
        # GGA,time,lat,N,lon,E,quality,sats,hdop,alt,M,sep,M,age,station
        if len(f) != 15:
            raise ValueError("GGA field count")
        quality = optional_int(f[6])
        if quality is None or quality > 8:
            raise ValueError("GGA quality")
        return Gga(talker, time_of_day_ms(f[1]), degrees(f[2], f[3], 90.0), degrees(f[4], f[5], 180.0),
                   quality, optional_int(f[7]), hdop_value(optional_float(f[8])), altitude(optional_float(f[9])))

    def _vtg(self, talker, f):
        # VTG,course,T,magcourse,M,knots,N,kmh,K[,mode]
        if not 9 <= len(f) <= 10:
            raise ValueError("VTG field count")
        kmh = optional_float(f[7])
        mps = speed(kmh, KMH_MPS, self.max_speed_mps) if kmh is not None else \
            speed(optional_float(f[5]), KNOT_MPS, self.max_speed_mps)
        return Vtg(talker, course(optional_float(f[1])), mps)

    def _gsa(self, talker, f):
        # GSA,A/M,mode,12 x prn,pdop,hdop,vdop[,systemid]
        if not 18 <= len(f) <= 19:
            raise ValueError("GSA field count")
        mode = optional_int(f[2])
        if mode not in (1, 2, 3):
            raise ValueError("GSA mode")
        return Gsa(talker, mode, hdop_value(optional_float(f[16])))

    def _gsv(self, talker, f):
        # GSV,total,number,in view,{prn,elev,azim,snr} x 0..4[,signal id]
        if len(f) < 4:
            raise ValueError("GSV field count")
        in_view = optional_int(f[3])
        if optional_int(f[1]) is None or optional_int(f[2]) is None:
            raise ValueError("GSV message numbers")
        return Gsv(talker, in_view)

    def _zda(self, talker, f):
        # ZDA,time,dd,mm,yyyy,zone h,zone m
        if len(f) != 7:
            raise ValueError("ZDA field count")
        tod = time_of_day_ms(f[1])
        if not (f[2] and f[3] and f[4]):
            return Zda(talker, tod, None)
        if not (f[2].isdigit() and f[3].isdigit() and f[4].isdigit()):
            raise ValueError("ZDA date")
        return Zda(talker, tod, day_number(int(f[2]), int(f[3]), int(f[4]), self.min_year))

    def _gll(self, talker, f):
        # GLL,lat,N,lon,E,time,status[,mode]
        if not 7 <= len(f) <= 8:
            raise ValueError("GLL field count")
        if f[6] not in ("A", "V"):
            raise ValueError("GLL status")
        valid = f[6] == "A" and (len(f) < 8 or f[7] != "N")
        return Gll(talker, time_of_day_ms(f[5]), valid, degrees(f[1], f[2], 90.0), degrees(f[3], f[4], 180.0))

    def _txt(self, talker, f):
        # TXT,total,number,type,text (the text itself may not contain commas)
        if len(f) != 5:
            raise ValueError("TXT field count")
        return Txt(talker, f[4])

    def _pgtop(self, talker, f):
        return Pgtop(pgtop_status(f))


# --- the pynmea2 reference parser --------------------------------------------------------

class Pynmea2Parser(SentenceParser):
    """Same records through pynmea2's sentence classes (slower; the reference in tests)."""

    def parse(self, body: str) -> Record | None:
        stats = self.stats
        head = body.split(",", 1)[0]
        if head == "PGTOP":
            return super().parse(body)
        if len(head) != 5 or head[:2] not in TALKERS or head[2:] not in TYPES:
            stats.unknown += 1
            return None
        import pynmea2  # the reference parser only: the car's fast path never loads it (3 MB)

        try:
            message = pynmea2.parse("$" + body)
            record = self._convert(message)
        except Absurd:
            stats.absurd += 1
            return None
        except (pynmea2.ParseError, ValueError, IndexError, TypeError, AttributeError):
            stats.malformed += 1
            return None
        stats.parsed += 1
        return record

    def _convert(self, m) -> Record:
        kind, talker, n = m.sentence_type, m.talker, len(m.data)
        if kind == "RMC":
            if not 11 <= n <= 13 or m.status not in ("A", "V"):
                raise ValueError("RMC")
            mode = m.data[11] if n >= 12 else ""
            return Rmc(talker, time_of_day_ms(m.data[0]), m.status == "A" and mode != "N",
                       self._lat(m), self._lon(m),
                       speed(_float(m.spd_over_grnd), KNOT_MPS, self.max_speed_mps), course(_float(m.true_course)),
                       self._date(m))
        if kind == "GGA":
            if n != 14 or m.gps_qual is None or not 0 <= int(m.gps_qual) <= 8:
                raise ValueError("GGA")
            return Gga(talker, time_of_day_ms(m.data[0]), self._lat(m), self._lon(m), int(m.gps_qual),
                       optional_int(m.num_sats), hdop_value(_float(m.horizontal_dil)), altitude(_float(m.altitude)))
        if kind == "VTG":
            if not 8 <= n <= 9:
                raise ValueError("VTG")
            kmh = _float(m.spd_over_grnd_kmph)
            mps = speed(kmh, KMH_MPS, self.max_speed_mps) if kmh is not None else \
                speed(_float(m.spd_over_grnd_kts), KNOT_MPS, self.max_speed_mps)
            return Vtg(talker, course(_float(m.true_track)), mps)
        if kind == "GSA":
            if not 17 <= n <= 18 or m.mode_fix_type not in ("1", "2", "3"):
                raise ValueError("GSA")
            return Gsa(talker, int(m.mode_fix_type), hdop_value(_float(m.hdop)))
        if kind == "GSV":
            if n < 3 or optional_int(m.data[0]) is None or optional_int(m.data[1]) is None:
                raise ValueError("GSV")
            return Gsv(talker, optional_int(m.data[2]))
        if kind == "ZDA":
            if n != 6:
                raise ValueError("ZDA")
            tod = time_of_day_ms(m.data[0])
            if not (m.day and m.month and m.year):
                return Zda(talker, tod, None)
            return Zda(talker, tod, day_number(int(m.day), int(m.month), int(m.year), self.min_year))
        if kind == "GLL":
            if not 6 <= n <= 7 or m.status not in ("A", "V"):
                raise ValueError("GLL")
            mode = m.data[6] if n == 7 else ""
            return Gll(talker, time_of_day_ms(m.data[4]), m.status == "A" and mode != "N",
                       self._lat(m), self._lon(m))
        if kind == "TXT":
            if n != 4:
                raise ValueError("TXT")
            return Txt(talker, m.text)
        raise ValueError(f"unhandled {kind}")

    def _lat(self, m) -> float | None:
        return self._coordinate(m.lat, m.lat_dir, 90.0, m.latitude if m.lat else None)

    def _lon(self, m) -> float | None:
        return self._coordinate(m.lon, m.lon_dir, 180.0, m.longitude if m.lon else None)

    @staticmethod
    def _coordinate(raw: str, hemisphere: str, limit: float, value: float | None) -> float | None:
        checked = degrees(raw, hemisphere, limit)  # the same range checks as the fast path
        if value is None or checked is None:
            return checked
        return value

    def _date(self, m) -> int | None:
        raw = m.data[8]
        if not raw:
            return None
        if len(raw) != 6 or not raw.isdigit():
            raise ValueError("RMC date")
        stamp = m.datestamp  # pynmea2 leaves the text when it is no calendar day
        if not isinstance(stamp, datetime.date):
            raise Absurd(f"date {raw!r}")
        return day_number(stamp.day, stamp.month, stamp.year, self.min_year)


def _float(value) -> float | None:
    if value is None or value == "":
        return None
    result = float(value)
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError("not a number")
    return result
