"""JT/T 905 frames: ones published with the open SmallChi/JT905 implementation (captured from
devices), and hand-derived ones for the taxi messages, in both directions."""

import pytest

from terminal.link.jtt import decode, e6_from_905, e6_to_905, encode
from tests.jtt.golden import TEXT_GBK, frame

ISU = "108000000316"
POS_HEX = "00000000 00000300 00f857a4 03f88e4e 0000 00 261129080000"
POS = {"alarm": 0, "status": 0x300, "latitude": 0xF857A4, "longitude": 0x3F88E4E, "speed": 0, "direction": 0,
       "time": "261129080000"}


def h(msg_id, body_len, sn):
    return {"msg_id": msg_id, "len": body_len, "isu": ISU, "msg_sn": sn}


GOLDEN_905 = [
    ("0x8001 centre general reply", "8001 0005 108000000316 0001  0001 0b03 00",
     {"header": h(0x8001, 5, 1), "body": {"seq": 1, "id": 0x0B03, "result": 0}}),
    ("0x0002 heartbeat", "0002 0000 108000000316 0002", {"header": h(2, 0, 2), "body": {}}),
    ("0x0203 blind-area supplement, two positions",
     "0203 0032 108000000316 0003 " + POS_HEX + " " + POS_HEX.replace("080000", "080030"),
     {"header": h(0x0203, 50, 3), "body": {"location": [POS, dict(POS, time="261129080030")]}}),
    ("0x0B03 driver sign-in",
     "0b03 0048 108000000316 0004 " + POS_HEX + " 313130313030303030303031 00000000"
     " 333130313031313938303031303131323334 00 413132333435 202611290800",
     {"header": h(0x0B03, 72, 4), "body": {"location": POS, "business_license": "110100000001",
                                            "certificate": "310101198001011234", "license_number": "A12345",
                                            "power_on": "202611290800"}}),
    ("0x8B00 order dispatch", "8b00 0014 108000000316 0005  00000065 00 261129081500 c8cbc3f1b9e3b3a1 00",
     {"header": h(0x8B00, 20, 5), "body": {"order_id": 101, "type": 0, "time": "261129081500",
                                            "description": "人民广场"}}),
    ("0x0B01 driver grabs the order", "0b01 0004 108000000316 0006  00000065",
     {"header": h(0x0B01, 4, 6), "body": {"order_id": 101}}),
    ("0x8B01 order assigned",
     "8b01 0032 108000000316 0007  00000065 00 261129081500 03f88e4e 00f857a4 03f89000 00f86000 0050"
     " 3133383030303030303030 00 c8cbc3f1b9e3b3a1 00",
     {"header": h(0x8B01, 50, 7), "body": {
         "order_id": 101, "type": 0, "time": "261129081500", "passenger_longitude": 0x3F88E4E,
         "passenger_latitude": 0xF857A4, "destination_longitude": 0x3F89000, "destination_latitude": 0xF86000,
         "fee": "0050", "passenger_phone": "13800000000", "description": "人民广场"}}),
    ("0x0B07 order completed", "0b07 0004 108000000316 0008  00000065",
     {"header": h(0x0B07, 4, 8), "body": {"order_id": 101}}),
    ("0x0B08 driver cancels", "0b08 0005 108000000316 0009  00000065 02",
     {"header": h(0x0B08, 5, 9), "body": {"order_id": 101, "reason": 2}}),
    ("0x8B09 centre cancels", "8b09 0004 108000000316 000a  00000065",
     {"header": h(0x8B09, 4, 10), "body": {"order_id": 101}}),
    ("0x8B0A centre confirms alarm", "8b0a 0000 108000000316 000b", {"header": h(0x8B0A, 0, 11), "body": {}}),
    ("0x8B0B centre releases alarm", "8b0b 0000 108000000316 000c", {"header": h(0x8B0B, 0, 12), "body": {}}),
    ("0x8300 text notice", "8300 000e 108000000316 000d  04 " + TEXT_GBK + " 00",
     {"header": h(0x8300, 14, 13), "body": {"flag": 4, "text": "请系好安全带"}}),
    # SmallChi JT905_0x8104: parameter ids (WORD) to the end of the body, no count
    ("0x8104 query given parameters", "8104 0006 108000000316 000e  0001 0025 0055",
     {"header": h(0x8104, 6, 14), "body": {"ids": [0x0001, 0x0025, 0x0055]}}),
    ("0x8104 query all parameters", "8104 0000 108000000316 000f", {"header": h(0x8104, 0, 15), "body": {"ids": []}}),
    # SmallChi JT905_0x0104: answer serial WORD, then id WORD, length BYTE, value, to the end (no count)
    ("0x0104 parameters reply", "0104 001b 108000000316 0010  000e 0001 04 0000001e 0025 04 0000000a"
     " 0013 08 31302e302e302e31",
     {"header": h(0x0104, 27, 16), "body": {"seq": 14, "params": [
         {"id": 0x0001, "value": 30}, {"id": 0x0025, "value": 10}, {"id": 0x0013, "value": "10.0.0.1"}]}}),
    ("0x8103 report intervals, speed limit (905 ids)",
     "8103 001d 108000000316 0011  04 0025 04 0000000f 0026 04 00000005 0028 04 00000002 0055 04 00000064",
     {"header": h(0x8103, 29, 17), "body": {"length": 4, "params": [
         {"id": 0x0025, "value": 15}, {"id": 0x0026, "value": 5}, {"id": 0x0028, "value": 2},
         {"id": 0x0055, "value": 100}]}}),
]


