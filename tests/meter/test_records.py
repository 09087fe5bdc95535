"""Trip records and snapshots: digests detect change; a restored meter continues exactly."""

from meter import canonical
from meter.tariff import Schedule, parse_tariff
from meter.taximeter import Taximeter
from meter.trip import verify_record
from tests.meter.drive import Drive
from tests.meter.support import meter, tariff_data


def test_trip_record_digest_detects_any_change():
    d = Drive(meter()).key("hire").run(600, 40).key("settle").key("clear")
    trip = d.closed[0]
    assert verify_record(trip)
    for field, value in (("fare_fen", trip["fare_fen"] + 10), ("distance_m", 1), ("order_id", "7")):
        forged = dict(trip)
        forged[field] = value
        assert not verify_record(forged), field


def test_canonical_form_is_sorted_and_compact():
    assert canonical.encode({"b": 1, "a": [True, None, "x\"y"]}) == b'{"a":[true,null,"x\\"y"],"b":1}'
    assert canonical.encode({"t": "出租"}) == '{"t":"出租"}'.encode("utf-8")


def test_a_restored_meter_continues_exactly_like_the_original():
    sched = Schedule([parse_tariff(tariff_data(night={"from": "10:20", "to": "05:00", "surcharge_pct": 20}))])
    a = Drive(Taximeter(sched, {"k": 1000}))
    a.m.apply({"t_ms": a.t - 1000, "pulses": 0})
    a.key("hire").run(700, 35).key("pause").run(30, 0).key("resume").run(200, 8)
    snap = canonical.encode(a.m.snapshot())
    b = Drive(Taximeter.restore(a.m.snapshot(), sched), t=a.t)
    b.num = a.num
    assert canonical.encode(b.m.snapshot()) == snap
    for d in (a, b):
        d.run(900, 25).key("settle").key("extra", amount_fen=800, label="过路费").key("clear")
    assert a.closed == b.closed
    assert a.m.totals.as_dict() == b.m.totals.as_dict()


def test_paused_ms_is_the_time_stopped_or_settling():
    d = Drive(meter()).key("hire").run(60, 30).key("pause").run(30, 0).key("resume").run(60, 30)
    d.key("settle").run(20, 0).key("clear", after_ms=500)
    trip = d.closed[0]
    assert trip["paused_ms"] == 30000 + 20000 + 500
    assert trip["end_ms"] - trip["alight_ms"] == 20500


def test_a_snapshot_of_the_previous_format_still_restores():
    d = Drive(meter()).key("hire").run(120, 30).key("pause").run(10, 0)
    snap = d.m.snapshot()
    old = dict(snap)
    for key in list(old):
        if key not in ("params", "odometer", "state", "t", "powered", "off_ms", "fault", "trip",
                       "empty_since_trip", "speed_kmh", "totals", "shift", "shift_info"):
            del old[key]
    old["params"] = {"k": 1000, "source": "pulses", "dip_ms": 10000, "max_kmh": 250}
    old["trip"] = dict(snap["trip"])
    for key in list(old["trip"]):
        if key not in ("trip_no", "tariff_id", "board_ms", "order_id", "empty_m", "fare", "distance_m", "paused_m",
                       "paused_ms", "alight_ms", "frozen_fen", "extras", "flags"):
            del old["trip"][key]
    b = Drive(Taximeter.restore(old, d.m.schedule), t=d.t)
    b.num = d.num
    for x in (d, b):
        x.key("resume").run(300, 30).key("settle").key("clear")
    assert b.closed == d.closed


def test_a_trip_fare_snapshot_from_before_time_offset_the_start_distance_restores():
    # Then the fare snapshot held metres and milliseconds: [start_fen, night_start, trip_m,
    # base_m, long_m, night_m, peak_m, waiting_ms, waiting_night_ms, waiting_peak_ms].
    d = Drive(meter()).key("hire").run(360, 40)       # 4000 m: 1 km beyond the start fare
    snap = d.m.snapshot()
    snap["trip"]["fare"] = [1300, False, 4000, 1000, 0, 0, 0, 30000, 0, 0]   # and 30 s waited, charged
    b = Drive(Taximeter.restore(snap, d.m.schedule), t=d.t)
    b.num = d.num
    assert b.fare() == 1300 + 230 + 20                # 2.30 for the km, 0.25 for the waiting: 2.55 -> 2.50
    b.run(90, 40)                                     # one more km, nothing left of the cover
    assert b.fare() == 1300 + 460 + 20
