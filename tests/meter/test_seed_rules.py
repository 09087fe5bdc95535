"""The fare rules of the taxi service specification (出租汽车客运服务规范, seed 001), clause by clause.

The specification has no worked fare; what it requires of the meter's money is below,
each with the clause it comes from. JJG 517-2016 6.8.2 (时距冲抵) is in test_fare.py.
"""

from meter.tariff import parse_tariff
from tests.meter.drive import Drive
from tests.meter.support import meter, tariff_data


def _hired(**changes):
    return Drive(meter(**changes)).key("hire")


def test_price_label_figures_come_from_the_tariff():
    # "车身明显位置应有运价标签，包括起步价、车公里租价" (车辆要求): the start fare and the
    # price per km are the tariff's own figures, as the meter charges them
    summary = parse_tariff(tariff_data()).summary()
    assert (summary["start_fare_fen"], summary["per_km_fen"]) == (1300, 230)
    d = _hired(start_distance_m=0, step_fen=1).run(90, 40)      # 1 km
    assert d.fare() == summary["start_fare_fen"] + summary["per_km_fen"]


def test_stopping_for_the_vehicle_or_driver_suspends_charging():
    # "因车辆或驾驶员原因造成车辆停驶时，应暂停计程计价设备计费": paused, neither time
    # nor distance is charged
    d = _hired(start_distance_m=0).run(90, 40)
    fare = d.fare()
    d.key("pause").run(1800, 0).run(180, 40)
    assert d.fare() == fare
    d.key("resume").run(90, 40)
    assert d.fare() > fare


def test_charging_ends_at_the_destination():
    # "到达目的地 ... 终止计程计价设备计费" and "按计程计价设备显示金额 ... 收费": once
    # settled, the fare shown is the fare charged, whatever the car does while paying
    d = _hired().run(600, 40).key("settle")
    shown = d.fare()
    d.run(300, 0).key("clear")
    assert d.closed[0]["fare_fen"] == shown


def test_tolls_are_collected_apart_from_the_metered_fare():
    # "过路、过桥等需加收通行费 ... 应事先向乘客说明" and "收取过路、过桥费等其它加收费用的，
    # 应向乘客提供票据": a toll is an extra, itemised, not metered and not rounded
    d = _hired(step_fen=100).run(600, 40).key("settle")
    metered = d.fare()
    d.key("extra", amount_fen=1234, label="过桥费").key("clear")
    trip = d.closed[0]
    assert trip["fare_fen"] == metered
    assert trip["extras"] == [{"label": "过桥费", "amount_fen": 1234}]
    assert trip["total_fen"] == metered + 1234


def test_the_default_rounding_is_in_the_passengers_favour():
    # "有零找零、无零让零": where the tariff says nothing, a part step is not charged
    assert parse_tariff(tariff_data()).rounding == "down"
    d = _hired(start_distance_m=0, step_fen=100).run(171, 40)   # 1900 m: 4.37 yuan
    assert d.fare() == 1300 + 400