@pytest.mark.parametrize("name,payload,expected", GOLDEN_905, ids=[c[0] for c in GOLDEN_905])
def test_golden_905_frame(name, payload, expected):
    raw = frame(payload)
    assert decode(raw, "jt905") == expected
    assert encode(expected) == raw


def test_smallchi_device_location_frame():
    raw = bytes.fromhex("7E020000191080000003160000" "00000E00" "80000181" "00F857A4" "03F88E4E" "00AC" "6D"
                        "100101081347" "2D7E")
    message = decode(raw, "jt905")
    assert message["header"] == {"msg_id": 0x0200, "len": 25, "isu": "108000000316", "msg_sn": 0}
    body = message["body"]
    assert (body["speed"], body["direction"], body["time"]) == (172, 109, "100101081347")
    assert round(body["latitude"] / 600000, 4) == 27.1256  # 1/10,000 minute units
    assert encode(message) == raw


def test_smallchi_operation_data_with_meter_record():
    raw = bytes.fromhex(
        "7E0B05008310190019851300D90000000000000100011E8A720450B1360000B22307261941340000000000000300011E8A720450B136"
        "0000B223072619414335F53A400000000000000100000000414133333333000000000000000000000000000000003432313038333139"
        "383830393036303131580023072619411941000001056700000000000000800000000C00927E")
    body = decode(raw, "jt905")["body"]
    assert body["boarding"]["status"] == 0x100 and body["alighting"]["status"] == 0x300  # ACC; ACC + occupied
    assert body["order_id"] == 0
    meter = body["meter"]
    assert (meter["license_number"], meter["certificate"]) == ("AA3333", "42108319880906011X")
    assert (meter["boarding_time"], meter["alighting_time"]) == ("2307261941", "1941")
    assert (meter["distance"], meter["empty_distance"], meter["fare"], meter["trip_no"]) == \
        ("000001", "0567", "000080", 12)  # 0.1 km, 56.7 km, 8.0 yuan, trip 12 (as SmallChi's test reads it)
    assert encode(decode(raw, "jt905")) == raw


def test_smallchi_parameter_setting_frame():
    raw = bytes.fromhex("7E81030049012345678900000A090001040000000A0002040000000F001007313131313131310011073232"
                        "3232333232004B01090090043132323100910A30303030303030303030009406453333394B4B00AF02000A417E")
    body = decode(raw, "jt905")["body"]
    assert body["params"][:3] == [{"id": 1, "value": 10}, {"id": 2, "value": 15}, {"id": 0x10, "value": "1111111"}]
    assert encode(decode(raw, "jt905")) == raw


def test_unit_conversions_between_808_and_905():
    assert e6_to_905(22543096) == 13525858  # 22.543096 deg * 600000
    assert e6_from_905(13525858) == 22543097 or e6_from_905(13525858) == 22543096
    for value in (0, 1, 22543096, 114057865, 180000000):
        assert abs(e6_from_905(e6_to_905(value)) - value) <= 1


def test_a_905_parameter_query_without_ids_encodes_from_an_empty_body():
    assert encode({"header": {"msg_id": 0x8104, "isu": ISU, "msg_sn": 15}, "body": {}}) == \
        frame("8104 0000 108000000316 000f")


def test_smallchi_parameter_query_and_reply_frames():
    query = bytes.fromhex("7E81040010108000000316000000110012001300140015001600170018187E")
    assert decode(query, "jt905")["body"] == {"ids": [0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]}
    assert encode(decode(query, "jt905")) == query
    device_query = bytes.fromhex("7e8104000210010739502700000010cf7e")      # a device capture in its tests
    assert decode(device_query, "jt905")["body"] == {"ids": [0x0010]}
    reply = bytes.fromhex("7E0104004A012345678900000A00000001040000000A0002040000000F001007313131313131310011"
                          "0732323232333232004B01090090043132323100910A30303030303030303030009406453333394B4B00"
                          "AF02000ACC7E")
    body = decode(reply, "jt905")["body"]
    assert body["seq"] == 0 and body["params"][:3] == [{"id": 1, "value": 10}, {"id": 2, "value": 15},
                                                       {"id": 0x10, "value": "1111111"}]
    assert body["params"][-2] == {"id": 0x94, "value": "E339KK"} and len(body["params"]) == 9
    assert encode(decode(reply, "jt905")) == reply
