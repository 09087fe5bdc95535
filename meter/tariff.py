"""Tariffs: the price rules a meter applies, validated whole before any is used.

A tariff arrives as plain data (a dict, as parsed from the TOML file described in
docs/tariff.md). ``parse_tariff`` checks every field and either returns a complete
``Tariff`` or raises ``TariffError`` naming the field and the rule; a tariff is never
half-applied. ``Tariff.canonical`` is its normalised plain form (defaults filled in);
its SHA-256 (``digest``) identifies it on receipts, reports and to inspectors.
``Schedule`` holds dated tariffs and answers which one is in force at an instant.
"""

from meter import canonical, civil
from meter.errors import TariffError

MODES = ("S", "D", "CN")
ROUNDINGS = ("down", "half_up", "up")
MAX_FEN = 10000000  # 100,000 yuan: far above any real price, below any overflow concern
MAX_M = 10000000
TOP_KEYS = (
    "id", "name", "effective_from", "utc_offset_min", "mode", "start_fare_fen", "start_distance_m",
    "per_km_fen", "step_fen", "rounding", "extras_max_fen", "waiting", "long_distance", "night",
    "peak", "fixed_extras",
)
WAITING_KEYS = ("below_kmh", "fen_per_unit", "unit_s", "free_s", "units")
WAITING_UNITS = ("pro_rata", "whole")
LONG_KEYS = ("from_m", "surcharge_pct")
NIGHT_KEYS = ("from", "to", "start_fare_fen", "surcharge_pct", "waiting_surcharge_pct")
PEAK_KEYS = ("windows", "days", "surcharge_pct", "waiting_surcharge_pct")
EXTRA_KEYS = ("label", "amount_fen")


def _check_keys(table, allowed, path):
    if not isinstance(table, dict):
        raise TariffError(path or "tariff", "must be a table")
    for key in table:
        if key not in allowed:
            raise TariffError((path + "." if path else "") + str(key), "unknown field")


def _int(table, key, path, lo, hi, default=None):
    field = (path + "." if path else "") + key
    if key not in table:
        if default is None:
            raise TariffError(field, "is required")
        return default
    v = table[key]
    if not isinstance(v, int) or isinstance(v, bool):
        raise TariffError(field, "must be an integer (got %r)" % (v,))
    if v < lo or v > hi:
        raise TariffError(field, "must be from %d to %d (got %d)" % (lo, hi, v))
    return v


def _text(table, key, path, max_len, default=None):
    field = (path + "." if path else "") + key
    if key not in table:
        if default is None:
            raise TariffError(field, "is required")
        return default
    v = table[key]
    if not isinstance(v, str) or not v.strip():
        raise TariffError(field, "must be a non-empty string")
    if len(v) > max_len:
        raise TariffError(field, "must be at most %d characters" % max_len)
    for ch in v:
        if ord(ch) < 0x20:
            raise TariffError(field, "must not contain control characters")
    return v


def _hhmm(table, key, path):
    field = path + "." + key
    if key not in table:
        raise TariffError(field, "is required")
    m = civil.parse_hhmm(table[key])
    if m is None:
        raise TariffError(field, 'must be a time "HH:MM" (got %r)' % (table[key],))
    return m


def _window(text, field):
    if not isinstance(text, str) or len(text) != 11 or text[5] != "-":
        raise TariffError(field, 'must be "HH:MM-HH:MM" (got %r)' % (text,))
    a = civil.parse_hhmm(text[:5])
    b = civil.parse_hhmm(text[6:])
    if a is None or b is None:
        raise TariffError(field, 'must be "HH:MM-HH:MM" (got %r)' % (text,))
    if b <= a:
        raise TariffError(field, "must end after it starts (peak windows do not cross midnight)")
    return a, b


