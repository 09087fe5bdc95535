"""Our stored messages as JT/T bodies: every location encodes and decodes back to the same
position in each protocol's units, bits land where docs/jtt-mapping.md says, trips, shifts
and order steps carry their figures, and what a protocol cannot carry maps to nothing."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.app import config as config_mod
from terminal.link import jtt, payloads
from terminal.link.jtt import uplink

HEADERS = {"jt808": {"phone": "013912345678", "msg_sn": 1}, "jt905": {"isu": "108000000316", "msg_sn": 1}}
VEHICLE = uplink.Vehicle(plate="粤A·D1234", business_license="示范出租汽车有限公司", driver_cert="440100123456")


def roundtrip(protocol, msg_id, body):
    frame = jtt.encode({"header": dict(HEADERS[protocol], msg_id=msg_id), "body": body})
    return jtt.decode(frame, protocol)["body"]


positions = st.fixed_dictionaries({
    "lat_deg": st.floats(-89.9, 89.9), "lon_deg": st.floats(-179.9, 179.9), "alt_m": st.floats(0, 5000),
    "speed_mps": st.floats(0, 60), "course_deg": st.floats(0, 359.9),
    "fix_ms": st.integers(1_700_000_000_000, 1_900_000_000_000)})


@settings(max_examples=150, deadline=None)
@given(positions, st.sets(st.sampled_from(sorted(payloads.ALARM_BITS))),
       st.sets(st.sampled_from(["acc_on", "positioned", "out_of_service", "occupied"])), st.booleans(),
       st.integers(0, 10**8), st.sampled_from(payloads.OPERATING_STATES))
def test_every_location_survives_each_protocol(pos, alarms, status, overspeed, mileage_m, operating):
    p = payloads.position(**pos)
    message = payloads.location(seq=1, ts_ms=1, pos=p, alarm=payloads.alarm_bits(alarms),
                                status=status,
                                operating=operating, mileage_m=mileage_m, order_id="0", overspeed=overspeed)
    (msg_id, body808), = uplink.to_808(message)
    got = roundtrip("jt808", msg_id, body808)
    assert (got["latitude"], got["longitude"], got["time"]) == (p["latitude"], p["longitude"], p["time"])
    assert bool(got["status"] >> 2 & 1) == p["south"] and bool(got["status"] >> 3 & 1) == p["west"]
    assert bool(got["alarm"] & 1) == bool({"emergency", "pre_alarm"} & alarms)
    assert bool(got["alarm"] >> 1 & 1) == overspeed
    assert got["extra"]["mileage"] == mileage_m // 100
    assert got["status"] >> 8 & 3 == (3 if "occupied" in status else 0)
    assert bool(got["status"] >> 4 & 1) == ("out_of_service" in status or operating == "out_of_service")
    (msg_id, body905), = uplink.to_905(message)
    got = roundtrip("jt905", msg_id, body905)
    assert got["latitude"] == jtt.e6_to_905(p["latitude"]) and got["time"] == p["time"]
    assert bool(got["alarm"] >> 1 & 1) == ("pre_alarm" in alarms)
    assert bool(got["alarm"] >> 10 & 1) == ("meter_fault" in alarms)
    assert bool(got["status"] & 1) == ("positioned" not in status)
    assert bool(got["status"] >> 9 & 1) == ("occupied" in status)
    # the backlog: both batch messages carry them unchanged
    for protocol, body in (("jt808", body808), ("jt905", body905)):
        batch_id, batch = uplink.batch(protocol, [body, body])
        items = roundtrip(protocol, batch_id, batch)["location"]
        assert len(items) == 2 and items[0]["latitude"] == items[1]["latitude"]


TRIP = {"type": "trip", "seq": 9, "ts": 1, "resent": False,
        "record": {"trip_no": 12, "order_id": "4711", "board_ms": 1_795_000_000_000, "alight_ms": 1_795_001_260_000,
                   "distance_m": 8234, "empty_m": 1520, "waiting_ms": 185_000, "extras_fen": 200, "total_fen": 3260},
        "board": {"latitude": 23128000, "longitude": 113264000, "south": False, "west": False, "time": "261118190640"},
        "alight": {"latitude": 23100000, "longitude": 113300000, "south": False, "west": False, "time": "261118191140"},
        "track": {}, "discount_fen": 0}


def test_a_trip_is_905_operation_data_with_its_figures_and_808_transparent_json():
    (msg_id, body), = uplink.to_905(TRIP, VEHICLE)
    got = roundtrip("jt905", msg_id, body)
    meter = got["meter"]
    assert msg_id == 0x0B05 and got["operation_id"] == 12 and got["order_id"] == 4711
    assert (meter["fare"], meter["surcharge"], meter["distance"], meter["empty_distance"]) == \
           ("000326", "000020", "000082", "0015")
    assert (meter["waiting_time"], meter["boarding_time"], meter["alighting_time"]) == ("0003", "2611181906", "1911")
    assert meter["license_number"] == "D1234" and meter["certificate"] == "440100123456"
    assert got["boarding"]["latitude"] == jtt.e6_to_905(23128000)
    (msg_id, body), = uplink.to_808(TRIP, VEHICLE)
    got = roundtrip("jt808", msg_id, body)
    assert msg_id == 0x0900 and got["type"] == uplink.TAXI_DATA
    assert json.loads(base64.b64decode(got["data"])) == TRIP


def test_shifts_and_order_steps_in_905():
    sign_in = {"type": "shift", "event": "sign_in", "shift_id": "s1", "driver_cert": "440100123456",
               "at_ms": 1_795_000_000_000}
    (msg_id, body), = uplink.to_905(sign_in, VEHICLE)
    assert msg_id == 0x0B03 and roundtrip("jt905", msg_id, body)["power_on"] == "202611181906"
    sign_out = dict(sign_in, event="sign_out", at_ms=1_795_000_000_000 + 3_723_000,
                    totals={"trips": 3, "distance_m": 40_000, "loaded_m": 25_000, "total_fen": 9870,
                            "started_ms": 1_795_000_000_000})
    (msg_id, body), = uplink.to_905(sign_out, VEHICLE)
    got = roundtrip("jt905", msg_id, body)
    assert msg_id == 0x0B04
    assert (got["trips"], got["total_amount"], got["shift_mileage"], got["timing"]) == ("0003", "000987", "000400",
                                                                                       "010203")
    steps = {e: uplink.to_905({"type": "order", "order_id": "77", "event": e}) for e in payloads.ORDER_EVENTS}
    assert steps["accepted"] == [(0x0B01, {"order_id": 77})] and steps["completed"] == [(0x0B07, {"order_id": 77})]
    assert steps["cancelled"] == [(0x0B08, {"order_id": 77, "reason": 0})]
    assert steps["rejected"] == steps["timeout"] == steps["boarded"] == []
    # the centre's own cancel (0x8B09) is answered by 0x0001; it is not the driver cancelling (0x0B08)
    centre = {"type": "order", "order_id": "77", "event": "cancelled", "reason": "centre: 乘客取消"}
    assert uplink.to_905(centre) == []


@pytest.mark.parametrize("kind", ["health", "audit", "ack", "notice_ack"])
def test_what_neither_protocol_carries_maps_to_nothing(kind):
    assert uplink.to_808({"type": kind}) == [] and uplink.to_905({"type": kind}) == []


def test_link_configuration_is_checked_whole():
    config = config_mod.from_dict({"links": {"use": ["jt808", "jt905"]}, "terminal": {"id": "T0042"},
                                   "jt808": {"proto_ver": 1}})
    assert config["jt808"]["phone"] == "00000000000000000042" and config["jt905"]["isu"] == "000000000042"
    for bad in ({"links": {"use": ["jt809"]}}, {"links": {"use": ["mqtt", "mqtt"]}},
                {"links": {"use": ["jt905"]}, "jt905": {"port": "7611"}},
                {"links": {"use": ["jt905"]}, "jt905": {"heartbeat_s": 1}},
                {"links": {"use": ["jt808"]}, "jt808": {"hots": "x"}}):
        with pytest.raises(config_mod.ConfigError):
            config_mod.from_dict(bad)


def _reporting(now):
    from types import SimpleNamespace

    from terminal.app.reporting import Reporting
    from terminal.recorder.core import RecorderCore
    term = SimpleNamespace(config={"mqtt": {"terminal_id": "T1"}, "report": {"fix_max_age_s": 5}},
                           recorder=SimpleNamespace(core=RecorderCore()), clock=lambda: now)
    return term, Reporting(term)


def test_a_location_report_carries_the_pulse_speed_and_satellites_as_808_items_0x03_and_0x31():
    from gps.fix import Fix
    now = 1_795_000_000_000
    term, reporting = _reporting(now)
    source = term.recorder.core.source
    source.pulses(now - 1200, 100, 1000)
    source.pulses(now - 1000, 102, 1000)         # 2 m in 0.2 s at K = 1000: 36.0 km/h
    reporting.fix = Fix(time_ms=now, lat=22.5, lon=114.0, sats=9, mode=3, valid=True)
    reporting.fix_rx_ms = now - 1000
    items = reporting.sensor_items(now)
    assert items == {"pulse_speed": 360, "satellites": 9}     # no modem signal on this board: no rssi
    pos = payloads.position(lat_deg=22.5, lon_deg=114.0, alt_m=0, speed_mps=10, course_deg=0, fix_ms=now)
    message = payloads.location(seq=1, ts_ms=now, pos=pos, operating="for_hire", mileage_m=0, extra=items)
    extra = roundtrip("jt808", 0x0200, uplink.location_808(message))["extra"]
    assert (extra["speed"], extra["gnss_sat_num"]) == (360, 9) and "rssi" not in extra
    batch = roundtrip("jt808", 0x0704, uplink.batch("jt808", [uplink.location_808(message)])[1])
    assert batch["location"][0]["extra"]["speed"] == 360 and batch["location"][0]["extra"]["gnss_sat_num"] == 9


def test_stale_pulses_and_a_stale_fix_add_no_items():
    from gps.fix import Fix
    now = 1_795_000_000_000
    term, reporting = _reporting(now)
    source = term.recorder.core.source
    source.pulses(now - 60_200, 100, 1000)
    source.pulses(now - 60_000, 102, 1000)       # a minute ago: the pulse line has said nothing since
    reporting.fix = Fix(time_ms=now - 60_000, lat=22.5, lon=114.0, sats=9, mode=3, valid=True)
    reporting.fix_rx_ms = now - 60_000
    assert reporting.sensor_items(now) == {}
    term.recorder = None                         # a terminal without a driving recorder
    assert reporting.sensor_items(now) == {}
