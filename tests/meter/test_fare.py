"""Fares a passenger would check: start fare, per km, steps, waiting, surcharges, extras."""

from tests.meter.drive import Drive
from tests.meter.support import FRI_10H, HOUR, MIN, meter


def hired(k=1000, **changes):
    m = meter(k=k, **changes)
    return Drive(m, k=k).key("hire")


def test_start_fare_covers_the_start_distance():
    d = hired()
    assert d.fare() == 1300
    d.run(270, 40)          # 3000 m at 40 km/h
    assert d.m.view()["distance_m"] == 3000
    assert d.fare() == 1300


def test_price_per_km_beyond_the_start_distance():
    d = hired()
    d.run(270 + 90, 40)     # 3000 m + 1000 m
    assert d.m.view()["distance_m"] == 4000
    assert d.fare() == 1300 + 230


def test_fare_moves_only_in_steps_and_never_down():
    d = hired(step_fen=50)
    last = d.fare()
    for _ in range(60):
        d.run(20, 37)
        fare = d.fare()
        assert (fare - 1300) % 50 == 0
        assert fare >= last
        last = fare
    assert last > 1300


def test_waiting_counts_below_the_threshold_speed_only():
    # K = 10000 resolves 11 and 13 km/h apart within each one-second reading
    slow = hired(k=10000).run(120, 11)
    assert slow.m.view()["waiting_ms"] == 120000
    fast = hired(k=10000).run(120, 13)
    assert fast.m.view()["waiting_ms"] == 0


def test_waiting_is_charged_per_unit_in_mode_cn():
    d = hired().run(600, 0)    # ten minutes in a jam
    assert d.m.view()["waiting_ms"] == 600000
    assert d.fare() == 1300 + 500


def test_paused_time_is_not_charged_and_not_waiting():
    d = hired().run(60, 0)
    fare, waiting = d.fare(), d.m.view()["waiting_ms"]
    d.key("pause").run(1800, 0).run(600, 30)
    assert d.fare() == fare
    assert d.m.view()["waiting_ms"] == waiting
    d.key("resume").run(60, 0)
    assert d.m.view()["waiting_ms"] == waiting + 60000


def test_mode_s_charges_time_below_crossover_and_distance_above():
    d = hired(mode="S", start_distance_m=0, start_fare_fen=0)
    d.run(360, 10)             # 1000 m at 10 km/h: only time (6 min * 50 fen)
    assert d.fare() == 300
    d.run(90, 40)              # 1000 m at 40 km/h: only distance
    assert d.fare() == 300 + 230


def test_mode_d_charges_time_and_distance_all_the_time():
    d = hired(mode="D", start_distance_m=0, start_fare_fen=0)
    d.run(90, 40)              # 1000 m in 1.5 min
    assert d.fare() == 230 + 70  # 230 + 75 fen of time, floored to the 10 fen step


def test_long_distance_surcharge_applies_beyond_its_threshold_only():
    d = hired(long_distance={"from_m": 5000, "surcharge_pct": 50})
    d.run(450, 40)             # 5000 m
    assert d.fare() == 1300 + 2 * 230
    d.run(180, 40)             # 2000 m more, at 150 %
    assert d.fare() == 1300 + 2 * 230 + 2 * 345


def test_night_start_fare_and_surcharge_from_the_window_edge():
    night = {"from": "10:30", "to": "05:00", "start_fare_fen": 1500, "surcharge_pct": 20}
    d = hired(night=night)
    assert d.fare() == 1300        # boarded at 10:00, before the window
    d.run(1800, 30)                # to 10:30: 15 km, 12 km of them charged
    assert d.fare() == 1300 + 2760
    d.run(120, 30)                 # 1000 m inside the window at 120 %: 2.76 yuan
    assert d.fare() == 1300 + 2760 + 270   # 4336 fen moved down to the 10 fen step
    late = meter(night=night)
    Drive(late, t=FRI_10H + 45 * MIN).key("hire")
    assert late.view()["fare_fen"] == 1500


def test_peak_waiting_surcharge_on_weekdays_only():
    peak = {"windows": ["09:00-11:00"], "days": [1, 2, 3, 4, 5], "waiting_surcharge_pct": 50}
    friday = hired(peak=peak).run(600, 0)
    assert friday.fare() == 1300 + 750
    saturday = meter(peak=peak)
    Drive(saturday, t=FRI_10H + 24 * HOUR).key("hire").run(600, 0)
    assert saturday.view()["fare_fen"] == 1300 + 500


def test_rounding_modes():
    for rounding, expect in (("down", 1300 + 200), ("up", 1300 + 300), ("half_up", 1300 + 300)):
        d = hired(step_fen=100, rounding=rounding, start_distance_m=0)
        d.run(99, 40)   # 1100 m -> 253 fen
        assert d.fare() == expect, rounding


def test_fixed_extras_are_itemised_apart_from_the_metered_fare():
    d = hired(fixed_extras=[{"label": "燃油附加费", "amount_fen": 100}])
    d.run(10, 30).key("settle").key("extra", amount_fen=1500, label="过路费").key("clear")
    trip = d.closed[0]
    assert trip["fare_fen"] == 1300
    assert trip["extras"] == [{"label": "燃油附加费", "amount_fen": 100}, {"label": "过路费", "amount_fen": 1500}]
    assert trip["extras_fen"] == 1600
    assert trip["total_fen"] == 2900


def test_settle_freezes_the_fare():
    d = hired().run(600, 40)
    d.key("settle")
    frozen = d.fare()
    d.run(300, 0).run(60, 20)
    assert d.fare() == frozen
    d.key("clear")
    assert d.closed[0]["fare_fen"] == frozen


def test_breakdown_sums_to_the_fare():
    night = {"from": "10:05", "to": "05:00", "surcharge_pct": 20, "waiting_surcharge_pct": 10}
    d = hired(night=night, long_distance={"from_m": 4000, "surcharge_pct": 50}, step_fen=50)
    d.run(900, 33).run(300, 5).key("settle").key("clear")
    trip = d.closed[0]
    parts = trip["fare"]
    total = 0
    for key in parts:
        total += parts[key]
    assert total == trip["fare_fen"]
    assert parts["night_fen"] > 0 and parts["long_distance_fen"] > 0 and parts["waiting_fen"] > 0