class Tariff:
    """A validated tariff. Attributes are integers (fen, metres, ms, minutes, percent)."""

    def __init__(self, d):
        self.id = d["id"]
        self.name = d["name"]
        self.effective_from = d["effective_from"]
        self.effective_min = civil.parse_local(d["effective_from"])
        self.utc_offset_min = d["utc_offset_min"]
        self.effective_ms = (self.effective_min - self.utc_offset_min) * civil.MS_PER_MIN
        self.mode = d["mode"]
        self.start_fare_fen = d["start_fare_fen"]
        self.start_distance_m = d["start_distance_m"]
        self.per_km_fen = d["per_km_fen"]
        self.step_fen = d["step_fen"]
        self.rounding = d["rounding"]
        self.extras_max_fen = d["extras_max_fen"]
        w = d["waiting"]
        self.has_waiting = w is not None
        self.below_kmh = w["below_kmh"] if w else 0
        self.waiting_fen_per_unit = w["fen_per_unit"] if w else 0
        self.waiting_unit_s = w["unit_s"] if w else 60
        self.waiting_unit_ms = self.waiting_unit_s * 1000
        self.waiting_free_ms = w.get("free_s", 0) * 1000 if w else 0
        self.waiting_whole = bool(w) and w.get("units") == "whole"
        ld = d["long_distance"]
        self.long_from_m = ld["from_m"] if ld else None
        self.long_pct = ld["surcharge_pct"] if ld else 0
        n = d["night"]
        self.night = None
        self.night_start_fare_fen = self.start_fare_fen
        self.night_pct = 0
        self.night_waiting_pct = 0
        if n:
            self.night = (civil.parse_hhmm(n["from"]), civil.parse_hhmm(n["to"]))
            self.night_start_fare_fen = n["start_fare_fen"]
            self.night_pct = n["surcharge_pct"]
            self.night_waiting_pct = n["waiting_surcharge_pct"]
        p = d["peak"]
        self.peak_windows = []
        self.peak_days = ()
        self.peak_pct = 0
        self.peak_waiting_pct = 0
        if p:
            for text in p["windows"]:
                self.peak_windows.append((civil.parse_hhmm(text[:5]), civil.parse_hhmm(text[6:])))
            self.peak_days = tuple(p["days"])
            self.peak_pct = p["surcharge_pct"]
            self.peak_waiting_pct = p["waiting_surcharge_pct"]
        self.fixed_extras = [(e["label"], e["amount_fen"]) for e in d["fixed_extras"]]
        # Minutes of the local day at which a surcharge window opens or closes.
        edges = []
        if self.night:
            edges.append(self.night[0] % 1440)
            edges.append(self.night[1] % 1440)
        for a, b in self.peak_windows:
            edges.append(a)
            edges.append(b % 1440)
        if self.peak_windows and len(self.peak_days) < 7:
            edges.append(0)  # the weekday changes at midnight
        self.edges = sorted(set(edges))
        self.canonical = d
        self.digest = canonical.digest(d)

    def in_night(self, minute):
        if self.night is None:
            return False
        a, b = self.night
        if a <= b:
            return a <= minute < b
        return minute >= a or minute < b

    def in_peak(self, minute, weekday):
        if weekday not in self.peak_days:
            return False
        for a, b in self.peak_windows:
            if a <= minute < b:
                return True
        return False

    def summary(self):
        """The figures a receipt or the platform shows of this tariff."""
        return {
            "tariff_id": self.id,
            "tariff_digest": self.digest,
            "effective_from": self.effective_from,
            "start_fare_fen": self.start_fare_fen,
            "start_distance_m": self.start_distance_m,
            "per_km_fen": self.per_km_fen,
            "long_distance_from_m": self.long_from_m,
            "long_distance_pct": self.long_pct,
            "waiting_fen_per_unit": self.waiting_fen_per_unit,
            "waiting_unit_s": self.waiting_unit_s,
            "below_kmh": self.below_kmh,
        }


