"""Uplink payloads: JT/T 808 conversions at their edges, and every builder's output against its schema."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.app.daily import DayBook
from terminal.link import payloads as p
from terminal.link import schemas

BEIJING = timezone(timedelta(hours=8))
T0 = 1795000000000


def valid(name, payload):
    problems = schemas.errors(name, payload)
    assert problems == [], problems
    return payload


# --- conversions -----------------------------------------------------------------------

@pytest.mark.parametrize("deg, expected", [
    (0.0, (0, False)), (90.0, (90_000_000, False)), (-90.0, (90_000_000, True)),
    (39.9042, (39_904_200, False)), (-33.8688, (33_868_800, True)),
    (-0.0000004, (0, False)),          # rounds to the equator: no "south" flag on zero
    (-0.0000005, (1, True)), (0.0000005, (1, False)), (0.00000049, (0, False)),
])
def test_latitude_in_micro_degrees_with_south_flag(deg, expected):
    assert p.latitude_1e6(deg) == expected


@pytest.mark.parametrize("deg, expected", [
    (180.0, (180_000_000, False)), (-180.0, (180_000_000, False)),   # one meridian, never "west 180"
    (-179.9999995, (180_000_000, False)), (-179.999999, (179_999_999, True)),
    (116.397128, (116_397_128, False)), (-0.1278, (127_800, True)), (-0.0, (0, False)),
])
def test_longitude_in_micro_degrees_with_west_flag(deg, expected):
    assert p.longitude_1e6(deg) == expected


@pytest.mark.parametrize("bad", [90.000001, -90.0000006, float("nan"), float("inf"), True, "39.9", None])
def test_impossible_latitudes_are_refused(bad):
    with pytest.raises(p.PayloadError):
        p.latitude_1e6(bad)


@given(st.integers(-90_000_000, 90_000_000))
def test_micro_degrees_survive_the_trip_through_float(micro):
    assert p.latitude_1e6(micro / 1_000_000) == (abs(micro), micro < 0)


@pytest.mark.parametrize("mps, units", [
    (0, 0), (0.0, 0), (1, 36), (1.0, 36), (0.0138, 0), (0.0139, 1), (33.3333, 1200),
    (1820.41, 65535), (1820.43, 65535), (27.7778, 1000),
])
def test_speed_in_tenths_of_kmh(mps, units):
    assert p.speed_01kmh(mps) == units


@pytest.mark.parametrize("bad", [-0.01, 1820.431, float("nan")])
def test_speed_out_of_range_is_refused(bad):
    with pytest.raises(p.PayloadError):
        p.speed_01kmh(bad)


@pytest.mark.parametrize("course, deg", [(0, 0), (359.4, 359), (359.5, 0), (360, 0), (0.5, 1), (180.49, 180)])
def test_direction_wraps_at_north(course, deg):
    assert p.direction_deg(course) == deg


@pytest.mark.parametrize("bad", [-0.1, 360.01])
def test_direction_out_of_range_is_refused(bad):
    with pytest.raises(p.PayloadError):
        p.direction_deg(bad)


def test_bcd_time_turns_over_at_beijing_midnight_not_utc_midnight():
    midnight = int(datetime(2026, 1, 1, tzinfo=BEIJING).timestamp() * 1000)
    assert p.bcd_time(midnight) == "260101000000"
    assert p.bcd_time(midnight - 1) == "251231235959"
    assert p.bcd_time(midnight + 999) == "260101000000"
    utc_midnight = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert p.bcd_time(utc_midnight) == "260101080000"


def test_bcd_time_covers_leap_days_and_the_ends_of_its_century():
    assert p.bcd_time(int(datetime(2028, 2, 29, 23, 59, 59, tzinfo=BEIJING).timestamp() * 1000)) == "280229235959"
    assert p.bcd_time(p.BCD_TIME_MIN_MS) == "000101000000"
    assert p.bcd_time(p.BCD_TIME_MAX_MS) == "991231235959"
    for bad in (p.BCD_TIME_MIN_MS - 1, p.BCD_TIME_MAX_MS + 1, 1.5e12, True):
        with pytest.raises(p.PayloadError):
            p.bcd_time(bad)


@given(st.integers(p.BCD_TIME_MIN_MS, p.BCD_TIME_MAX_MS))
def test_bcd_time_agrees_with_the_calendar(ms):
    expected = datetime.fromtimestamp(ms // 1000, tz=BEIJING).strftime("%y%m%d%H%M%S")
    assert p.bcd_time(ms) == expected


def test_alarm_and_status_bits_are_the_jtt_positions():
    assert p.alarm_bits(["emergency"]) == 1
    assert p.alarm_bits(["pre_alarm"]) == 2
    assert p.alarm_bits(["meter_fault", "sign_fault"]) == (1 << 10) | (1 << 15)
    assert p.status_bits(["acc_on", "positioned", "occupied"]) == 0b1000000011
    assert p.flags_of(0b1100, p.STATUS_BITS) == {"south", "west"}
    with pytest.raises(p.PayloadError):
        p.alarm_bits(["overspeed"])


def test_hemisphere_goes_into_the_status_bits():
    pos = p.position(lat_deg=-33.9, lon_deg=-70.6, alt_m=520, speed_mps=0, course_deg=0, fix_ms=T0)
    msg = p.location(seq=1, ts_ms=T0, pos=pos, status=["positioned"], operating="for_hire", mileage_m=0)
    assert p.flags_of(msg["status"], p.STATUS_BITS) == {"positioned", "south", "west"}
    with pytest.raises(p.PayloadError):
        p.location(seq=1, ts_ms=T0, pos=pos, status=["south"], operating="for_hire", mileage_m=0)


# --- every builder against its schema -----------------------------------------------------

lat = st.floats(-90, 90, allow_nan=False)
lon = st.floats(-180, 180, allow_nan=False)
positions = st.builds(
    lambda la, lo, alt, v, c, t: p.position(lat_deg=la, lon_deg=lo, alt_m=alt, speed_mps=v, course_deg=c, fix_ms=t),
    lat, lon, st.floats(-1000, 10000), st.floats(0, 1820.4), st.floats(0, 360),
    st.integers(p.BCD_TIME_MIN_MS, p.BCD_TIME_MAX_MS))
seqs = st.integers(1, 2**53)
stamps = st.integers(0, 2**45)
texts = st.text(min_size=1, max_size=32)
counts = st.integers(0, 2**40)
status_names = st.sets(st.sampled_from(["acc_on", "positioned", "out_of_service", "occupied"]))
alarm_fields = st.integers(0, 0xFFFFFFFF)
operating = st.sampled_from(p.OPERATING_STATES)


@given(seqs, stamps, positions, alarm_fields, status_names, operating, counts, texts, st.booleans())
def test_location_payloads_validate(seq, ts, pos, alarm, status, op, mileage, order_id, overspeed):
    msg = p.location(seq=seq, ts_ms=ts, pos=pos, alarm=alarm, status=status, operating=op, mileage_m=mileage,
                     order_id=order_id, overspeed=overspeed)
    valid("up_location", msg)
    valid("up_location", p.as_resent(msg))
    assert p.as_resent(msg)["resent"] is True and msg["resent"] is False


@given(seqs, stamps, positions, alarm_fields, texts, st.sampled_from(p.ALARM_STAGES), stamps, counts, operating)
def test_alarm_payloads_validate(seq, ts, pos, alarm, alarm_id, stage, pressed, mileage, op):
    valid("up_alarm", p.alarm(seq=seq, ts_ms=ts, pos=pos, alarm=alarm, alarm_id=alarm_id, stage=stage,
                              pressed_ms=pressed, mileage_m=mileage, operating=op))


hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
records = st.fixed_dictionaries({
    "trip_no": counts, "order_id": texts, "tariff_id": texts, "tariff_digest": hex64,
    "utc_offset_min": st.integers(-720, 840), "board_ms": stamps, "alight_ms": stamps, "end_ms": stamps,
    "distance_m": counts, "empty_m": counts, "waiting_ms": counts, "paused_ms": counts,
    "price_per_km_fen": counts, "waiting_fen_per_unit": counts, "waiting_unit_s": counts, "night": st.booleans(),
    "fare": st.fixed_dictionaries({k: st.integers(-100, 10**6) for k in (
        "start_fen", "distance_fen", "long_distance_fen", "night_fen", "peak_fen", "waiting_fen", "rounding_fen")}),
    "fare_fen": counts, "extras": st.lists(st.fixed_dictionaries({"label": texts, "amount_fen": counts}), max_size=4),
    "extras_fen": counts, "total_fen": counts, "flags": st.lists(texts, max_size=3, unique=True), "digest": hex64,
})
tracks = st.fixed_dictionaries({
    "points": counts, "gnss_m": counts, "max_speed": st.integers(0, 0xFFFF),
    "polyline": st.lists(st.tuples(st.integers(-90_000_000, 90_000_000), st.integers(-180_000_000, 180_000_000))
                         .map(list), max_size=20)})


@given(seqs, stamps, records, positions, positions, tracks, counts)
def test_trip_payloads_validate(seq, ts, record, board, alight, track, discount):
    msg = p.trip(seq=seq, ts_ms=ts, record=record, board_pos=board, alight_pos=alight, track=track,
                 discount_fen=discount)
    valid("up_trip", msg)
    assert msg["record"] == record


def test_the_example_trip_record_of_the_meter_validates():
    record = {
        "trip_no": 12, "order_id": "0", "tariff_id": "GZ-2026A", "tariff_digest": "a" * 64, "utc_offset_min": 480,
        "board_ms": 1795000000000, "alight_ms": 1795000900000, "end_ms": 1795000960000, "distance_m": 8350,
        "empty_m": 2100, "waiting_ms": 180000, "paused_ms": 0, "price_per_km_fen": 260, "waiting_fen_per_unit": 50,
        "waiting_unit_s": 60, "night": False,
        "fare": {"start_fen": 1300, "distance_fen": 1651, "long_distance_fen": 0, "night_fen": 0, "peak_fen": 0,
                 "waiting_fen": 150, "rounding_fen": -1},
        "fare_fen": 3100, "extras": [{"label": "燃油附加费", "amount_fen": 100}, {"label": "过路费", "amount_fen": 1000}],
        "extras_fen": 1100, "total_fen": 4200, "flags": [], "digest": "b" * 64}
    pos = p.position(lat_deg=23.1291, lon_deg=113.2644, alt_m=21, speed_mps=0, course_deg=0, fix_ms=T0)
    track = {"points": 900, "gnss_m": 8402, "max_speed": 612, "polyline": [[23129100, 113264400]]}
    valid("up_trip", p.trip(seq=7, ts_ms=T0, record=record, board_pos=pos, alight_pos=pos, track=track))
    with pytest.raises(p.PayloadError):
        p.trip(seq=7, ts_ms=T0, record={k: v for k, v in record.items() if k != "digest"}, board_pos=pos,
               alight_pos=pos, track=track)
    broken = dict(record, fare_fen=-5)
    assert schemas.errors("up_trip", p.trip(seq=7, ts_ms=T0, record=broken, board_pos=pos, alight_pos=pos,
                                            track=track))


totals = st.fixed_dictionaries({k: counts for k in (
    "trips", "distance_m", "loaded_m", "empty_m", "waiting_ms", "fares_fen", "extras_fen", "total_fen", "started_ms")})


@given(seqs, stamps, texts, texts, stamps, totals)
def test_shift_payloads_validate(seq, ts, shift_id, cert, at, tot):
    valid("up_shift", p.shift(seq=seq, ts_ms=ts, event="sign_in", shift_id=shift_id, driver_cert=cert, at_ms=at))
    valid("up_shift", p.shift(seq=seq, ts_ms=ts, event="sign_out", shift_id=shift_id, driver_cert=cert, at_ms=at,
                              totals=tot))
    with pytest.raises(p.PayloadError):
        p.shift(seq=seq, ts_ms=ts, event="sign_out", shift_id=shift_id, driver_cert=cert, at_ms=at)


@given(seqs, stamps, texts, counts, st.dictionaries(texts, st.fixed_dictionaries(
    {"ok": st.booleans(), "detail": st.text(max_size=40)}), max_size=5), counts, counts, alarm_fields)
def test_health_payloads_validate(seq, ts, software, uptime, devices, depth, dropped, alarm):
    valid("up_health", p.health(seq=seq, ts_ms=ts, software=software, uptime_ms=uptime, devices=devices,
                                outbox_depth=depth, dropped_positions=dropped, alarm=alarm))


@given(seqs, stamps, st.text(max_size=64), st.sampled_from(sorted(p.RESULT_NAMES)), st.text(max_size=200))
def test_ack_payloads_validate(seq, ts, cmd_id, result, reason):
    valid("up_ack", p.ack(seq=seq, ts_ms=ts, cmd_id=cmd_id, command="order_offer", result=result, reason=reason))


@given(seqs, stamps, texts, st.sampled_from(p.ORDER_EVENTS), st.text(max_size=100),
       st.none() | positions, st.none() | counts, st.none() | counts)
def test_order_payloads_validate(seq, ts, order_id, event, reason, pos, trip_no, total):
    valid("up_order", p.order(seq=seq, ts_ms=ts, order_id=order_id, event=event, reason=reason, pos=pos,
                              trip_no=trip_no, total_fen=total))


@given(seqs, stamps, texts, stamps, counts, texts, texts)
def test_notice_ack_and_audit_payloads_validate(seq, ts, notice_id, read, counter, what, who):
    valid("up_notice_ack", p.notice_ack(seq=seq, ts_ms=ts, notice_id=notice_id, read_ms=read))
    valid("up_audit", p.audit(seq=seq, ts_ms=ts, counter=counter, what=what, detail={"old": 1, "new": 2}, who=who))


def test_status_and_last_will_validate():
    valid("status", p.status(online=True, ts_ms=T0, software="taxiterm 0.1.0 meter:3f2a9c1b", terminal_id="T0001"))
    valid("status", p.LAST_WILL)
    assert schemas.errors("status", {"online": True})


trip_spans = st.lists(st.tuples(st.integers(0, 3 * 3600_000), st.integers(0, 7200_000), st.integers(0, 60_000),
                                st.integers(0, 50_000), st.integers(0, 20_000), st.booleans()), max_size=12)


@given(st.integers(T0, T0 + 400 * 86_400_000), trip_spans)
def test_daily_payloads_validate(start, spans):
    book = DayBook()
    book.set_state("for_hire", start)
    t = start
    for gap, ride, settle, loaded, empty, on_call in spans:
        board = t + gap
        book.set_state("hired", board)
        book.trip({"board_ms": board, "alight_ms": board + ride, "end_ms": board + ride + settle,
                   "distance_m": loaded, "empty_m": empty, "fare_fen": 1300, "total_fen": 1400,
                   "order_id": "77" if on_call else "0"})
        t = board + ride + settle
        book.set_state("for_hire", t)
    for day in book.open_days():
        valid("up_daily", p.daily(seq=1, ts_ms=t, stats=book.close(day, t)))


def test_envelope_refuses_bad_sequence_numbers_and_clashing_fields():
    for bad in (0, -1, True, 1.0):
        with pytest.raises(p.PayloadError):
            p.envelope("location", seq=bad, ts_ms=T0, body={})
    with pytest.raises(p.PayloadError):
        p.envelope("location", seq=1, ts_ms=T0, body={"seq": 5})
    with pytest.raises(p.PayloadError):
        p.envelope("weather", seq=1, ts_ms=T0, body={})
