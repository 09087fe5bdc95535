"""Tariffs: validation names the field and the rule; digests identify; dated tariffs switch."""

from meter.errors import MeterError, TariffError
from meter.tariff import Schedule, parse_schedule, parse_tariff
from meter.taximeter import Taximeter
from tests.meter.drive import Drive
from tests.meter.support import FRI_10H, raises, tariff_data


def error(**changes):
    return raises(TariffError, parse_tariff, tariff_data(**changes))


def test_validation_names_the_field_and_the_rule():
    cases = [
        ({"id": None}, "id", "required"),
        ({"start_fare_fen": -1}, "start_fare_fen", "from 0"),
        ({"per_km_fen": 2.3}, "per_km_fen", "integer"),
        ({"per_km_fen": True}, "per_km_fen", "integer"),
        ({"mode": "X"}, "mode", "one of"),
        ({"rounding": "bankers"}, "rounding", "one of"),
        ({"effective_from": "2026-02-30 00:00"}, "effective_from", "YYYY-MM-DD"),
        ({"waiting": {"below_kmh": 0, "fen_per_unit": 50, "unit_s": 60}}, "waiting.below_kmh", "from 1"),
        ({"waiting": {"below_kmh": 12, "fen_per_unit": 50}}, "waiting.unit_s", "required"),
        ({"waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60, "x": 1}}, "waiting.x", "unknown"),
        ({"mode": "S", "waiting": None}, "waiting", "required in mode S"),
        ({"waiting": {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60, "free_s": 3601}}, "waiting.free_s",
         "from 0 to 3600"),
        ({"long_distance": {"from_m": 1000, "surcharge_pct": 50}}, "long_distance.from_m", "start_distance_m"),
        ({"night": {"from": "23:00", "to": "25:00"}}, "night.to", "HH:MM"),
        ({"night": {"from": "23:00", "to": "23:00"}}, "night", "differ"),
        ({"peak": {"windows": ["07:00-09:00", "08:00-10:00"]}}, "peak.windows", "overlap"),
        ({"peak": {"windows": ["09:00-07:00"]}}, "peak.windows[0]", "end after"),
        ({"peak": {"windows": ["07:00-09:00"], "days": [0]}}, "peak.days", "weekdays"),
        ({"fixed_extras": [{"label": "燃油", "amount_fen": 0}]}, "fixed_extras[0].amount_fen", "from 1"),
        ({"colour": "red"}, "colour", "unknown field"),
    ]
    for changes, field, rule in cases:
        exc = error(**changes)
        assert exc.field == field, (changes, exc.field)
        assert rule in exc.rule, (changes, exc.rule)


def test_digest_identifies_the_tariff_and_follows_every_field():
    a = parse_tariff(tariff_data())
    assert a.digest == parse_tariff(tariff_data()).digest
    assert len(a.digest) == 64
    for changes in ({"per_km_fen": 231}, {"id": "T2"}, {"step_fen": 50}, {"mode": "D"}):
        assert parse_tariff(tariff_data(**changes)).digest != a.digest
    # defaults are part of the canonical form: spelling them out changes nothing
    assert parse_tariff(tariff_data(rounding="down", utc_offset_min=480)).digest == a.digest


def test_dated_tariffs_switch_automatically_but_not_mid_trip():
    old = parse_tariff(tariff_data(id="OLD", effective_from="2026-01-01 00:00"))
    new = parse_tariff(tariff_data(id="NEW", effective_from="2026-11-20 10:30", start_fare_fen=1500))
    m = Taximeter(Schedule([new, old]))
    d = Drive(m)
    d.m.apply({"t_ms": d.t, "pulses": 0})
    d.key("hire").run(3600, 30).key("settle").key("clear")   # 10:00-11:00 spans the switch
    assert d.closed[0]["tariff_id"] == "OLD"
    d.key("hire")
    assert d.m.view()["tariff_id"] == "NEW"
    assert d.m.view()["fare_fen"] == 1500


def test_no_tariff_in_force_refuses_hiring():
    future = parse_tariff(tariff_data(effective_from="2030-01-01 00:00"))
    m = Taximeter(Schedule([future]))
    m.apply({"t_ms": FRI_10H, "pulses": 0})
    exc = raises(MeterError, m.apply, {"t_ms": FRI_10H + 1, "key": "hire"})
    assert "no tariff" in str(exc)


def test_schedule_file_shape_and_duplicates():
    raises(TariffError, parse_schedule, {"tariff": []})
    raises(TariffError, parse_schedule, {"tariffs": [tariff_data()]})
    exc = raises(TariffError, parse_schedule, {"tariff": [tariff_data(), tariff_data(per_km_fen=-1)]})
    assert exc.field == "tariff[1].per_km_fen"
    exc = raises(TariffError, parse_schedule, {"tariff": [tariff_data(), tariff_data(effective_from="2026-02-01 00:00")]})
    assert "repeats" in exc.rule
    exc = raises(TariffError, parse_schedule, {"tariff": tariff_data()})   # [tariff], not [[tariff]]
    assert exc.field == "tariff" and "[[tariff]]" in exc.rule
    assert len(parse_schedule({"tariff": [tariff_data()]}).tariffs) == 1


def test_24_00_is_only_an_end():
    exc = error(night={"from": "24:00", "to": "06:00"})
    assert exc.field == "night.from" and "24:00" in exc.rule
    assert parse_tariff(tariff_data(night={"from": "22:00", "to": "24:00"})).night == (1320, 1440)
    assert parse_tariff(tariff_data(peak={"windows": ["17:00-24:00"]})).peak_windows == [(1020, 1440)]
    exc = error(peak={"windows": ["24:00-24:00"]})
    assert exc.field == "peak.windows[0]"


def test_a_fixed_extra_above_the_largest_extra_names_that_limit():
    exc = error(extras_max_fen=1, fixed_extras=[{"label": "燃油", "amount_fen": 100}])
    assert exc.field == "fixed_extras[0].amount_fen"
    assert "extras_max_fen" in exc.rule and "(got 100)" in exc.rule


def test_percentages_are_from_0_to_300():
    for table, field in (("night", "surcharge_pct"), ("night", "waiting_surcharge_pct"),
                         ("peak", "surcharge_pct"), ("peak", "waiting_surcharge_pct"),
                         ("long_distance", "surcharge_pct")):
        base = {"night": {"from": "23:00", "to": "05:00"}, "peak": {"windows": ["07:00-09:00"]},
                "long_distance": {"from_m": 5000, "surcharge_pct": 50}}[table]
        ok = dict(base)
        ok[field] = 300
        parse_tariff(tariff_data(**{table: ok}))
        bad = dict(base)
        bad[field] = 301
        exc = error(**{table: bad})
        assert exc.field == table + "." + field and "from 0 to 300" in exc.rule


def test_free_waiting_unset_or_zero_keeps_the_digest():
    plain = parse_tariff(tariff_data())
    zero = parse_tariff(tariff_data(waiting={"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60, "free_s": 0}))
    three = parse_tariff(tariff_data(waiting={"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60, "free_s": 180}))
    assert zero.digest == plain.digest
    assert three.digest != plain.digest and three.canonical["waiting"]["free_s"] == 180


def test_waiting_units_pro_rata_unset_keeps_the_digest_and_others_are_refused():
    w = {"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60}
    plain = parse_tariff(tariff_data())
    assert parse_tariff(tariff_data(waiting=dict(w, units="pro_rata"))).digest == plain.digest
    assert parse_tariff(tariff_data(waiting=dict(w, units="whole"))).digest != plain.digest
    exc = error(waiting=dict(w, units="half"))
    assert exc.field == "waiting.units" and "one of" in exc.rule