def parse_tariff(data):
    """Validate plain tariff data and return a ``Tariff``; raise ``TariffError`` otherwise."""
    _check_keys(data, TOP_KEYS, "")
    d = {}
    d["id"] = _text(data, "id", "", 32)
    d["name"] = _text(data, "name", "", 64, d["id"])
    if "effective_from" not in data:
        raise TariffError("effective_from", "is required")
    if civil.parse_local(data["effective_from"]) is None:
        raise TariffError("effective_from", 'must be a local time "YYYY-MM-DD HH:MM" (got %r)' % (data["effective_from"],))
    d["effective_from"] = data["effective_from"]
    d["utc_offset_min"] = _int(data, "utc_offset_min", "", -720, 840, 480)
    mode = data.get("mode", "CN")
    if mode not in MODES:
        raise TariffError("mode", "must be one of S, D, CN (got %r)" % (mode,))
    d["mode"] = mode
    d["start_fare_fen"] = _int(data, "start_fare_fen", "", 0, MAX_FEN)
    d["start_distance_m"] = _int(data, "start_distance_m", "", 0, 100000)
    d["per_km_fen"] = _int(data, "per_km_fen", "", 1, 100000)
    d["step_fen"] = _int(data, "step_fen", "", 1, 10000, 10)
    rounding = data.get("rounding", "down")
    if rounding not in ROUNDINGS:
        raise TariffError("rounding", "must be one of down, half_up, up (got %r)" % (rounding,))
    d["rounding"] = rounding
    d["extras_max_fen"] = _int(data, "extras_max_fen", "", 1, MAX_FEN, 100000)

    w = data.get("waiting")
    if w is None:
        if mode in ("S", "D"):
            raise TariffError("waiting", "is required in mode " + mode + " (the time tariff)")
        d["waiting"] = None
    else:
        _check_keys(w, WAITING_KEYS, "waiting")
        d["waiting"] = {
            "below_kmh": _int(w, "below_kmh", "waiting", 1, 60),
            "fen_per_unit": _int(w, "fen_per_unit", "waiting", 0, 100000),
            "unit_s": _int(w, "unit_s", "waiting", 1, 3600),
        }
        free_s = _int(w, "free_s", "waiting", 0, 3600, 0)
        if free_s:
            # in the canonical form only when set: tariffs written before it keep their digest
            d["waiting"]["free_s"] = free_s
        units = w.get("units", "pro_rata")
        if units not in WAITING_UNITS:
            raise TariffError("waiting.units", "must be one of pro_rata, whole (got %r)" % (units,))
        if units != "pro_rata":
            d["waiting"]["units"] = units

    ld = data.get("long_distance")
    if ld is None:
        d["long_distance"] = None
    else:
        _check_keys(ld, LONG_KEYS, "long_distance")
        from_m = _int(ld, "from_m", "long_distance", 0, MAX_M)
        if from_m < d["start_distance_m"]:
            raise TariffError("long_distance.from_m", "must not be below start_distance_m")
        d["long_distance"] = {"from_m": from_m, "surcharge_pct": _int(ld, "surcharge_pct", "long_distance", 0, 300)}

    n = data.get("night")
    if n is None:
        d["night"] = None
    else:
        _check_keys(n, NIGHT_KEYS, "night")
        a = _hhmm(n, "from", "night")
        b = _hhmm(n, "to", "night")
        if a == 1440:
            raise TariffError("night.from", '"24:00" is allowed only as an end (start at "00:00")')
        if a % 1440 == b % 1440:
            raise TariffError("night", "from and to must differ")
        d["night"] = {
            "from": n["from"],
            "to": n["to"],
            "start_fare_fen": _int(n, "start_fare_fen", "night", 0, MAX_FEN, d["start_fare_fen"]),
            "surcharge_pct": _int(n, "surcharge_pct", "night", 0, 300, 0),
            "waiting_surcharge_pct": _int(n, "waiting_surcharge_pct", "night", 0, 300, 0),
        }

    p = data.get("peak")
    if p is None:
        d["peak"] = None
    else:
        _check_keys(p, PEAK_KEYS, "peak")
        windows = p.get("windows")
        if not isinstance(windows, list) or not windows:
            raise TariffError("peak.windows", 'must be a non-empty list of "HH:MM-HH:MM"')
        spans = []
        for i, text in enumerate(windows):
            spans.append(_window(text, "peak.windows[%d]" % i))
        spans.sort()
        for i in range(1, len(spans)):
            if spans[i][0] < spans[i - 1][1]:
                raise TariffError("peak.windows", "windows must not overlap")
        days = p.get("days", [1, 2, 3, 4, 5, 6, 7])
        if not isinstance(days, list) or not days:
            raise TariffError("peak.days", "must be a non-empty list of weekdays 1 (Mon) to 7 (Sun)")
        for v in days:
            if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > 7:
                raise TariffError("peak.days", "must hold weekdays 1 (Mon) to 7 (Sun) (got %r)" % (v,))
        if len(set(days)) != len(days):
            raise TariffError("peak.days", "must not repeat a day")
        d["peak"] = {
            "windows": sorted(windows),
            "days": sorted(days),
            "surcharge_pct": _int(p, "surcharge_pct", "peak", 0, 300, 0),
            "waiting_surcharge_pct": _int(p, "waiting_surcharge_pct", "peak", 0, 300, 0),
        }

    extras = data.get("fixed_extras", [])
    if not isinstance(extras, list) or len(extras) > 8:
        raise TariffError("fixed_extras", "must be a list of at most 8 tables")
    d["fixed_extras"] = []
    for i, e in enumerate(extras):
        path = "fixed_extras[%d]" % i
        _check_keys(e, EXTRA_KEYS, path)
        label = _text(e, "label", path, 16)
        amount = _int(e, "amount_fen", path, 1, MAX_FEN)
        if amount > d["extras_max_fen"]:
            raise TariffError(path + ".amount_fen", "must be at most extras_max_fen = %d (got %d)"
                              % (d["extras_max_fen"], amount))
        d["fixed_extras"].append({"label": label, "amount_fen": amount})
    return Tariff(d)


