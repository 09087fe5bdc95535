"""The meter's fares against an inspector's own reference, built from the documents alone.

The reference below imports nothing from meter/: it reads the raw tariff table, keeps
money as exact fractions of a fen, finds local time and weekday with ``datetime``, and
prices what the documents say (docs/tariff.md "How the fare is computed"; JJG 517-2016
6.8.2 时距冲抵; MID MI-007 modes S and D). For tariffs without time windows a closed form,
computed from the drive's totals alone, checks the same fares a second way.

Drives are generated with hypothesis: speeds exactly at, just below and just above the
low-speed threshold (K = 3600 pulses/km makes 1 pulse a second exactly 1 km/h), long
stops, pauses, trips across night and peak edges, across midnight, zero-distance trips and
trips of hundreds of kilometres.
"""

import datetime
from fractions import Fraction as F

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter

K = 3600                       # pulses per km: one pulse a second is 1 km/h
WEEK = 1795104000000           # 2026-11-20 00:00 China time (a Friday)
MIN = 60000


# -- the reference ---------------------------------------------------------------------------
def _minutes(text):
    return int(text[:2]) * 60 + int(text[3:])


def _in(minute, a, b):
    """Is the local minute inside [a, b) of a window that may cross midnight?"""
    b = b % 1440 if b != a else b
    return a <= minute < b if a < b else (minute >= a or minute < b)


