"""Golden frames written by hand from the standards' field tables (JT/T 808-2013 / 2019 and,
for JT/T 905, the open SmallChi/JT905 implementation), with the JSON each must give.

``frame()`` here is deliberately independent of the codec: XOR, escape, flags.
"""

from functools import reduce

PHONE = "013912345678"
PHONE19 = "00000000013912345678"
LOC_A_HEX = "00000000 00000002 0157faf8 06cc6289 000c 0000 0000 261121103000"
LOC_A = {"alarm": 0, "status": 2, "latitude": 22543096, "longitude": 114057865, "altitude": 12,
         "speed": 0, "direction": 0, "time": "261121103000"}
LOC_B_HEX = "00000000 00000002 0157faf9 06cc6289 000c 0000 0000 261121103001 300110"
LOC_B = dict(LOC_A, latitude=22543097, time="261121103001", extra={"rssi": 16})
TEXT_GBK = "c7ebcfb5bac3b0b2c8abb4f8"  # 请系好安全带


def frame(payload_hex: str) -> bytes:
    payload = bytes.fromhex("".join(payload_hex.split()))
    check = reduce(lambda a, b: a ^ b, payload, 0)
    raw = (payload + bytes((check,))).replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")
    return b"\x7e" + raw + b"\x7e"


def h13(msg_id: int, body_len: int, sn: int) -> dict:
    return {"msg_id": msg_id, "encrypt": 0, "len": body_len, "phone": PHONE, "msg_sn": sn}


def h19(msg_id: int, body_len: int, sn: int) -> dict:
    return {"msg_id": msg_id, "encrypt": 0, "len": body_len, "proto_ver": 1, "phone": PHONE19, "msg_sn": sn}