class Schedule:
    """Dated tariffs. The tariff in force at an instant is the latest one already effective."""

    def __init__(self, tariffs):
        if not tariffs:
            raise TariffError("tariff", "at least one tariff is required")
        ordered = sorted(tariffs, key=lambda t: t.effective_ms)
        seen = {}
        for i, t in enumerate(ordered):
            if t.id in seen:
                raise TariffError("tariff[%d].id" % i, "repeats tariff id " + t.id)
            seen[t.id] = True
            if i and t.effective_ms == ordered[i - 1].effective_ms:
                raise TariffError("tariff[%d].effective_from" % i, "two tariffs take effect at the same time")
        self.tariffs = ordered

    def active(self, t_ms):
        """The tariff in force at ``t_ms``, or None before the first takes effect."""
        found = None
        for t in self.tariffs:
            if t.effective_ms <= t_ms:
                found = t
            else:
                break
        return found

    def digest(self):
        return canonical.digest([t.canonical for t in self.tariffs])


def parse_schedule(data):
    """A tariff file's plain data: {"tariff": [table, ...]} -> ``Schedule``."""
    if isinstance(data, dict) and "tariff" in data and len(data) == 1:
        tables = data["tariff"]
        if isinstance(tables, dict):
            raise TariffError("tariff", "must be [[tariff]] tables (an array), not a single [tariff] table")
    else:
        raise TariffError("tariff", "the file must hold [[tariff]] tables and nothing else")
    if not isinstance(tables, list) or not tables:
        raise TariffError("tariff", "must hold at least one [[tariff]] table")
    parsed = []
    for i, table in enumerate(tables):
        try:
            parsed.append(parse_tariff(table))
        except TariffError as exc:
            raise TariffError("tariff[%d].%s" % (i, exc.field), exc.rule)
    return Schedule(parsed)
