"""Daily statistics (004 art. 18): time per state, trips, loaded/empty distance, utilisation by period."""

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.app.daily import DayBook, DayBookError

BEIJING = timezone(timedelta(hours=8))
H = 3_600_000
MIN = 60_000


def at(day, hh, mm=0):
    return int(datetime(2026, 11, day, hh, mm, tzinfo=BEIJING).timestamp() * 1000)


def record(board, alight, distance, empty, order_id="0", fare=2000, total=2100):
    return {"board_ms": board, "alight_ms": alight, "end_ms": alight + MIN, "distance_m": distance,
            "empty_m": empty, "fare_fen": fare, "total_fen": total, "order_id": order_id}


def test_a_day_of_driving_adds_up():
    book = DayBook()
    book.set_state("for_hire", at(18, 6))
    book.set_state("hired", at(18, 7, 30))               # peak 07:00-09:00
    book.set_state("settle", at(18, 8, 0))
    book.trip(record(at(18, 7, 30), at(18, 8, 0), 10_000, 3_000))
    book.set_state("for_hire", at(18, 8, 1))
    book.set_state("out_of_service", at(18, 12))
    book.set_state("for_hire", at(18, 13))
    book.set_state("hired", at(18, 14))                  # off-peak
    book.trip(record(at(18, 14), at(18, 15), 20_000, 7_000, order_id="95128-7"))
    book.set_state("for_hire", at(18, 15))
    book.set_state("offline", at(18, 22))
    day = book.close("2026-11-18", at(19, 1))
    assert day["online_ms"] == 16 * H
    assert day["operating_ms"] == 15 * H
    assert day["loaded_ms"] == 30 * MIN + 1 * MIN + 1 * H
    assert day["trips"] == 2 and day["on_call_trips"] == 1
    assert day["loaded_m"] == 30_000 and day["empty_m"] == 10_000
    assert day["peak"]["loaded_m"] == 10_000
    assert day["off_peak"]["loaded_m"] == 20_000
    # first trip: no earlier trip end known, its 3,000 empty metres sit at boarding (07:30, peak);
    # second: 7,000 m spread over 08:01 -> 14:00, whose first 59 of 359 minutes are peak: 1,150 m
    assert day["peak"]["empty_m"] == 3_000 + 1_150
    assert day["off_peak"]["empty_m"] == 7_000 - 1_150
    assert day["utilisation_permille"] == {"all_day": 750, "peak": 707, "off_peak": 774}
    assert day["fares_fen"] == 4000 and day["total_fen"] == 4200
    assert book.open_days() == []


def test_distance_is_cut_at_the_peak_edge_in_proportion_to_time():
    book = DayBook()
    # hired 06:30-07:30: half before the 07:00 peak, half inside it
    book.trip(record(at(18, 6, 30), at(18, 7, 30), 10_001, 0))
    day = book.close("2026-11-18", at(18, 8))
    assert day["peak"]["loaded_m"] + day["off_peak"]["loaded_m"] == 10_001
    assert {day["peak"]["loaded_m"], day["off_peak"]["loaded_m"]} == {5000, 5001}


def test_a_trip_across_midnight_is_split_between_the_days_and_counted_on_the_day_it_ended():
    book = DayBook()
    book.set_state("hired", at(18, 23, 30))
    book.trip(record(at(18, 23, 30), at(19, 0, 30), 12_000, 0))
    first = book.close("2026-11-18", at(19, 0, 30))
    assert first["trips"] == 0 and first["loaded_m"] == 6_000 and first["loaded_ms"] == 30 * MIN
    second = book.close("2026-11-19", at(19, 0, 30))
    assert second["trips"] == 1 and second["loaded_m"] == 6_000 and second["loaded_ms"] == 30 * MIN


def test_local_midnight_is_beijing_midnight():
    book = DayBook()
    assert book.day_of(at(19, 0, 0)) == "2026-11-19"
    assert book.day_of(at(19, 0, 0) - 1) == "2026-11-18"
    assert DayBook(utc_offset_min=0).day_of(at(19, 0, 0)) == "2026-11-18"


def test_no_distance_means_no_utilisation_rather_than_zero():
    book = DayBook()
    book.set_state("for_hire", at(18, 10))
    day = book.close("2026-11-18", at(18, 11))
    assert day["utilisation_permille"] == {"all_day": None, "peak": None, "off_peak": None}
    assert day["online_ms"] == H


def test_time_while_off_is_not_online():
    book = DayBook()
    book.set_state("for_hire", at(18, 10))
    snap = book.snapshot()                               # persisted, then power lost at 11:00
    again = DayBook.from_snapshot(snap)
    again.set_state("offline", at(18, 11))
    again.set_state("for_hire", at(18, 15))
    assert again.close("2026-11-18", at(18, 16))["online_ms"] == 2 * H


def test_bad_input_is_refused_and_changes_nothing():
    book = DayBook()
    book.set_state("for_hire", at(18, 10))
    before = book.snapshot()
    for bad in (lambda: book.set_state("flying", at(18, 11)),
                lambda: book.set_state("hired", at(18, 9)),
                lambda: book.trip({"board_ms": 1}),
                lambda: book.trip(record(at(18, 12), at(18, 11), 10, 0)),
                lambda: book.close("2026-02-30", at(18, 12)),
                lambda: DayBook(peak_windows=[(540, 420)]),
                lambda: DayBook(peak_windows=[(420, 600), (540, 700)])):
        with pytest.raises(DayBookError):
            bad()
    assert book.snapshot() == before


trips = st.lists(st.tuples(st.integers(0, 5 * H), st.integers(0, 3 * H), st.integers(0, 80_000),
                           st.integers(0, 40_000)), max_size=15)


@given(st.integers(at(1, 0), at(28, 0)), trips, st.sampled_from([0, 480, -300, 330]))
def test_every_metre_and_millisecond_lands_in_exactly_one_day_and_period(start, spans, offset):
    book = DayBook(utc_offset_min=offset)
    book.set_state("for_hire", start)
    t = start
    want_loaded = want_empty = hired_ms = 0
    for gap, ride, loaded, empty in spans:
        board = t + gap
        book.set_state("hired", board)
        book.trip(record(board, board + ride, loaded, empty))
        book.set_state("for_hire", board + ride)
        t = board + ride
        want_loaded += loaded
        want_empty += empty
        hired_ms += ride
    closed = [book.close(d, t) for d in book.open_days()]
    assert sum(d["loaded_m"] for d in closed) == want_loaded
    assert sum(d["empty_m"] for d in closed) == want_empty
    assert sum(d["peak"]["loaded_m"] + d["off_peak"]["loaded_m"] for d in closed) == want_loaded
    assert sum(d["loaded_ms"] for d in closed) == hired_ms
    assert sum(d["online_ms"] for d in closed) == t - start
    assert sum(d["trips"] for d in closed) == len(spans)
    for d in closed:
        assert d["online_ms"] <= 86_400_000