def round_to_step(amount, step, how):
    """A non-negative fraction of fen to a whole number of steps."""
    q = amount / step
    if how == "down":
        n = q.numerator // q.denominator
    elif how == "up":
        n = -((-q.numerator) // q.denominator)
    else:
        n = (q + F(1, 2)).numerator // (q + F(1, 2)).denominator
    return n * step


class Standard:
    """One trip priced by the documented rules, in exact fractions of a fen."""

    def __init__(self, tariff, board_ms):
        self.t = tariff
        self.tz = datetime.timezone(datetime.timedelta(minutes=tariff.get("utc_offset_min", 480)))
        self.mode = tariff.get("mode", "CN")
        w = tariff.get("waiting") or {}
        self.below = w.get("below_kmh", 0)
        self.per_ms = F(w.get("fen_per_unit", 0), w.get("unit_s", 60) * 1000)   # fen per ms of waiting
        self.per_m = F(tariff["per_km_fen"], 1000)                             # fen per metre
        self.free_ms = w.get("free_s", 0) * 1000                               # free waiting left
        self.unit_ms = w.get("unit_s", 60) * 1000
        self.whole = w.get("units") == "whole"
        self.paid_ms = 0                                                       # waiting after the free time
        self.cover = tariff["start_distance_m"] * self.per_m                   # what the start fare covers
        ld = tariff.get("long_distance")
        self.long_from = ld["from_m"] if ld else None
        self.long_pct = ld["surcharge_pct"] if ld else 0
        self.start = tariff["start_fare_fen"]
        night = tariff.get("night")
        if night and self._night(board_ms):
            self.start = night.get("start_fare_fen", self.start)
        self.metres = 0
        self.money = F(0)
        self.waiting_ms = 0

    def _local(self, t_ms):
        return datetime.datetime.fromtimestamp(t_ms / 1000, self.tz)

    def _night(self, t_ms):
        n = self.t.get("night")
        if not n:
            return False
        lt = self._local(t_ms)
        return _in(lt.hour * 60 + lt.minute, _minutes(n["from"]), _minutes(n["to"]))

    def _peak(self, t_ms):
        p = self.t.get("peak")
        if not p:
            return False
        lt = self._local(t_ms)
        if lt.isoweekday() not in p.get("days", [1, 2, 3, 4, 5, 6, 7]):
            return False
        m = lt.hour * 60 + lt.minute
        return any(_minutes(w[:5]) <= m < _minutes(w[6:]) for w in p["windows"])

    def _flags(self, t_ms):
        return self._night(t_ms), self._peak(t_ms)

    def _pct(self, t_ms, key):
        n, p = self.t.get("night") or {}, self.t.get("peak") or {}
        return (100 + (n.get(key, 0) if self._night(t_ms) else 0) + (p.get(key, 0) if self._peak(t_ms) else 0))

    def _use_cover(self, amount):
        used = min(amount, self.cover)
        self.cover -= used
        return amount - used

    def interval(self, t0, t1, dm, low):
        """The hired interval [t0, t1] with dm metres; low: slower than the threshold."""
        # cut only where the night or peak flags change (docs/tariff.md rule 2): the start
        # fare's cover is used in order within a piece, so a needless cut could move a fen
        cuts = [t0]
        flags = self._flags(t0)
        for edge in range((t0 // MIN + 1) * MIN, t1, MIN):
            if self._flags(edge) != flags:
                cuts.append(edge)
                flags = self._flags(edge)
        cuts.append(t1)
        before = 0
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            upto = dm if b == t1 else dm * (b - t0) // (t1 - t0)
            self._piece(a, b - a, upto - before, low)
            before = upto

    def _piece(self, a, ms, m, low):
        d0 = self.metres
        self.metres += m
        if m and not (self.mode == "S" and low):
            charged = self._use_cover(m * self.per_m)
            charged_m = charged / self.per_m             # the last metres of the piece
            beyond = 0 if self.long_from is None else max(0, self.metres - max(d0, self.long_from))
            self.money += charged * self._pct(a, "surcharge_pct") / 100
            self.money += min(charged_m, beyond) * self.per_m * self.long_pct / 100
        if ms and (self.mode == "D" or low):
            self.waiting_ms += ms
            free = min(ms, self.free_ms)
            self.free_ms -= free
            paid = ms - free
            if self.whole:      # charged a unit at a time, as the trip's paid waiting completes it
                units_done = (self.paid_ms + paid) // self.unit_ms - self.paid_ms // self.unit_ms
                self.paid_ms += paid
                paid = units_done * self.unit_ms
            else:
                self.paid_ms += paid
            cost = paid * self.per_ms
            if self.mode != "D":
                cost = self._use_cover(cost)
            self.money += cost * self._pct(a, "waiting_surcharge_pct") / 100

    def fare(self):
        return self.start + round_to_step(self.money, self.t.get("step_fen", 10), self.t.get("rounding", "down"))


def closed_form(tariff, distance_m, fast_m, low_ms, all_ms):
    """The fare of a trip without time windows from its totals alone (docs/tariff.md)."""
    mode = tariff.get("mode", "CN")
    w = tariff.get("waiting") or {}
    per_ms = F(w.get("fen_per_unit", 0), w.get("unit_s", 60) * 1000)
    p = F(tariff["per_km_fen"], 1000)
    s = tariff["start_distance_m"]
    ld = tariff.get("long_distance")
    long_fen = p * max(0, distance_m - ld["from_m"]) * ld["surcharge_pct"] / 100 if ld else 0
    free = w.get("free_s", 0) * 1000
    low_ms, all_ms = max(0, low_ms - free), max(0, all_ms - free)
    if w.get("units") == "whole":
        unit = w["unit_s"] * 1000
        low_ms, all_ms = low_ms // unit * unit, all_ms // unit * unit
    if mode == "CN":
        metered = max(F(0), p * (distance_m - s) + low_ms * per_ms) + long_fen
    elif mode == "D":
        metered = p * max(0, distance_m - s) + all_ms * per_ms + long_fen
    else:   # S: only fast metres and slow time are charged; both use the cover
        assert not ld
        metered = max(F(0), p * (fast_m - s) + low_ms * per_ms)
    return tariff["start_fare_fen"] + round_to_step(metered, tariff.get("step_fen", 10),
                                                    tariff.get("rounding", "down"))


# -- drives ------------------------------------------------------------------------------------
def hhmm(minute):
    return "%02d:%02d" % (minute // 60, minute % 60)


@st.composite
def tariffs(draw, windows=True, long_in_s=True):
    mode = draw(st.sampled_from(["CN", "CN", "S", "D"]))
    d = {"id": "REF", "effective_from": "2026-01-01 00:00", "mode": mode,
         "start_fare_fen": draw(st.integers(0, 2000)), "start_distance_m": draw(st.sampled_from([0, 1, 2000, 3000, 4999])),
         "per_km_fen": draw(st.integers(1, 600)), "step_fen": draw(st.sampled_from([1, 10, 40, 50, 100])),
         "rounding": draw(st.sampled_from(["down", "half_up", "up"]))}
    if mode != "CN" or draw(st.booleans()):
        d["waiting"] = {"below_kmh": draw(st.integers(1, 30)), "fen_per_unit": draw(st.integers(0, 300)),
                        "unit_s": draw(st.sampled_from([1, 30, 60, 300, 3600]))}
        if draw(st.booleans()):
            d["waiting"]["free_s"] = draw(st.sampled_from([1, 180, 300, 3600]))
        if draw(st.booleans()):
            d["waiting"]["units"] = "whole"
    if draw(st.booleans()) and (long_in_s or mode != "S"):
        d["long_distance"] = {"from_m": d["start_distance_m"] + draw(st.integers(0, 20000)),
                              "surcharge_pct": draw(st.integers(0, 300))}
    if windows and draw(st.booleans()):
        a = draw(st.integers(0, 1439))
        b = draw(st.integers(0, 1440).filter(lambda x: x % 1440 != a))
        d["night"] = {"from": hhmm(a), "to": hhmm(b), "start_fare_fen": draw(st.integers(0, 3000)),
                      "surcharge_pct": draw(st.integers(0, 100)), "waiting_surcharge_pct": draw(st.integers(0, 100))}
    if windows and draw(st.booleans()):
        a = draw(st.integers(0, 1380))
        d["peak"] = {"windows": [hhmm(a) + "-" + hhmm(a + draw(st.integers(1, 1440 - a)))],
                     "days": draw(st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True)),
                     "surcharge_pct": draw(st.integers(0, 100)), "waiting_surcharge_pct": draw(st.integers(0, 100))}
    return d


def speeds(below):
    edge = [below - 1, below, below + 1] if below else [0, 1]
    return st.one_of(st.sampled_from([0] + [v for v in edge if v >= 0]), st.integers(0, 130))


@st.composite
def drives(draw, tariff):
    below = (tariff.get("waiting") or {}).get("below_kmh", 0)
    segment = st.tuples(
        st.one_of(st.integers(1, 600), st.integers(600, 4 * 3600)),   # seconds
        speeds(below),
        st.sampled_from([1, 1, 7, 60]),                                 # seconds between readings
        st.sampled_from(["", "", "", "", "pause"]),
    )
    return draw(st.lists(segment, min_size=0, max_size=10))


def board_times():
    week_minute = st.integers(0, 7 * 1440 - 1)
    return st.tuples(week_minute, st.integers(0, 59999)).map(lambda x: WEEK + x[0] * MIN + x[1])


def run(tariff, board, segments):
    """Drive the meter and the reference side by side; return (meter trip, reference, totals)."""
    m = Taximeter(Schedule([parse_tariff(tariff)]), {"k": K})
    t = board - 1000
    m.apply({"t_ms": t, "pulses": 0})
    t = board
    m.apply({"t_ms": t, "key": "hire"})
    ref = Standard(tariff, board)
    below = (tariff.get("waiting") or {}).get("below_kmh", 0)
    pulses = 0
    paused = False
    totals = {"distance_m": 0, "fast_m": 0, "low_ms": 0, "all_ms": 0}
    for seconds, kmh, every, action in segments:
        if action == "pause":
            m.apply({"t_ms": t, "key": "resume" if paused else "pause"})
            paused = not paused
        every = max(every, -(-seconds // 60))       # at most 60 readings a segment
        left = seconds
        while left > 0:
            dt = min(every, left)
            left -= dt
            metres_before = pulses * 1000 // K
            pulses += kmh * dt                      # K = 3600: kmh pulses a second
            dm = pulses * 1000 // K - metres_before
            m.apply({"t_ms": t + dt * 1000, "pulses": pulses})
            if not paused:
                low = kmh < below
                ref.interval(t, t + dt * 1000, dm, low)
                totals["distance_m"] += dm
                totals["fast_m"] += 0 if low else dm
                totals["low_ms"] += dt * 1000 if low else 0
                totals["all_ms"] += dt * 1000
            t += dt * 1000
        assert m.view()["fare_fen"] == ref.fare(), (tariff, board, t)
    m.apply({"t_ms": t, "key": "settle"})
    trip = m.apply({"t_ms": t + 1000, "key": "clear"})[0]
    return trip, ref, totals


LIGHT = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=250, **LIGHT)
@given(st.data())
def test_meter_fares_equal_the_inspectors_reference(data):
    tariff = data.draw(tariffs())
    board = data.draw(board_times())
    segments = data.draw(drives(tariff))
    trip, ref, _ = run(tariff, board, segments)
    below = (tariff.get("waiting") or {}).get("below_kmh")
    event("mode %s" % tariff["mode"])
    event("start fare's cover used up" if ref.cover == 0 else "within the start fare's cover")
    event("waiting beyond the cover" if trip["fare"]["waiting_fen"] else "no waiting charged")
    event("a speed exactly at the threshold" if any(s[1] == below for s in segments) else "no speed at the threshold")
    event("night or peak charged" if trip["fare"]["night_fen"] or trip["fare"]["peak_fen"] else "no night/peak charge")
    assert trip["fare_fen"] == ref.fare()
    assert trip["waiting_ms"] == ref.waiting_ms
    assert trip["distance_m"] == ref.metres
    assert sum(trip["fare"].values()) == trip["fare_fen"]


@settings(max_examples=250, **LIGHT)
@given(st.data())
def test_fares_without_time_windows_follow_the_closed_form(data):
    tariff = data.draw(tariffs(windows=False, long_in_s=False))
    trip, _, totals = run(tariff, data.draw(board_times()), data.draw(drives(tariff)))
    assert trip["fare_fen"] == closed_form(tariff, **totals)


@settings(max_examples=100, **LIGHT)
@given(st.data())
def test_trips_across_a_window_edge_and_midnight(data):
    # boarded within a few minutes of a night or peak edge, or of midnight, and driven across it
    tariff = data.draw(tariffs())
    edges = [0]
    for part in (tariff.get("night"), tariff.get("peak")):
        if part and "from" in part:
            edges += [_minutes(part["from"]), _minutes(part["to"])]
        elif part:
            edges += [_minutes(w[:5]) for w in part["windows"]] + [_minutes(w[6:]) for w in part["windows"]]
    edge = data.draw(st.sampled_from(edges)) % 1440
    day = data.draw(st.integers(1, 6))
    board = WEEK + day * 1440 * MIN + (edge - 480) * MIN - data.draw(st.integers(0, 5 * MIN))
    assume(board > WEEK)
    trip, ref, _ = run(tariff, board, data.draw(drives(tariff)))
    assert trip["fare_fen"] == ref.fare()


@settings(max_examples=60, **LIGHT)
@given(tariffs(windows=False), st.integers(0, 3 * 3600))
def test_zero_distance_trips(tariff, seconds):
    # standing the whole trip: only time, and in CN and S only beyond what the start fare covers
    trip, _, totals = run(tariff, WEEK + 10 * 3600000, [(seconds, 0, 60, "")] if seconds else [])
    assert trip["distance_m"] == 0
    assert trip["fare_fen"] == closed_form(dict(tariff, long_distance=None) if "long_distance" in tariff
                                           else tariff, **totals)


def test_waiting_exactly_at_the_threshold_is_not_waiting():
    tariff = {"id": "E", "effective_from": "2026-01-01 00:00", "start_fare_fen": 1300, "start_distance_m": 0,
              "per_km_fen": 230, "step_fen": 1, "waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60}}
    at, _, _ = run(tariff, WEEK, [(600, 12, 1, "")])
    under, _, _ = run(tariff, WEEK, [(600, 11, 1, "")])
    assert at["waiting_ms"] == 0 and at["fare_fen"] == 1300 + 460             # 2 km at 2.30
    assert under["waiting_ms"] == 600000
    assert under["fare_fen"] == 1300 + 421 + 500                               # 1833 m and 10 minutes


def test_a_long_trip_of_300_km():
    tariff = {"id": "L", "effective_from": "2026-01-01 00:00", "start_fare_fen": 1300, "start_distance_m": 3000,
              "per_km_fen": 230, "step_fen": 10, "long_distance": {"from_m": 15000, "surcharge_pct": 50},
              "waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60}}
    trip, ref, totals = run(tariff, WEEK + 9 * 3600000, [(3 * 3600, 100, 60, "")])
    assert trip["distance_m"] == 300000
    # 297 km at 2.30 and 285 km at 1.15 more: 1010.85 yuan, down to the 0.10 step
    assert trip["fare_fen"] == 1300 + 101080 == closed_form(tariff, **totals) == ref.fare()


def test_a_dated_tariff_switch_keeps_the_running_trip_and_applies_to_the_next():
    old = {"id": "A", "effective_from": "2026-11-20 10:00", "start_fare_fen": 1300, "start_distance_m": 0,
           "per_km_fen": 230, "step_fen": 1}
    new = dict(old, id="B", effective_from="2026-11-20 10:30", per_km_fen=260)
    m = Taximeter(Schedule([parse_tariff(old), parse_tariff(new)]), {"k": K})
    t = WEEK + 10 * 3600000 + 20 * MIN                    # 10:20 local
    m.apply({"t_ms": t, "pulses": 0})
    m.apply({"t_ms": t, "key": "hire"})
    m.apply({"t_ms": t + 20 * MIN, "pulses": 20 * 60 * 60})  # 20 min at 60 km/h: across 10:30
    m.apply({"t_ms": t + 20 * MIN, "key": "settle"})
    first = m.apply({"t_ms": t + 20 * MIN, "key": "clear"})[0]
    assert (first["tariff_id"], first["fare_fen"]) == ("A", 1300 + 20 * 230)
    m.apply({"t_ms": t + 21 * MIN, "key": "hire"})
    m.apply({"t_ms": t + 22 * MIN, "pulses": 20 * 60 * 60 + 3600})
    m.apply({"t_ms": t + 22 * MIN, "key": "settle"})
    second = m.apply({"t_ms": t + 22 * MIN, "key": "clear"})[0]
    assert (second["tariff_id"], second["fare_fen"]) == ("B", 1300 + 260)


def test_half_a_step_rounds_up_under_half_up():
    tariff = {"id": "H", "effective_from": "2026-01-01 00:00", "start_fare_fen": 1300, "start_distance_m": 0,
              "per_km_fen": 100, "step_fen": 100, "rounding": "half_up"}
    fares = []
    for pulses in (1797, 1800):            # 499 m (49.9 fen) and 500 m (exactly half a yuan)
        m = Taximeter(Schedule([parse_tariff(tariff)]), {"k": K})
        m.apply({"t_ms": WEEK, "pulses": 0})
        m.apply({"t_ms": WEEK, "key": "hire"})
        m.apply({"t_ms": WEEK + 100000, "pulses": pulses})
        fares.append(m.view()["fare_fen"])
    assert fares == [1300, 1400]


def test_single_tariff_long_distance_only_on_what_is_charged():
    # Mode S: 3 km crawled at 10 km/h are charged by time (18 minutes, 1.80 yuan of the 4.00 the
    # start fare covers) and are beyond the 2 km long-distance point, yet uncharged. The next
    # fast metres use the rest of the cover first; the 50 % applies to what is charged.
    tariff = {"id": "S1", "effective_from": "2026-01-01 00:00", "mode": "S", "start_fare_fen": 900,
              "start_distance_m": 2000, "per_km_fen": 200, "step_fen": 1,
              "waiting": {"below_kmh": 12, "fen_per_unit": 10, "unit_s": 60},
              "long_distance": {"from_m": 2000, "surcharge_pct": 50}}
    trip, ref, _ = run(tariff, WEEK, [(1080, 10, 60, ""), (90, 40, 1, ""), (90, 40, 1, "")])
    # 2000 m fast: 4.00 yuan, 2.20 of it covered; 1.80 charged for the last 900 m, +50 %
    assert trip["fare_fen"] == ref.fare() == 900 + 180 + 90



@settings(max_examples=150, **LIGHT)
@given(st.integers(50, 600), st.integers(1, 40), st.sampled_from([1, 10, 50]),
       st.lists(st.tuples(st.integers(1, 120), st.integers(0, 100)), min_size=1, max_size=12))
def test_single_tariff_charges_the_greater_of_time_and_distance(per_km, crossover, step, segments):
    # MID MI-007 mode S: time below the cross-over speed (time rate / distance rate),
    # distance above it; so every interval costs the greater of its time and its distance.
    # K = 1000 (a pulse a metre) makes the meter's speed class and the metres agree exactly.
    tariff = {"id": "S", "effective_from": "2026-01-01 00:00", "mode": "S", "start_fare_fen": 500,
              "start_distance_m": 0, "per_km_fen": per_km, "step_fen": step,
              "waiting": {"below_kmh": crossover, "fen_per_unit": crossover * per_km, "unit_s": 3600}}
    m = Taximeter(Schedule([parse_tariff(tariff)]), {"k": 1000})
    t, num, pulses, owed = WEEK, 0, 0, F(0)
    m.apply({"t_ms": t, "pulses": 0})
    m.apply({"t_ms": t, "key": "hire"})
    for seconds, kmh in segments:
        t += seconds * 1000
        num += kmh * 1000 * seconds                  # pulses * 3600, exact
        dm = num // 3600 - pulses
        pulses += dm
        m.apply({"t_ms": t, "pulses": pulses})
        time_fen = F(crossover * per_km * seconds, 3600)
        distance_fen = F(dm * per_km, 1000)
        owed += max(time_fen, distance_fen)
        assert m.view()["fare_fen"] == 500 + round_to_step(owed, step, "down")
