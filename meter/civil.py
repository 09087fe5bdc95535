"""Civil time without datetime: Unix epoch milliseconds to local dates and minutes.

The meter never reads a clock; it receives UTC milliseconds with every event and the
tariff's fixed UTC offset, and needs only the local minute of the day, the weekday and
the parsing of "YYYY-MM-DD HH:MM" stamps. Proleptic Gregorian calendar.
"""

MS_PER_MIN = 60000
MS_PER_DAY = 86400000


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m - 3 if m > 2 else m + 9
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of a day number since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    return y, m, d


def _days_in_month(y, m):
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _digits(s, start, count):
    part = s[start:start + count]
    if len(part) != count:
        return None
    for ch in part:
        if ch < "0" or ch > "9":
            return None
    return int(part)


def parse_hhmm(s):
    """Minutes after local midnight of "HH:MM" (00:00-24:00), or None if malformed."""
    if not isinstance(s, str) or len(s) != 5 or s[2] != ":":
        return None
    h = _digits(s, 0, 2)
    mi = _digits(s, 3, 2)
    if h is None or mi is None or mi > 59 or h > 24 or (h == 24 and mi != 0):
        return None
    return h * 60 + mi


def parse_local(s):
    """Minutes since 1970-01-01 00:00 local of "YYYY-MM-DD HH:MM", or None if malformed."""
    if not isinstance(s, str) or len(s) != 16 or s[4] != "-" or s[7] != "-" or s[10] != " ":
        return None
    y = _digits(s, 0, 4)
    m = _digits(s, 5, 2)
    d = _digits(s, 8, 2)
    hm = parse_hhmm(s[11:])
    if y is None or m is None or d is None or hm is None or hm == 1440:
        return None
    if y < 1970 or m < 1 or m > 12 or d < 1 or d > _days_in_month(y, m):
        return None
    return days_from_civil(y, m, d) * 1440 + hm


def format_local(t_ms, offset_min):
    """"YYYY-MM-DD HH:MM" local time of an epoch millisecond."""
    minutes = (t_ms // MS_PER_MIN) + offset_min
    y, m, d = civil_from_days(minutes // 1440)
    hm = minutes % 1440
    return "%04d-%02d-%02d %02d:%02d" % (y, m, d, hm // 60, hm % 60)


def iso_weekday(day_number):
    """1 = Monday ... 7 = Sunday for a day number since 1970-01-01 (a Thursday)."""
    return (day_number + 3) % 7 + 1