# (case name, payload hex = header + body, expected JSON)
GOLDEN_808 = [
    ("0x0001 terminal general reply",
     "0001 0005 013912345678 0001  0007 0200 00",
     {"header": h13(0x0001, 5, 1), "body": {"seq": 7, "id": 0x0200, "result": 0}}),
    ("0x8001 platform reply: not supported",
     "8001 0005 013912345678 0002  0001 0102 03",
     {"header": h13(0x8001, 5, 2), "body": {"seq": 1, "id": 0x0102, "result": 3}}),
    ("0x0002 heartbeat", "0002 0000 013912345678 0003", {"header": h13(2, 0, 3), "body": {}}),
    ("0x0003 deregistration", "0003 0000 013912345678 0004", {"header": h13(3, 0, 4), "body": {}}),
    ("0x0100 registration 2013",
     "0100 002d 013912345678 0000  002c 0133 5441584931 54542d313030" + "00" * 14
     + " 5430303031 0000 01 d4c1423132333435",
     {"header": h13(0x0100, 45, 0), "body": {"province": 44, "city": 307, "manufacture": "TAXI1",
                                              "model": "TT-100", "dev_id": "T0001", "color": 1,
                                              "license_number": "粤B12345"}}),
    ("0x0100 registration 2019",
     "0100 4054 01 00000000013912345678 0000  002c 0133 5441584931" + "00" * 6 + " 54542d313030" + "00" * 24
     + " 5430303031" + "00" * 25 + " 01 d4c1423132333435",
     {"header": h19(0x0100, 84, 0), "body": {"province": 44, "city": 307, "manufacture": "TAXI1",
                                              "model": "TT-100", "dev_id": "T0001", "color": 1,
                                              "license_number": "粤B12345"}}),
    ("0x8100 registration reply with auth code",
     "8100 000a 013912345678 0001  0005 00 41555448313233",
     {"header": h13(0x8100, 10, 1), "body": {"seq": 5, "result": 0, "auth_code": "AUTH123"}}),
    ("0x8100 registration refused: no auth code",
     "8100 0003 013912345678 0001  0005 03",
     {"header": h13(0x8100, 3, 1), "body": {"seq": 5, "result": 3}}),
    ("0x0102 authentication 2013",
     "0102 0007 013912345678 0006  41555448313233",
     {"header": h13(0x0102, 7, 6), "body": {"code": "AUTH123"}}),
    ("0x0102 authentication 2019",
     "0102 402b 01 00000000013912345678 0006  07 41555448313233 383630303030303030303030303031 312e322e30"
     + "00" * 15,
     {"header": h19(0x0102, 43, 6), "body": {"code_len": 7, "code": "AUTH123", "imei": "860000000000001",
                                              "sw_version": "1.2.0"}}),
    ("0x0200 location with additional items",
     "0200 0033 013912345678 0007  00000001 00000003 0157faf8 06cc6289 000c 0160 005a 261121103000"
     " 0104000004d2 0302015e 300114 310109 e102abcd 9901ff",
     {"header": h13(0x0200, 51, 7), "body": {
         "alarm": 1, "status": 3, "latitude": 22543096, "longitude": 114057865, "altitude": 12, "speed": 352,
         "direction": 90, "time": "261121103000",
         "extra": {"mileage": 1234, "speed": 350, "rssi": 20, "gnss_sat_num": 9, "custome": {"225": "q80="},
                   "153": "/w=="}}}),
    ("0x0704 batch location, blind-area resend",
     "0704 0042 013912345678 0008  0002 01 001c " + LOC_A_HEX + " 001f " + LOC_B_HEX,
     {"header": h13(0x0704, 66, 8), "body": {"length": 2, "type": 1, "location": [LOC_A, LOC_B]}}),
    ("0x0704 batch location, normal, with pulse speed (0x03) and satellites (0x31)",
     "0704 0028 013912345678 0015  0001 00 0023 " + LOC_A_HEX + " 0302015e 310109",
     {"header": h13(0x0704, 40, 21), "body": {"length": 1, "type": 0, "location": [
         dict(LOC_A, extra={"speed": 350, "gnss_sat_num": 9})]}}),
    ("0x8103 set parameters",
     "8103 0029 013912345678 0009  04 00000001 04 0000001e 00000013 08 31302e302e302e31"
     " 00000029 04 0000000a 00000055 04 00000078",
     {"header": h13(0x8103, 41, 9), "body": {"length": 4, "params": [
         {"id": 1, "value": 30}, {"id": 0x13, "value": "10.0.0.1"}, {"id": 0x29, "value": 10},
         {"id": 0x55, "value": 120}]}}),
    ("0x8104 query parameters", "8104 0000 013912345678 000a", {"header": h13(0x8104, 0, 10), "body": {}}),
    ("0x8106 query given parameters",
     "8106 0009 013912345678 000b  02 00000001 00000055",
     {"header": h13(0x8106, 9, 11), "body": {"length": 2, "ids": [1, 0x55]}}),
    ("0x0104 parameters reply",
     "0104 0015 013912345678 000c  0003 02 00000001 04 0000001e 00000027 04 0000003c",
     {"header": h13(0x0104, 21, 12), "body": {"seq": 3, "length": 2, "params": [
         {"id": 1, "value": 30}, {"id": 0x27, "value": 60}]}}),
    ("0x8201 location query", "8201 0000 013912345678 000d", {"header": h13(0x8201, 0, 13), "body": {}}),
    ("0x0201 location query reply",
     "0201 001e 013912345678 000e  0004 " + LOC_A_HEX,
     {"header": h13(0x0201, 30, 14), "body": {"seq": 4, "params": LOC_A}}),
    ("0x8202 temporary tracking",
     "8202 0006 013912345678 000f  000a 00000e10",
     {"header": h13(0x8202, 6, 15), "body": {"period": 10, "expiry": 3600}}),
    ("0x8203 manual alarm confirmation",
     "8203 0006 013912345678 0010  0009 00000001",
     {"header": h13(0x8203, 6, 16), "body": {"seq": 9, "type": 1}}),
    ("0x8300 text message 2013",
     "8300 000d 013912345678 0011  08 " + TEXT_GBK,
     {"header": h13(0x8300, 13, 17), "body": {"flag": 8, "text": "请系好安全带"}}),
    ("0x8300 text message 2019",
     "8300 400e 01 00000000013912345678 0011  08 01 " + TEXT_GBK,
     {"header": h19(0x8300, 14, 17), "body": {"flag": 8, "text_type": 1, "text": "请系好安全带"}}),
    ("0x8004 server time 2019",
     "8004 4006 01 00000000013912345678 0012  261128163000",
     {"header": h19(0x8004, 6, 18), "body": {"time": "261128163000"}}),
    ("0x8003 re-send request 2013",
     "8003 0007 013912345678 0013  0010 02 0002 0003",
     {"header": h13(0x8003, 7, 19), "body": {"seq": 16, "length": 2, "ids": [2, 3]}}),
    ("sub-package 1 of 2 (2013 header, 16 bytes)",
     "0200 2002 013912345678 0014 0002 0001  0000",
     {"header": dict(h13(0x0200, 2, 20), frag_total=2, frag_sn=1), "body": {"frag_data": "AAA="}}),
    ("heartbeat whose check byte is 0x7E (sent as 7D 02)",
     "0002 0000 013912345678 004c", {"header": h13(2, 0, 0x4C), "body": {}}),
    ("heartbeat whose check byte is 0x7D (sent as 7D 01)",
     "0002 0000 013912345678 004f", {"header": h13(2, 0, 0x4F), "body": {}}),
    ("0x8001 whose body holds 0x7E and 0x7D",
     "8001 0005 013912345678 0015  7e7d 0002 00",
     {"header": h13(0x8001, 5, 21), "body": {"seq": 0x7E7D, "id": 2, "result": 0}}),
]
