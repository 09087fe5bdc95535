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
    d = hired().run(270, 40)   # the 3 km the start fare covers
    d.run(600, 0)              # then ten minutes in a jam
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
    friday = hired(peak=peak, start_distance_m=0).run(600, 0)
    assert friday.fare() == 1300 + 750
    saturday = meter(peak=peak, start_distance_m=0)
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


def _nanning(**changes):
    # A city price notice in the shape JJG 517-2016 is explained with: 9 yuan for the first
    # 2 km, 2 yuan/km, the fare jumping 0.40 yuan every 200 m, waiting below 12 km/h at
    # 0.50 yuan a minute (a quarter of the km price), 50 % beyond 2 km single-trip.
    d = dict(start_fare_fen=900, start_distance_m=2000, per_km_fen=200, step_fen=40,
             waiting={"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60})
    d.update(changes)
    return d


def test_waiting_offsets_the_start_distance_jjg517_6_8_2():
    # JJG 517-2016 6.8.2 时距冲抵: within the start distance, time offsets distance. Standing
    # still, 8 minutes of waiting (4 yuan) are worth the 2 km the start fare covers.
    d = hired(**_nanning())
    d.run(480, 0)
    assert d.m.view()["waiting_ms"] == 480000
    assert d.fare() == 900
    d.run(47, 0)                 # 2.2 km of equivalent distance less a second: no jump yet
    assert d.fare() == 900
    d.run(1, 0)                  # 8 min 48 s: 4.40 yuan of time, the first 200 m step
    assert d.fare() == 940


def test_distance_and_waiting_share_the_start_distance():
    # 1 km driven (2 yuan of the start's 4), then 2 yuan of waiting uses the rest.
    d = hired(**_nanning())
    d.run(90, 40)                # 1000 m
    d.run(240, 0)                # 4 minutes: 2 yuan, the rest of the start distance
    assert d.fare() == 900
    d.run(48, 0)                 # 0.40 yuan more: one step
    assert d.fare() == 940
    d.key("settle").key("clear")
    parts = d.closed[0]["fare"]
    assert parts["waiting_fen"] == 40 and parts["distance_fen"] == 0


def test_the_long_distance_point_stays_at_the_real_distance():
    # 6.8.2: "但单程加价里程点不变": time offsets the start distance, but the 50 % beyond
    # 2 km starts after 2 km really driven, not 2 km of equivalent distance.
    d = hired(**_nanning(step_fen=1, long_distance={"from_m": 2000, "surcharge_pct": 50}))
    d.run(600, 0)                # 10 minutes: 5 yuan, 1 yuan beyond the start
    assert d.fare() == 900 + 100
    d.run(180, 40)               # 2000 m, all charged, none of it beyond 2 km driven
    assert d.fare() == 900 + 100 + 400
    d.run(90, 40)                # the next 1000 m are beyond 2 km: 150 %
    assert d.fare() == 900 + 100 + 400 + 300


def test_the_jjg517_explanation_table_first_jump():
    # The JJG 517-2016 6.8.2 explanation with the city's whole notice: the first 3 minutes of
    # waiting are free, then 0.50 yuan a minute offsets the 2 km; the fare moves to 9.40 as
    # soon as the equivalent distance passes 2 km (the started 200 m is charged: "up").
    # Its table: driven 0 m, the first jump after 11 minutes of waiting; 600 m, after 9
    # (not 8); 1000 m, after 7.
    for driven_s, minutes in ((0, 11), (54, 9), (90, 7)):
        d = hired(**_nanning(rounding="up", waiting={"below_kmh": 12, "fen_per_unit": 50, "unit_s": 60,
                                                     "free_s": 180}))
        d.run(driven_s, 40)                         # 40 km/h: 600 m in 54 s, 1000 m in 90 s
        d.run(minutes * 60 - 60, 0)
        assert d.fare() == 900, driven_s            # a minute before: still the start fare
        d.run(60, 0)
        if driven_s != 54:
            assert d.fare() == 900, driven_s        # 0 m + 8 min, 1000 m + 4 min: exactly 2 km
        d.run(1, 0)
        assert d.fare() == 940, driven_s
        assert d.m.view()["waiting_ms"] == minutes * 60000 + 1000


def test_waiting_in_whole_units():
    # "每5分钟加收1公里租价，不足5分钟不计": a unit is charged once the trip's waiting completes it
    d = hired(start_distance_m=0, step_fen=1,
              waiting={"below_kmh": 12, "fen_per_unit": 230, "unit_s": 300, "units": "whole"})
    d.run(299, 0)
    assert d.fare() == 1300
    d.run(1, 0)
    assert d.fare() == 1300 + 230
    d.run(200, 0).key("pause").run(600, 0).key("resume").run(99, 0)   # 599 s of waiting in all
    assert d.fare() == 1300 + 230
    d.run(1, 0)
    assert d.fare() == 1300 + 460
    assert d.m.view()["waiting_ms"] == 600000
