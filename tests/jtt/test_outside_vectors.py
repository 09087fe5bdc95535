"""Frames published with independent JT/T 808 / 905 implementations, run through our codec.

Each vector names the repository and file it comes from; the expected values are the ones
that implementation's own test asserts, written in our JSON (docs/jtt.md). Where a frame is
canonical our encode of the decoded message must give the same bytes back. Where we and the
other implementation differ, the comment says which one the standard (or the implementation
docs/jtt.md names as authority for JT/T 905) supports and why.

Some published frames were made with the check byte switched off (SmallChi's ``SkipCRCCode``);
those are used twice: as published (our strict check must refuse them) and with the check
recomputed by ``recheck`` (independent of the codec) to test the body.

Longer than 400 lines because it is a catalogue of published frames (most of its length is hex),
kept in one place so that each source can be checked against its repository at a glance.
"""

import pytest

from terminal.link.jtt import (BodyError, ChecksumError, HeaderError, JttError, StreamDecoder, decode,
                               decode_payload, encode)
from tests.jtt.golden import frame


def raw(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


def recheck(text: str) -> bytes:
    """A published frame whose check byte was not computed: undo escapes, recompute, redo."""
    data = raw(text)[1:-1].replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
    return frame(data[:-1].hex())


def roundtrip(data: bytes, protocol: str = "jt808") -> dict:
    message = decode(data, protocol)
    assert encode(message) == data
    return message


SIGNAL_OFF = {k: 0 for k in ("low_beam", "high_beam", "right_turn", "left_turn", "brake", "reverse", "fog",
                             "side_marker", "horn", "air_conditioner", "neutral", "retarder", "abs", "heater",
                             "cluth")}

# --- SmallChi/JT808 (C#): src/JT808.Protocol.Test/MessageBody/*.cs --------------------------------------

SMALLCHI_LOC = {"alarm": 1, "status": 2, "latitude": 12222222, "longitude": 132444444, "altitude": 40,
                "speed": 60, "direction": 0, "time": "180715101010"}


def test_smallchi_location_with_mileage_and_fuel():
    # JT808_0x0200Test.cs Test5
    m = roundtrip(raw("7E 02 00 00 26 11 22 33 44 55 66 22 B8 00 00 00 01 00 00 00 02 00 BA 7F 0E 07 E4 F1 1C"
                      " 00 28 00 3C 00 00 18 07 15 10 10 10 01 04 00 00 00 64 02 02 00 37 57 7E"))
    assert m["header"] == {"msg_id": 0x0200, "encrypt": 0, "len": 38, "phone": "112233445566", "msg_sn": 8888}
    assert m["body"] == dict(SMALLCHI_LOC, extra={"mileage": 100, "fuel_meter": 55})


def test_smallchi_location_whose_serial_and_fuel_are_escaped():
    # JT808_0x0200Test.cs Demo1/Demo2: serial 0x007E sent as 00 7D 02, fuel 0x007D as 00 7D 01
    m = roundtrip(raw("7E02000026123456789012007D02000000010000000200BA7F0E07E4F11C0028003C000018101510101001040000"
                      "00640202007D01137E"))
    assert m["header"]["msg_sn"] == 126 and m["header"]["phone"] == "123456789012"
    assert m["body"] == dict(SMALLCHI_LOC, time="181015101010", extra={"mileage": 100, "fuel_meter": 125})


def test_smallchi_device_location_with_signal_analog_rssi_and_satellites():
    # JT808_0x0200Test.cs Test6 (a device capture; 0x7D inside the mileage)
    m = roundtrip(raw("7E 02 00 00 3C 04 00 21 68 20 87 1D 0C 00 00 00 00 00 0C 00 C2 01 5B 6C 6E 06 C8 56 98 00"
                      " 1E 00 00 00 E0 18 09 16 10 35 37 01 04 00 05 4C 7D 01 02 02 00 00 03 02 00 00 25 04 00 00"
                      " 00 00 2B 04 00 00 00 00 30 01 1D 31 01 0D 97 7E"))
    assert m["body"]["status"] == 0x0C00C2 and m["body"]["direction"] == 224
    assert m["body"]["extra"] == {"mileage": 0x054C7D, "fuel_meter": 0, "speed": 0, "signal": SIGNAL_OFF,
                                  "analog": {"ad1": 0, "ad0": 0}, "rssi": 29, "gnss_sat_num": 13}


def test_smallchi_location_with_every_standard_item():
    # JT808_0x0200Test.cs Test_all_attcahids. SmallChi keeps 0x25 (23), 0x2A (0xF4), 0x2B (242) as
    # integers; we split them by the standard's bit numbers (0x25 bit 0 low beam, 0x2A bit 0 deep sleep,
    # bit 1 sleep, the rest reserved; 0x2B AD1 in the high word).
    m = roundtrip(raw("7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001040000"
                      "00640202003703020038040200011105010000000112060100000001011307000000020022012504000000172A"
                      "0200F42B04000000F2300102310105167E"))
    assert m["body"]["extra"] == {
        "mileage": 100, "fuel_meter": 55, "speed": 56, "alarm_id": 1,
        "overspeed_alarm": {"type": 1, "id": 1}, "in_out_alarm": {"type": 1, "id": 1, "direction": 1},
        "path_time_alarm": {"id": 2, "time": 34, "result": 1},
        "signal": dict(SIGNAL_OFF, low_beam=1, high_beam=1, right_turn=1, brake=1),
        "io_status": {"deep_sleep": 0, "sleep": 0, "reserved": 0xF4}, "analog": {"ad1": 0, "ad0": 242},
        "rssi": 2, "gnss_sat_num": 5}


TEST7 = ("7E020000520111111111100002000000000000000301789B3406238AFA0000018B00F62104020046090104000024C72B040B"
         "290B2930011731011B000400CE0B29000C00B222222222222222222222EB0E000C00B2222222222222222222226C7E")
TEST8 = ("7E020000850111111111110AA200000000000C000001F62E8307147C92001E0000001E110111031152010400131A340302"
         "0000050100060302059007030381202504000000002B04000000F0300117310105E0013DE108000000000004BCFDE204000"
         "00000E304000007ACE40400000000E50C001300270013002700130027EA0400000000EB0400000000EE0100F6041450E97E")


def test_smallchi_frames_made_without_a_check_byte_are_refused():
    # JT808_0x0200Test.cs Test7/Test8 run with SkipCRCCode: their check bytes are wrong, and the
    # standard (4.4.4 / 5.2) makes the XOR check part of every frame.
    for text in (TEST7, TEST8):
        with pytest.raises(ChecksumError):
            decode(raw(text))


def test_smallchi_location_with_the_same_item_id_twice_keeps_the_last():
    # Test7 ("坑爹,相同的": two items with id 0x00). Documented: a repeated id keeps the last one,
    # so the frame is not canonical for us (SmallChi keeps a list of the raw items).
    m = decode(recheck(TEST7))
    assert m["body"]["extra"] == {"mileage": 9415, "analog": {"ad1": 0x0B29, "ad0": 0x0B29}, "rssi": 23,
                                  "gnss_sat_num": 27, "0": "ALIiIiIiIiIiIiIi",
                                  "custome": {"235": "AAwAsiIiIiIiIiIiIiI="}}


def test_smallchi_location_whose_last_item_runs_past_the_body_is_a_body_error():
    # Test8: item 0xF6 announces 4 bytes, 2 are left. SmallChi puts it aside as "exception" data;
    # docs/jtt.md is strict here (a TLV item running past the body end), and the error is ours.
    with pytest.raises(BodyError):
        decode(recheck(TEST8))


def test_smallchi_registration_2013_and_2019():
    # JT808_0x0100Test.cs Test1_1 and Test2019_2: phone "123456789" is BCD 000123456789
    m13 = roundtrip(raw("7E0100002D000123456789000A002800323132333400736D616C6C6368693132330000000000000000004348"
                        "493132330001D4C14131323334358A7E"))
    body = {"province": 40, "city": 50, "manufacture": "1234", "model": "smallchi123", "dev_id": "CHI123",
            "color": 1, "license_number": "粤A12345"}
    assert m13["header"]["phone"] == "000123456789" and m13["body"] == body
    m19 = roundtrip(raw("7E010040540100000000000123456789000A00280032313233340000000000000073 6D616C6C636869313233"
                        "0000000000000000000000000000000000000043484931323300000000000000000000000000000000000000"
                        "000000000001D4C1413132333435B27E"))
    assert m19["header"] == {"msg_id": 0x0100, "encrypt": 0, "len": 84, "proto_ver": 1,
                             "phone": "00000000000123456789", "msg_sn": 10}
    assert m19["body"] == body


def test_smallchi_registration_2019_padded_with_ascii_zeros_is_kept_as_sent():
    # Test2019_4_2: an older SmallChi left-padded the fields with "0" characters; the test trims them
    # itself (TrimStart('0')). The standard pads with 0x00 on the right, so the zeros are content.
    m = roundtrip(raw("7e0100405401000000000222222222220001000000003030304b6f696b6530303230303030303030303030303030"
                      "3030303030303030304b6f696b65303032303030303030303030303030303030303030303030304b6f696b6530303202"
                      "d4c1413132333436107e"))
    assert m["header"]["phone"] == "00000000022222222222"
    assert m["body"]["manufacture"] == "000Koike002" and m["body"]["license_number"] == "粤A12346"


def test_smallchi_authentication_2013_and_2019():
    # JT808_0x0102Test.cs Test4 (frame) and Test2019_2 (body, put in a 2019 header of ours)
    m = roundtrip(raw("7E010200090123456789003039343536313231313131BE7E"))
    assert m["header"]["msg_sn"] == 12345 and m["body"] == {"code": "456121111"}
    body19 = "05343536313231323334353637383930616263646576322E302E300000000000000000000000000000"
    m19 = roundtrip(frame("0102 4029 01 00000000013812345678 0001 " + body19))
    assert m19["body"] == {"code_len": 5, "code": "45612", "imei": "1234567890abcde", "sw_version": "v2.0.0"}


@pytest.mark.parametrize("text,seq,result,code", [
    ("7E81000009012345678900000A006400313233343536687E", 100, 0, "123456"),
    ("7E81000003012345678900000A006404617E", 100, 4, None),          # no such terminal: no auth code
    ("7E81000013012345678900000A0064007A7373646166323331323473666473633B7E", 100, 0, "zssdaf23124sfdsc"),
], ids=["ok", "refused", "long-code"])
def test_smallchi_registration_replies(text, seq, result, code):
    # JT808_0x8100Test.cs Test2/Test4/Test6
    m = roundtrip(raw(text))
    expected = {"seq": seq, "result": result}
    if code is not None:
        expected["auth_code"] = code
    assert m["body"] == expected and m["header"]["msg_sn"] == 10


def test_smallchi_general_replies_and_text():
    # JT808_0x0001Test.cs, JT808_0x8001Test.cs, JT808_0x8300Test.cs (2013 and 2019)
    assert roundtrip(raw("7E0001000501234567890004B303E8000200D37E"))["body"] == {"seq": 1000, "id": 2, "result": 0}
    assert roundtrip(raw("7E80010005012345678900000A0064020000617E"))["body"] == {"seq": 100, "id": 0x0200,
                                                                                 "result": 0}
    assert roundtrip(raw("7E8300000D012345678900000105736D616C6C63686920353138027E"))["body"] == \
        {"flag": 5, "text": "smallchi 518"}
    assert roundtrip(raw("7E8300400E010000000001234567890000010501736D616C6C63686920353138417E"))["body"] == \
        {"flag": 5, "text_type": 1, "text": "smallchi 518"}


def test_smallchi_location_query_reply_and_resend_requests():
    # JT808_0x0201Test.cs Test2; JT808_0x8003Test.cs / JT808_0x0005Test.cs bodies (in headers of ours)
    m = roundtrip(raw("7E0201002811223344556622B83039000000010000000200BA7F0E07E4F11C0028003C000018071510101001040000"
                      "006402020037517E"))
    assert m["body"] == {"seq": 12345, "params": dict(SMALLCHI_LOC, extra={"mileage": 100, "fuel_meter": 55})}
    assert roundtrip(frame("8003 0007 013812345678 0001 04D20201020203"))["body"] == \
        {"seq": 1234, "length": 2, "ids": [0x0102, 0x0203]}             # 2013: count BYTE
    # SmallChi writes 0x0005's count as a BYTE; JT/T 808-2019 8.7 (and EMQX, xtream-codec, our 0x0005)
    # have a WORD, so its body read as 2019 announces 0x0201 packages and is a body error.
    with pytest.raises(BodyError):
        decode(frame("0005 4007 01 00000000013812345678 0001 04D20201020203"))
    assert roundtrip(frame("8004 4006 01 00000000013812345678 0002 191126155850"))["body"] == {"time": "191126155850"}


def test_smallchi_batch_location():
    # JT808_0x0704Test.cs Test2
    m = roundtrip(raw("7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C00001807151010"
                      "10010400000064020200370026000000020000000100CB735507E6A32300290036007818071510103001040000"
                      "006002020042D47E"))
    assert m["body"] == {"length": 2, "type": 0, "location": [
        dict(SMALLCHI_LOC, extra={"mileage": 100, "fuel_meter": 55}),
        {"alarm": 2, "status": 1, "latitude": 13333333, "longitude": 132555555, "altitude": 41, "speed": 54,
         "direction": 120, "time": "180715101030", "extra": {"mileage": 96, "fuel_meter": 66}}]}


def test_smallchi_device_batch_whose_header_length_is_wrong_is_a_header_error():
    # JT808_0x0704Test.cs Test4 ("ErrorRemainPositions", made with SkipCRCCode): the header says 473
    # body bytes, the frame carries 469. The standard's body length is exact; we refuse the frame.
    text = ("7E070401D90111111111118D1F00020100E90000000000000003016550E2060E84A8056402B20064200603172833010400"
            "054576030202B2EA5A00030507020F226300040503012A9198000504002469400006040035FF1E00070400085228001"
            "00E000400FA00BC00A500B000A202B2001202011B00130100001401190015020000001601F000170203D20018010F00"
            "19020047EC6560C00204F760D001456050017860F0015150B002005C6330015564600151649001005001010050020100"
            "500301005101017D01510201835104020FA6510501725106026E685107023A80510802FFFF510A0103510C0155510D04"
            "00000000511101025112010000E900000003016550BA060E8620056302BC005E200603172835010400054577030202BC"
            "EA5A00030507020F22AE00040503012A9198000504002469420006040035FF1E0007040008522800100E000400FA0089"
            "0083008A009602BC001202011B00130100001401190015020000001601F000170203D20018010E0019020048EC6560C0"
            "02050260D001466050017860F0015150B002005C6330015564600151649001005001010050020100500301005101017D"
            "01510201835104020FA65105017251060273185107023A60510802FFFF510A0103510C0155510D04000000005111010251"
            "120100807E")
    with pytest.raises(HeaderError):
        decode(recheck(text))


def test_smallchi_parameters():
    # JT808_0x8103Test.cs Test1_1 / Test4_2, JT808_0x0104Test.cs Test1_1 / Test2_1 / Test2_2
    assert roundtrip(raw("7E8103000A000123456789000A0100000001040000000A057E"))["body"] == \
        {"length": 1, "params": [{"id": 1, "value": 10}]}
    # 0x0110 (CAN ID collection, BYTE[8]) has no scalar type: kept as base64
    assert roundtrip(raw("7e8103000e0135123443213039010000011008ffffffffffffffffed7E"))["body"]["params"] == \
        [{"id": 0x0110, "value": "//////////8="}]
    assert roundtrip(raw("7E0104000C000123456789000A00140100000001040000000A907E"))["body"] == \
        {"seq": 20, "length": 1, "params": [{"id": 1, "value": 10}]}
    assert roundtrip(raw("7E0104001E000123456789000A00140200000001040000000A000000130D7777772E62616964752E636F6DF2"
                         "7E"))["body"]["params"] == [{"id": 1, "value": 10}, {"id": 0x13, "value": "www.baidu.com"}]
    device = roundtrip(raw(
        "7E010400C604052458039503D800020100000077BE09010101002D1400000064000500141400000320001F020101002D0F00"
        "000064000500191900000840001F030101002D0F00000064000500191900000840001F040101002D0F0000006400050019"
        "1900000840001F050101002D0F00000064010500191900000840001F060101002D0F00000064000500191900000840001F"
        "070101002D0F000000640103001919000004CE001F080101002D0F00000064000500191900000840001F090101000F0F00"
        "0000C8010500191900000400001F127E"))
    assert device["header"]["phone"] == "040524580395" and device["header"]["msg_sn"] == 0x03D8
    assert device["body"]["seq"] == 2 and device["body"]["params"][0]["id"] == 0x0077   # JT/T 1078 id: base64


PACKAGE_0801 = (
    "7e080123240138123456782031000a00010000271d0000010100000000000c200301d2400a063296a501e1000000001901040929"
    "52ffd8ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504"
    "040000017d0101020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a2526"
    "2728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92"
    "939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8"
    "e9eaf1f2f3f4f5f6f7f8f9faffc4001f0100030101010101010101010000000000000102030405060708090a0bffc400b5110002"
    "0102040403040705040400010277000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a16"
    "2434e125f11718191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778797a"
    "82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8"
    "d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d"
    "1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffdb0043010909090c0b0c180d0d18"
    "32211c21323232323232323232323232323232323232323232323232323232323232323232323232323232323232323232323232"
    "3232fffe000b4750456e636f646572ffdb0043000d090a0b0a080d0b0a0b0e0e0d0f13201513121213271c1e17202e2931302e29"
    "2d2c333a4a3e333646372c2d405741464c4e525352323e5a615a50604a51524fffdb0043010e0e0e131113261515264f352d354f"
    "4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4fffc000"
    "110800f0014003012100021101031101ffc4001f000001050101010101010000000000000000010203041c7e")


def test_smallchi_first_package_of_a_multimedia_upload():
    # JT808_0x0801Test.cs Package1 (SkipCRCCode): package 1 of 10 of a JPEG, a 16-byte 2013 header
    m = decode(recheck(PACKAGE_0801))
    assert m["header"] == {"msg_id": 0x0801, "encrypt": 0, "len": 804, "phone": "013812345678", "msg_sn": 0x2031,
                           "frag_total": 10, "frag_sn": 1}
    assert encode(m) == recheck(PACKAGE_0801)


# --- emqx/emqx: apps/emqx_gateway_jt808/test/emqx_jt808_parser_SUITE.erl ---------------------------------
# EMQX's gateway reads 0x25 and 0x2A from the most significant bit; with all bits 0 (as here) the
# maps are the same. Its JSON keys are the ones we follow (docs/jtt.md).

def test_emqx_location_report():
    # t_case04_MC_LOCATION_REPORT
    m = roundtrip(raw("7e0200003c01887663897200e5000000000004000001317a6706936851000e00000027171019193538010400003f"
                      "b2030200002504000000002a0200002b040000000030011f310100ab7e"))
    assert m == {"header": {"msg_id": 512, "encrypt": 0, "len": 60, "phone": "018876638972", "msg_sn": 229},
                 "body": {"alarm": 0, "status": 262144, "latitude": 20019815, "longitude": 110323793,
                          "altitude": 14, "speed": 0, "direction": 39, "time": "171019193538",
                          "extra": {"mileage": 16306, "speed": 0, "signal": SIGNAL_OFF,
                                    "io_status": {"deep_sleep": 0, "sleep": 0}, "analog": {"ad0": 0, "ad1": 0},
                                    "rssi": 31, "gnss_sat_num": 0}}}


def test_emqx_bulk_location_report():
    # t_case05_MC_BULK_LOCATION_REPORT: five blind-area positions
    m = roundtrip(raw(
        "7e0704013901887663897200e7000501003c00000000000400030131732b0691d351001f00a600ab170831104933010400"
        "003c55030200002504000000002a0200002b040000000030010031010c003c00000000000400030131724a0691d402001d"
        "00de007d02170831104938010400003c55030200002504000000002a0200002b040000000030010031010c003c00000000"
        "0004000301316dde0691e150002501a9006d170831105011010400003c59030200002504000000002a0200002b04000000"
        "0030010031010c003c000000000004000301315aeb06920018002b02880072170831105111010400003c63030200002504"
        "000000002a0200002b040000000030010031010c003c000000000004000301315b7806922b15002b02f70053170831105214"
        "010400003c6f030200002504000000002a0200002b040000000030010031010c847e"))
    body = m["body"]
    assert m["header"]["len"] == 313 and body["length"] == 5 and body["type"] == 1
    assert [(p["latitude"], p["speed"], p["direction"], p["time"], p["extra"]["mileage"])
            for p in body["location"]] == [
        (20017963, 166, 171, "170831104933", 15445), (20017738, 222, 126, "170831104938", 15445),
        (20016606, 425, 109, "170831105011", 15449), (20011755, 648, 114, "170831105111", 15459),
        (20011896, 759, 83, "170831105214", 15471)]
    assert {p["extra"]["gnss_sat_num"] for p in body["location"]} == {12}


def test_emqx_location_with_a_custom_item():
    # t_case14_custome_location_data: item 0xEB goes under "custome" by its decimal id
    m = roundtrip(raw("7e02000040014148073550036a000000000000000101c3e81606590a10000000000000210622091545010400000000"
                      "30011731010aeb16000c00b28986044219199093479900060089ffffffff247e"))
    assert m["body"]["extra"] == {"mileage": 0, "rssi": 23, "gnss_sat_num": 10,
                                  "custome": {"235": "AAwAsomGBEIZGZCTR5kABgCJ/////w=="}}


def test_emqx_parameter_reply_with_vendor_parameters():
    # t_case15_custome_client_query_ack: 52 parameters, many vendor ids (0xF001...) kept as base64;
    # 0x0083 (plate) with length 0 is an empty string
    m = roundtrip(raw(
        "7e010402114ef480128919002b002a340000000104000000b400000008040000012c0000001005636d6e6574000000110000"
        "00001200000000130c34372e39392e39382e3235340000001707302e302e302e30000000180400001ff90000002004000000"
        "0000000027040000001e00000029040000001e00000030040000001400000040010000000043010000000044010000000045"
        "04000000000000004801000000004901000000005504000000780000005604000000140000005d02001e0000008004000088"
        "cb000000810200000000008202000000000083000000008401000000f0010210000000f0020203390000f00301290000f004"
        "0200740000f0050400356f7f0000f00604000333120000f00701010000f00802001e0000f00a02001e0000f00b06000000"
        "0000000000f00c01010000f00d12757067726164652e637073646e612e636f6d0000f00e0400007b280000f00f01010000"
        "f010030010030000f0110200200000f012030016280000f01304001119200000f0140337000a0000f01501320000f01602"
        "03190000f017021e320000f01815302c302c35382e3231352e35302e35302c363030380000f10101a00000f10201820000"
        "ff945d0e16013839383630343935313032313730333034353538110234363030383135383334303435353804030001030500"
        "030600030700050803000105080e000005080f00000508290000050830000005082a000005082b000005080400008a7e"))
    params = {p["id"]: p["value"] for p in m["body"]["params"]}
    assert m["header"]["phone"] == "4ef480128919"      # not BCD digits: kept as hex, as sent
    assert m["body"]["length"] == 52 and len(m["body"]["params"]) == 52
    assert (params[0x0001], params[0x0013], params[0x0018], params[0x0055], params[0x0083]) == \
        (180, "47.99.98.254", 8185, 120, "")
    assert params[0xF00D] == "dXBncmFkZS5jcHNkbmEuY29t"


def test_emqx_suite_location_report_and_registration():
    # emqx_jt808_SUITE.erl location_report() and client_regi_procedure(): bodies the suite builds
    # field by field, with the JSON it expects (put in 2013 headers of ours)
    body = ("00000002 00000003 000003e8 000003e9 07d0 0087 0020 171022111553 0104 0000305b 0202 03cc 0302 001d"
            " 0402 0012 1105 02 0000001d 1206 08 00000017 59 1307 0000002d 0015 01")
    m = roundtrip(frame("0200 0046 000123456789 004e " + body))
    assert m["body"] == {
        "alarm": 2, "status": 3, "latitude": 1000, "longitude": 1001, "altitude": 2000, "speed": 135,
        "direction": 32, "time": "171022111553",
        "extra": {"mileage": 12379, "fuel_meter": 972, "speed": 29, "alarm_id": 18,
                  "overspeed_alarm": {"type": 2, "id": 29}, "in_out_alarm": {"type": 8, "id": 23, "direction": 89},
                  "path_time_alarm": {"id": 45, "time": 21, "result": 1}}}
    registration = "003a 003b 6578616d70 " + "33" * 17 + "000000 31323334353600 03 756a766c323339"
    m = roundtrip(frame("0100 002c 000123456789 004e " + registration))
    assert m["body"] == {"province": 58, "city": 59, "manufacture": "examp", "model": "3" * 17, "dev_id": "123456",
                         "color": 3, "license_number": "ujvl239"}


# --- cuteLittleDevil/go-jt808 (Go): protocol/model/parse_test.go, reply_test.go, --------------------------
# --- t_0x0200_addition_test.go ------------------------------------------------------------------------------

GO_LOC = {"alarm": 1024, "status": 2048, "latitude": 116307629, "longitude": 40058359, "altitude": 312,
          "speed": 3, "direction": 99, "time": "200707192359"}
GO_ITEMS_HEX = ("01040000000b02020016030200210402002c051e3737370000000000000000000000000000000000000000000000000000"
                "001105420000004212064d0000004d4d1307000000580058582504000000632a02000a2b040000001430011e310128")
GO_ITEMS = {"mileage": 11, "fuel_meter": 22, "speed": 33, "alarm_id": 44,
            "overspeed_alarm": {"type": 0x42, "id": 0x42}, "in_out_alarm": {"type": 0x4D, "id": 0x4D, "direction": 0x4D},
            "path_time_alarm": {"id": 0x58, "time": 0x58, "result": 0x58},
            "signal": dict(SIGNAL_OFF, low_beam=1, high_beam=1, reverse=1, fog=1),
            "io_status": {"deep_sleep": 0, "sleep": 1, "reserved": 8}, "analog": {"ad1": 0, "ad0": 20},
            "rssi": 30, "gnss_sat_num": 40}
TIRE = "Nzc3AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"   # 0x05, 30 bytes "777" + NULs


@pytest.mark.parametrize("text,body", [
    ("7e000100050123456789017fff007b01c803bd7e", {"seq": 123, "id": 456, "result": 3}),
    ("7e8001000501234567890100007fff0002008e7e", {"seq": 32767, "id": 2, "result": 0}),
    ("7e8100000e01234567890100000000003132333435363738393031377e", {"seq": 0, "result": 0, "auth_code": "12345678901"}),
    ("7e0002000001234567890100008a7e", {}),
    ("7e0102000b01234567890100003137323939383431373338b57e", {"code": "17299841738"}),
    ("7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435332e372e31350000"
     "000000000000000000000000227e",
     {"code_len": 11, "code": "17299841738", "imei": "123456789012345", "sw_version": "3.7.15"}),
    ("7e0100002c0123456789010000001f007363640000007777772e3830382e636f6d0000000000000000003736353433323101b2e24131"
     "323334cc7e",
     {"province": 31, "city": 115, "manufacture": "cd", "model": "www.808.com", "dev_id": "7654321", "color": 1,
      "license_number": "测A1234"}),
    ("7e0100405301000000000172998417380000001f007363640000000000000000007777772e3830382e636f6d000000000000000000"
     "0000000000000000000037363534333231000000000000000000000000000000000000000000000001b2e241313233343b7e",
     {"province": 31, "city": 115, "manufacture": "cd", "model": "www.808.com", "dev_id": "7654321", "color": 1,
      "license_number": "测A1234"}),
    ("7e0200001c0123456789010000000004000000080007203b7d0202633df70138000300632410012359591c7e",
     dict(GO_LOC, latitude=119552894, time="241001235959")),
    ("7e0704003f0123456789010000000200001c000004000000080007203b7d0202633df7013800030063241001235959001c00000400"
     "0000080007203b7d0202633df7013800030063241001235959b67e",
     {"length": 2, "type": 0, "location": [dict(GO_LOC, latitude=119552894, time="241001235959")] * 2}),
    ("7e800300150123456789017fff1099090001000200030004000500060007000800091f7e",
     {"seq": 0x1099, "length": 9, "ids": list(range(1, 10))}),
    ("7e8104400001000000000144199999990003027e", {}),
    ("7e000240000100000000017299841738ffff027e", {}),
    ("7e8100400e010000000001729984173800000000003137323939383431373338ba7e",
     {"seq": 0, "result": 0, "auth_code": "17299841738"}),
], ids=["0001", "8001", "8100", "0002", "0102-2013", "0102-2019", "0100-2013", "0100-2019", "0200", "0704",
        "8003", "8104-2019", "0002-2019", "8100-2019"])
def test_go_jt808_frames(text, body):
    assert roundtrip(raw(text))["body"] == body


def test_go_jt808_location_2019_with_every_item():
    # reply_test.go T0x0200 msg2019: in 2019, 0x05 is tire pressure
    m = roundtrip(raw("7e0200407c0100000000017299841738ffff000004000000080006eeb6ad02633df70138000300632007071923590104"
                      "0000000b02020016030200210402002c051e37373700000000000000000000000000000000000000000000000000"
                      "00001105420000004212064d0000004d4d1307000000580058582504000000632a02000a2b040000001430011e31"
                      "0128637e"))
    assert m["header"]["proto_ver"] == 1 and m["header"]["phone"] == "00000000017299841738"
    items = dict(GO_ITEMS)
    items["tire_pressure"] = TIRE
    assert m["body"] == dict(GO_LOC, extra=items)


def test_go_jt808_batch_2019():
    m = roundtrip(raw("7e0704405d0100000000017299841738ffff000301001c000004000000080006eeb6ad02633df7013800030063"
                      "200707192359001c000004000000080006eeb6ad02633df7013800030063200707192359001c00000400000008"
                      "0006eeb6ad02633df70138000300632007071923590e7e"))
    assert m["body"] == {"length": 3, "type": 1, "location": [GO_LOC] * 3}


def test_go_jt808_batch_announcing_more_items_than_it_holds_is_a_body_error():
    # parse_test.go TestT0x0704Parse: count 3, two items and 14 stray bytes (go-jt808: ErrBodyLengthInconsistency)
    with pytest.raises(BodyError):
        decode(raw("7e070400610123456789017fff000301001c000004000000080006eeb6ad02633df7013800030063200707192359001c"
                   "000004000000080006eeb6ad02633df70138000300632007071923590020000004000000080006eeb6ad02633df7013800"
                   "03006320070719235902010012177e"))


@pytest.mark.parametrize("text", [
    # t_0x0200_addition_test.go: "body达不到数据预期长度" (item 0x33 announces 3 bytes, 1 left)
    "7E0200007F0123456789017FFF000004000000080006EEB6AD02633DF701380003006320070719235901040000000B02020016030200"
    "210402002C051E3737370000000000000000000000000000000000000000000000000000001105420000004212064D0000004D4D1307"
    "000000580058582504000000632A02000A2B040000001430011E310128330301597E",
    # "缺失数据 如只有id 没有剩下的长度数据" (an item id without its length byte)
    "7E0200007D010123456789017FFF000004000000080006EEB6AD02633DF701380003006320070719235901040000000B020200160302"
    "00210402002C051E3737370000000000000000000000000000000000000000000000000000001105420000004212064D0000004D4D13"
    "070000005800585825040000FFFF2A02000B2B040000001430011E310128333B7E",
], ids=["item-past-end", "id-without-length"])
def test_go_jt808_location_items_that_run_past_the_body_are_body_errors(text):
    with pytest.raises(BodyError):
        decode(raw(text))


def test_go_jt808_location_with_an_item_shorter_than_its_type_keeps_it_raw():
    # "错误的数据 和协议规定的长度不符合": 0x11 with length 0. go-jt808 refuses the body; docs/jtt.md
    # keeps an item whose length does not fit its type as base64 under its id (lossless, lenient).
    m = roundtrip(raw("7E0200007A0123456789017FFF000004000000080006EEB6AD02633DF701380003006320070719235901040000000B"
                      "02020016030200210402002C051E373737000000000000000000000000000000000000000000000000000000110012"
                      "064D0000004D4D1307000000580058582504000000632A02000A2B040000001430011E3101283301207A7E"))
    assert m["body"]["extra"]["17"] == "" and m["body"]["extra"]["51"] == "IA=="


def test_go_jt808_parameter_reply_2019():
    # reply_test.go T0x0104 msg2019: 91 parameters, 930 body bytes
    m = roundtrip(raw(GO_0104))
    params = {p["id"]: p["value"] for p in m["body"]["params"]}
    assert m["body"]["seq"] == 4 and m["body"]["length"] == 91 == len(m["body"]["params"])
    assert (params[0x0013], params[0x001B], params[0x0031], params[0x0083], params[0x0084]) == \
        ("127.0.0.1:7000", 1111, 60, "京AX0001", 1)


GO_0104 = (
    "7E010443A20100000000014419999999000500045B00000001040000000A00000002040000003C0000000304000000020000000404"
    "0000003C00000005040000000200000006040000003C000000070400000002000000100B3133303132333435363730000000110531"
    "323334350000001205313233343500000013 0E3132372E302E302E313A37303030000000140531323334350000001505313233343500"
    "000016053132333435000000170531323334350000001A093132372E302E302E310000001B04000004570000001C04000004580000"
    "001D093132372E302E302E3100000020040000000000000021040000000000000022040000000000000023013000000024013000"
    "00002501300000002601300000002704000000000000002804000000000000002904000000000000002C04000003E80000002D04"
    "000003E80000002E04000003E80000002F04000003E800000030040000000A0000003102003C000000320416320A1E000000400B"
    "3133303132333435363731000000410B3133303132333435363732000000420B3133303132333435363733000000430B31333031"
    "32333435363734000000440B3133303132333435363735000000450400000001000000460400000000000000470400000000000000"
    "480B3133303132333435363738000000490B3133303132333435363739000000500400000000000000510400000000000000520400"
    "00000000000053040000000000000054040000000000000055040000003C000000560400000014000000570400003840000000580400"
    "000708000000590400001C200000005A040000012C0000005B0200500000005C0200050000005D02000A0000005E02001E0000006404"
    "0000000100000065040000000100000070040000000100000071040000006F00000072040000007000000073040000007100000074"
    "0400000072000000751500030190320000002800030190320000002800050100000076130400000101000002020000030300000404"
    "000000000077160101000301F43200000028000301F43200000028000500000079032808010000007A04000000230000007B023232"
    "0000007C1405000000000000000000000000000000000000000000008004000000240000008102000B000000820200660000008308BE"
    "A9415830303031000000840101000000900102000000910101000000920101000000930400000001000000940100000000950400000"
    "001000001000400000064000001010213880000010204000000640000010302138800000110080000000000000101F07E")


# --- makeclan/xtream-codec (Java, hylexus's codec): debug/jt/jt-808-server-spring-boot-starter-debug-ui/ ----
# --- src/utils/codec-utils.ts (hex frames with the JSON its decoder gives) -------------------------------------

XT = {"alarm": 1, "status": 1, "latitude": 31000562, "longitude": 121451372, "altitude": 666, "speed": 33,
      "direction": 89, "time": "241029213903"}


@pytest.mark.parametrize("text,body", [
    ("7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a00210059241029213903001c00"
     "0000010000000101d907f3073d336d03090043005a241029213903f87e",
     {"length": 2, "type": 0, "location": [XT, dict(XT, latitude=31000563, longitude=121451373, altitude=777,
                                                     speed=67, direction=90)]}),
    ("7e0005400a01000000000139123443290000006f0003000200030004537e", {"seq": 111, "length": 3, "ids": [2, 3, 4]}),
    ("7e08004008010000000001391234432900000000006f0000077b267e",
     {"id": 111, "type": 0, "format": 0, "event": 7, "channel": 123}),
    ("7e08014029010000000001391234432900000000006f0000077b000000010000000201d907f2073d336c0064003c004e141021195109"
     "01020304053e7e",
     {"id": 111, "type": 0, "format": 0, "event": 7, "channel": 123, "multimedia": "AQIDBAU=",
      "location": {"alarm": 1, "status": 2, "latitude": 31000562, "longitude": 121451372, "altitude": 100,
                   "speed": 60, "direction": 78, "time": "141021195109"}}),
    ("7e8001400501000000000139123443290000006f020000dc7e", {"seq": 111, "id": 0x0200, "result": 0}),
    ("7e8001400501000000000139123443290000007b020001c97e", {"seq": 123, "id": 0x0200, "result": 1}),
    ("7e800300090139123443230000006f030002000300049d7e", {"seq": 111, "length": 3, "ids": [2, 3, 4]}),   # 2013: BYTE
    ("7e8003400a01000000000139123443290000006f0003000200030004d57e", {"seq": 111, "length": 3, "ids": [2, 3, 4]}),
    ("7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e",
     {"seq": 111, "result": 0, "auth_code": "ok..ok..ok"}),
    ("7e8104400001000000000139123443290000b07e", {}),
    ("7e8106400901000000000139123443290000020000000100000002ba7e", {"length": 2, "ids": [1, 2]}),
    ("7e8201400001000000000139123443290000b67e", {}),
    ("7e8202400601000000000139123443290000001e000003e8467e", {"period": 30, "expiry": 1000}),
    ("7e8203400601000000000139123443290000014110200000c27e", {"seq": 321, "type": 270532608}),
    ("7e8204400001000000000139123443290000b37e", {}),
    ("7e8300001901391234432300000148656c6c6f576f726c6420babad7d62047424b20b1e0c2ebf27e",
     {"flag": 1, "text": "HelloWorld 汉字 GBK 编码"}),
    ("7e8300401a01000000000139123443290000010148656c6c6f576f726c6420babad7d62047424b20b1e0c2ebbb7e",
     {"flag": 1, "text_type": 1, "text": "HelloWorld 汉字 GBK 编码"}),
    # xtream's JSON lists the re-send ids as the four bytes [1, 2, 3, 4]; JT/T 808-2013 8.55 makes each
    # package id a WORD, so the two ids are 0x0102 and 0x0304 (the bytes are the same)
    ("7e88004009010000000001391234432900000000000b0201020304b97e", {"mm_id": 11, "length": 2, "retx_ids": [258, 772]}),
    ("7e0002400001000000000139123443290000377e", {}),
], ids=["0704", "0005", "0800", "0801", "8001", "8001-failed", "8003-2013", "8003-2019", "8100", "8104", "8106",
        "8201", "8202", "8203", "8204", "8300-2013", "8300-2019", "8800", "0002"])
def test_xtream_codec_frames(text, body):
    assert roundtrip(raw(text))["body"] == body


def test_xtream_codec_server_time_is_bcd_utc():
    # BuiltinMessage8004: the frame carries BCD 241003155106 (the mock JSON beside it is another time)
    assert roundtrip(raw("7e8004400601000000000139123443290000241003155106c27e"))["body"] == {"time": "241003155106"}


def test_xtream_codec_location_with_a_jt1078_item_keeps_it_raw():
    # BuiltinMessage0200Sample2: items 0x01-0x04, 0x25, 0x30, 0x12, 0x13, 0x31 and 0x64 (an ADAS
    # item of the active-safety extension, not JT/T 808: base64 under "100")
    m = roundtrip(raw("7e0200407c010000000001391234432900000000007b000000de01d907f2073d336c029a004e00001410211951090104"
                      "0000006f020200de0302029a0402014d2504000003093001211206010000000001130700000001000000310137642f00"
                      "0000dedf6f03420b0c0d0e0f04d201d907f2073d336c1410211951090001313233343536371410211951090101008e7e"))
    extra = m["body"]["extra"]
    assert (extra["mileage"], extra["fuel_meter"], extra["speed"], extra["alarm_id"], extra["rssi"]) == \
        (111, 222, 666, 333, 33)
    assert extra["signal"] == dict(SIGNAL_OFF, low_beam=1, left_turn=1, horn=1, air_conditioner=1)
    assert extra["in_out_alarm"] == {"type": 1, "id": 0, "direction": 1} and extra["gnss_sat_num"] == 55
    assert set(extra) - set(EXTRA_KEYS) == {"100"}


EXTRA_KEYS = ("mileage", "fuel_meter", "speed", "alarm_id", "signal", "rssi", "in_out_alarm", "path_time_alarm",
              "gnss_sat_num")


def test_a_session_registers_and_authenticates_with_outside_platform_frames():
    # go-jt808's 0x8100 (reply_test.go, seq 0, auth code "12345678901") and xtream's 2019 0x8100 drive
    # our session: the code is stored and sent in 0x0102 (2019: with IMEI and software version)
    from terminal.link.jtt.session import Session
    registration = {"province": 31, "city": 115, "manufacture": "cd", "model": "www.808.com", "dev_id": "7654321",
                    "color": 1, "license_number": "测A1234"}
    session = Session("012345678901", registration)
    (register,) = [a[1] for a in session.connected(0) if a[0] == "send"]
    assert register["header"]["msg_sn"] == 0
    actions = session.receive(decode(raw("7e8100000e01234567890100000000003132333435363738393031377e")), 10)
    assert actions[0] == ("auth_code", "12345678901") and actions[1][1]["body"] == {"code": "12345678901"}
    session19 = Session("00000000013912344329", registration, proto_ver=1, imei="123456789012345",
                        sw_version="3.7.15")
    for _ in range(111):
        session19.next_sn()                         # xtream's reply answers serial 111
    session19.connected(0)
    actions = session19.receive(decode(raw("7e8100400d01000000000139123443290000006f006f6b2e2e6f6b2e2e6f6bd27e")), 10)
    auth = actions[1][1]
    assert decode(encode(auth))["body"] == {"code_len": 10, "code": "ok..ok..ok", "imei": "123456789012345",
                                             "sw_version": "3.7.15"}


# --- hylexus/jt-framework (Java): jt-808-server-support/src/test/java/.../builtin/msg/req/ ---------------

def test_jt_framework_registration_2011_and_2019():
    # BuiltinMsg0100Test.java hex2011 / hex2019 (asserted values as the test's)
    m = roundtrip(raw("7E01000023013912344321007B000B0002696431323361626364656667684944313233343501B8CA4A2D31323334"
                      "3531317E"))
    assert m["body"] == {"province": 11, "city": 2, "manufacture": "id123", "model": "abcdefgh", "dev_id": "ID12345",
                         "color": 1, "license_number": "甘J-123451", "version": 2011}
    m = roundtrip(raw("7E010040560100000000013912344329007B000B00026964393837363534333231747970653030313233343536373831"
                      "32333435363738383736353433323149443030303031323334353637383132333435363738383736353433323101B8"
                      "CA4A2D313233343539257E"))
    assert m["body"] == {"province": 11, "city": 2, "manufacture": "id987654321",
                         "model": "type00123456781234567887654321", "dev_id": "ID0000123456781234567887654321",
                         "color": 1, "license_number": "甘J-123459"}


def test_jt_framework_location_2019_with_tire_pressure_and_carriage_temperature():
    # BuiltinMsg0200V2Test.java: a 2019 location with 0x05 (30 bytes), 0x06 (30 degrees C), 0x11 of
    # length 1 and an active-safety item 0x64 (not JT/T 808: kept raw)
    m = roundtrip(raw("7e0200409C0100000000014499999999002800000002004C01C302161B5F077365DF006407BF0000240128113128010400"
                      "00005D020201F1030207BF04020000051ED3D4D5D6D3D4D5D3D4D5DDDEDFDDDEDFFFFFFFFFFFFFFFFFFFFFFFFFFFFF06"
                      "02001E1101002504000000002A0200002B0400000000300108310109642F000000890001013232000000C600640216196B"
                      "077363EB240128113118040169643030303033240128113123000400A37e"))
    extra = m["body"]["extra"]
    assert (extra["mileage"], extra["fuel_meter"], extra["speed"], extra["carriage_temp"]) == (93, 497, 1983, 30)
    assert extra["tire_pressure"] == "09TV1tPU1dPU1d3e393e3///////////////////"
    assert extra["overspeed_alarm"] == {"type": 0} and (extra["rssi"], extra["gnss_sat_num"]) == (8, 9)
    assert m["body"]["latitude"] == 35003231 and m["body"]["time"] == "240128113128"


# --- SmallChi/JT905 (C#): src/JT905.Protocol.Test/MessageBody/*.cs ----------------------------------------

POS905 = {"alarm": 1, "status": 2, "latitude": 12222222, "longitude": 132444444, "speed": 60, "direction": 0,
          "time": "211015211010"}


def test_smallchi_905_locations():
    # JT905_0x0200_Test.cs Test1 (bytes, aaa) and JT905_0x0201_Test.cs Test2; 905 items stay raw
    m = roundtrip(raw("7E020000271122334455660001000000010000000200BA7F0E07E4F11C003C002110152110100104000004B00202"
                      "006F0302006F1C7E"), "jt905")
    assert m["body"] == dict(POS905, extra={"1": "AAAEsA==", "2": "AG8=", "3": "AG8="})
    m = roundtrip(raw("7E 02 00 00 19 10 80 00 00 03 16 00 00 00 00 0E 00 80 00 01 81 00 F8 57 A4 03 F8 8E 4E 00 AC"
                      " 6D 10 01 01 08 50 35 1C 7E"), "jt905")
    assert (m["body"]["latitude"], m["body"]["longitude"], m["body"]["speed"], m["body"]["direction"]) == \
        (0xF857A4, 0x3F88E4E, 172, 109)
    m = roundtrip(raw("7E 02 01 00 1B 10 80 00 00 03 16 00 C2 00 00 00 00 0E 00 80 00 01 81 00 F8 57 A4 03 F8 8E 4E"
                      " 00 AC 6D 10 01 01 13 08 21 8A 7E"), "jt905")
    assert m["body"]["seq"] == 0 and m["body"]["params"]["time"] == "100101130821"


def test_smallchi_905_general_reply_and_an_older_location_frame():
    # JT905_0x8001_Test.cs Test2 (ISU "012345678900"); an older JT905_0x0200_Test.cs frame made with
    # SkipCRCCode: refused as published, read with its check recomputed
    assert roundtrip(raw("7E80010005012345678900000A0064020000617E"), "jt905")["body"] == \
        {"seq": 100, "id": 0x0200, "result": 0}
    old = "7E0200001910010111111114A610004C00C000000000F8345603F89E38000000201014000002E97E"
    with pytest.raises(ChecksumError):
        decode(raw(old), "jt905")
    m = roundtrip(recheck(old), "jt905")
    assert m["header"] == {"msg_id": 0x0200, "len": 25, "isu": "100101111111", "msg_sn": 0x14A6}
    assert (m["body"]["latitude"], m["body"]["longitude"], m["body"]["time"]) == (0xF83456, 0x3F89E38, "201014000002")


def test_smallchi_905_location_whose_item_length_is_wrong_is_a_body_error():
    # JT905_0x0200_Test.cs Test4: SmallChi's encoder wrote item 0x14 (DWORD + WORD) with length 4, so a
    # stray 00 1E follows that reads as an item of 30 bytes. An item past the body end is an error.
    with pytest.raises(BodyError):
        decode(raw("7E020000471080000003160001000000010000000200BA7F0E07E4F11C003C002110152110100104000004B0020200"
                   "6F0302006F110501000000011206010000000100130700000001001400140400000002001E837E"), "jt905")


def test_smallchi_905_blind_area_supplement_of_ten_positions():
    # JT905_0x8202_Test.cs Test2 (_0x0203Hex)
    m = roundtrip(raw(
        "7E020300FA108000000316001200000E008000010100F8588703F8902D00308C21082418583300000E008000010100F8588703"
        "F8902D00308C21082418590400000E008000010100F8588703F8902D00308C21082418593400000E008000010100F8588703F890"
        "2D00308C21082419000500000E008000010100F8588703F8902D00308C21082419003500000E008000010100F8588703F8902D00"
        "308C21082419010600000E008000010100F8588703F8902D00308C21082419013600000E008000010100F8588703F8902D00308C"
        "21082419020700000E008000010100F8588703F8902D00308C21082419023700000E008000010100F8588703F8902D00308C2108"
        "241903080D7E"), "jt905")
    assert len(m["body"]["location"]) == 10 and m["body"]["location"][-1]["time"] == "210824190308"


def test_smallchi_905_sign_in_and_sign_out():
    # JT905_0x0B03_Test.cs Test3 (power-on time YYYYMMDDhhmm) and JT905_0x0B04_Test.cs
    m = roundtrip(raw("7E0B030048103456789012007B000000010000000200BA7F0E07E4F11C003C0021101521101031323334353600000000"
                      "00000000000031323334353600000000000000000000000000453333394B4B202110152110057E"), "jt905")
    assert m["header"] == {"msg_id": 0x0B03, "len": 72, "isu": "103456789012", "msg_sn": 123}
    assert m["body"] == {"location": POS905, "business_license": "123456", "certificate": "123456",
                         "license_number": "E339KK", "power_on": "202110152110"}
    m = roundtrip(raw("7E0B040075108000000316000000000000000000000000000000000000000000010101000000343330353234303030"
                      "30313200000000343330353234303030303134350000000000004533343939391111202111011046202111011046"
                      "00030100020011111046000023050000000000120006252015032050050200000000010001B67E"), "jt905")
    body = m["body"]
    assert (body["business_license"], body["certificate"], body["license_number"], body["k_value"]) == \
        ("430524000012", "4305240000145", "E34999", "1111")
    assert (body["shift_mileage"], body["total_amount"], body["total_mileage"], body["unit_price"]) == \
        ("000301", "002305", "06252015", "0200")          # 30.1 km, 230.5 yuan, 625201.5 km, 2.00 yuan
    assert (body["total_operations"], body["sign_out_type"], body["ext"]) == (1, 0, "AQ==")


def test_smallchi_905_orders_and_text():
    # JT905_0x8B00_Test.cs, JT905_0x8B01_Test.cs, JT905_0x0B08_Test.cs, JT905_0x8300_Test.cs
    assert roundtrip(raw("7E8B00001410800000031600000000000100211015211010B2E2CAD4B2E2CAD4001E7E"), "jt905")["body"] == \
        {"order_id": 1, "type": 0, "time": "211015211010", "description": "测试测试"}
    assert roundtrip(raw("7E8B01003210800000031600000000000100211015211010000000010000000100000001000000010305313733"
                         "363339393636363600B2E2CAD4B2E2CAD4000F7E"), "jt905")["body"] == \
        {"order_id": 1, "type": 0, "time": "211015211010", "passenger_longitude": 1, "passenger_latitude": 1,
         "destination_longitude": 1, "destination_latitude": 1, "fee": "0305", "passenger_phone": "17363996666",
         "description": "测试测试"}
    assert roundtrip(raw("7E0B08000510800000031600000000000102807E"), "jt905")["body"] == {"order_id": 1, "reason": 2}
    assert roundtrip(raw("7E8300000E108000000316000008B2E2CAD4B2E2CAD4B2E2CAD4004E7E"), "jt905")["body"] == \
        {"flag": 8, "text": "测试测试测试"}
    assert roundtrip(raw("7E820100001080000003160000067E"), "jt905")["body"] == {}


# --- robustness: every vector above, cut and mutated, raises only the codec's errors ---------------------

def _frames():
    texts = [
        "7E02000026112233445566 22B8000000010000000200BA7F0E07E4F11C0028003C000018071510101001040000006402020037577E",
        "7E0200005C11223344556622B8000000010000000200BA7F0E07E4F11C0028003C0000180715101010010400000064020200370302"
        "0038040200011105010000000112060100000001011307000000020022012504000000172A0200F42B04000000F2300102310105167E",
        "7e0102402f010000000001729984173800000b3137323939383431373338313233343536373839303132333435332e372e3135000000"
        "0000000000000000000000227e",
        "7E0704005311223344556622B80002000026000000010000000200BA7F0E07E4F11C0028003C00001807151010100104000000640202"
        "00370026000000020000000100CB735507E6A32300290036007818071510103001040000006002020042D47E",
        "7E0104001E000123456789000A00140200000001040000000A000000130D7777772E62616964752E636F6DF27E",
        GO_0104,
    ]
    out = [("jt808", raw(t)) for t in texts]
    out += [("jt905", raw(t)) for t in (
        "7E0B040075108000000316000000000000000000000000000000000000000000010101000000343330353234303030303132000000"
        "00343330353234303030303134350000000000004533343939391111202111011046202111011046000301000200111110460000"
        "23050000000000120006252015032050050200000000010001B67E",
        "7E8B01003210800000031600000000000100211015211010000000010000000100000001000000010305313733363339393636363600"
        "B2E2CAD4B2E2CAD4000F7E")]
    return out


def test_cut_and_mutated_outside_frames_raise_only_codec_errors():
    checked = 0
    for protocol, data in _frames():
        payload = data[1:-1].replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")[:-1]
        variants = [payload[:n] for n in range(len(payload))]
        variants += [payload[:i] + bytes((payload[i] ^ 0xFF,)) + payload[i + 1:] for i in range(len(payload))]
        variants += [payload[:i] + bytes((payload[i] ^ 0x01,)) + payload[i + 1:] for i in range(len(payload))]
        for variant in variants:
            for proto in ("jt808", "jt905"):
                try:
                    decode_payload(variant, proto)
                except JttError:
                    pass
                checked += 1
    assert checked > 8000


def test_all_outside_frames_in_one_stream_come_out_in_order():
    frames = _frames()
    decoder = StreamDecoder()
    stream = b"junk" + b"".join(data for _, data in frames)
    items = []
    for i in range(0, len(stream), 7):
        items += decoder.feed(stream[i:i + 7])
    assert len(items) == len(frames)
    for (protocol, data), payload in zip(frames, items):
        assert decode_payload(payload, protocol) == decode(data, protocol)


# --- where our codec differed from the outside vectors and the standard sides with them ----------------------

def test_registration_in_the_2011_layout_is_read():
    # SmallChi JT808_0x0100Test.cs Test2011_2 and go-jt808 parse_test.go "T0x0100 终端注册 2011版本": a
    # 2013 header whose 0x0100 body is shorter than the 2013 layout's 37 bytes is the 2011 layout
    # (terminal model BYTE[8]); both implementations read it so.
    m = roundtrip(raw("7E01000021000123456789000A002800323132333400746B3132333435004348493132330001D4C1413132333435857E"))
    assert m["body"] == {"province": 40, "city": 50, "manufacture": "1234", "model": "tk12345", "dev_id": "CHI123",
                         "color": 1, "license_number": "粤A12345", "version": 2011}
    m = roundtrip(raw("7e010000200123456789010000001f007363640000007777772e3830382e3736353433323101b2e24131323334a17e"))
    assert m["body"] == {"province": 31, "city": 115, "manufacture": "cd", "model": "www.808.", "dev_id": "7654321",
                         "color": 1, "license_number": "测A1234", "version": 2011}


def test_a_2013_header_with_the_version_bit_set_is_read_as_2013():
    # SmallChi JT808_0x0200Test.cs Test5_3 / Test5_4 (device frames SmallChi reads with JTT2013Force):
    # bit 14 is set but the header is the 2013 one (BCD[6] phone, no version byte); read as 2019 the
    # body length does not match, read as 2013 it matches exactly.
    m = roundtrip(raw("7E0102400C01003000068109024A3130303330303030363831857E"))
    assert m["header"] == {"msg_id": 0x0102, "encrypt": 0, "len": 12, "version_flag": 1, "phone": "010030000681",
                           "msg_sn": 0x0902}
    assert m["body"] == {"code": "J10030000681"}
    m = roundtrip(raw("7e0200406c010030000681090e00000000000c0003026c936f074c794c0004036300d72106251557390104000000"
                      "00052801cc00210625155739054145bbc91e4145a2fa1141450000004145bbc8194145a1370a41450000002402"
                      "00002a0200002b04000000003001153101125f0a89860418231870850620757e"))
    assert m["header"]["phone"] == "010030000681" and "proto_ver" not in m["header"]
    assert m["body"]["time"] == "210625155739" and m["body"]["extra"]["gnss_sat_num"] == 18


def test_2019_slave_server_parameters_are_text():
    # go-jt808 reply_test.go P0x8103 / T0x0104 (2019): 0x0023-0x0026 are the slave server's APN, user,
    # password and backup address, STRING in JT/T 808-2019 table 12
    m = roundtrip(raw(GO_8103))
    params = {p["id"]: p["value"] for p in m["body"]["params"]}
    assert m["body"]["length"] == 38
    assert (params[0x0023], params[0x0024], params[0x0025], params[0x0026]) == \
        ("UoR4wMID8PfiEbgV", "HITE_vhBsIgB7oPW", "96GSYdHCM73gnSSh", "wYvRHCOj4a5W3QFZ")
    assert (params[0x0013], params[0x0018], params[0x0031]) == ("qDKnF6flitiCwUMK", 0x6F783351, 0x5A69)
    params = {p["id"]: p["value"] for p in roundtrip(raw(GO_0104))["body"]["params"]}
    assert [params[i] for i in (0x0023, 0x0024, 0x0025, 0x0026)] == ["0", "0", "0", "0"]


GO_8103 = (
    "7e810341fd0100000000017299841738ffff260000000104626a6a65000000020442434b6d00000003044b456863000000040445456357"
    "000000050434516a39000000060441464d5f00000007043173666c00000010104a4468326c32394e6a75416e726c5875000000111066"
    "6b756d6349376c7a4d5f76776f7a43000000121034356e3077523932445570555a7a7258000000131071444b6e4636666c69746943"
    "77554d4b0000001410476a7071376f6d55553834686e646561000000151070676c785f3752516779714676487257000000161055593"
    "17a4e574b706754656a715f79300000001710725a554238704c44765163637438576800000018046f78335100000019047a4a61580000"
    "001a10656d48775f6d317263547550374756370000001b044c5832510000001c04754d457a0000001d10464d6f524f627a305945735341"
    "47686400000020044471634c000000210434303749000000220443335f310000002310556f5234774d49443850666945626756000000"
    "2410484954455f76684273496742376f5057000000251039364753596448434d3733676e53536800000026107759765248434f6a3461"
    "35573351465a0000002704366375620000002804573854610000002904566d4e6b0000002c04324c5f540000002d0441764a56000000"
    "2e04537443410000002f045958376f00000030047078566800000031025a69000000320409302130407e")


def test_items_0x05_and_0x06_of_a_2013_location_are_reserved():
    # JT/T 808-2013 table 27 reserves 0x05-0x10; tire pressure (0x05) and carriage temperature (0x06)
    # are 2019 items (table 28 of 2019). EMQX reads them only with proto_ver (emqx_jt808_frame.erl);
    # t_case14_reserved_location_data sends a 2013 frame with a 3-byte 0x05 item.
    m = roundtrip(raw("7e020000310191720382680200000000000000000301d3b5d70633e44700040000008a22041916054601040000000005"
                      "0300000030011f31010f8202007d02177e"))
    assert m["body"]["extra"] == {"mileage": 0, "5": "AAAA", "rssi": 31, "gnss_sat_num": 15, "130": "AH4="}
    # go-jt808 t_0x0200_addition_test.go "包含全部已知附加信息的": the same items in a 2013 header
    m = roundtrip(raw("7e020000800123456789017fff000004000000080006eeb6ad02633df701380003006320070719235901040000000b"
                      "02020016030200210402002c051e373737000000000000000000000000000000000000000000000000000000110542"
                      "0000004212064d0000004d4d1307000000580058582504000000632a02000a2b040000001430011e31012806020001"
                      "927e"))
    items = dict(GO_ITEMS)
    items["5"], items["6"] = TIRE, "AAE="
    assert m["body"]["extra"] == items
    assert list(m["body"]["extra"]) == ["mileage", "fuel_meter", "speed", "alarm_id", "5", "overspeed_alarm",
                                        "in_out_alarm", "path_time_alarm", "signal", "io_status", "analog", "rssi",
                                        "gnss_sat_num", "6"]


def test_multimedia_event_data_and_reply():
    # SmallChi JT808_0x0800Test.cs / JT808_0x0801Test.cs bodies (in 2013 headers of ours); keys as
    # EMQX's data-exchange guide (0x0800 id/type/format/event/channel; 0x0801 + location, multimedia;
    # 0x8800 mm_id/length/retx_ids). The 0x0801 location is the 28-byte base (JT/T 808-2013 8.54).
    m = roundtrip(frame("0800 0008 013812345678 0001 000015C101020106"))
    assert m["body"] == {"id": 5569, "type": 1, "format": 2, "event": 1, "channel": 6}
    m = roundtrip(frame("0801 0028 013812345678 0002 00000A070000017B000000010000000200BA7F0E07E4F11C0028003C0000"
                        "181115232610 01020304"))
    assert m["body"] == {"id": 2567, "type": 0, "format": 0, "event": 1, "channel": 123,
                         "location": dict(SMALLCHI_LOC, time="181115232610"), "multimedia": "AQIDBA=="}
    m = roundtrip(frame("8800 0009 013812345678 0003 00000A07 02 0003 0005"))
    assert m["body"] == {"mm_id": 2567, "length": 2, "retx_ids": [3, 5]}


def test_905_tracking_control_has_a_control_byte():
    # SmallChi JT905_0x8202.cs / JT905_0x8202_Test.cs: BYTE control (0x00 time interval and duration,
    # 0x11 distance and distance, 0x01 time and distance, 0x10 distance and time, 0xFF stop), WORD
    # interval, DWORD duration or distance: 7 bytes, where our 808-shaped layout read 6.
    m = roundtrip(raw("7E8202000710800000031600000100050000000A0C7E"), "jt905")
    assert m["body"] == {"control": 0x01, "period": 5, "expiry": 10}
    m = roundtrip(raw("7E8202000710800000031600000000050000000A0D7E"), "jt905")
    assert m["body"] == {"control": 0x00, "period": 5, "expiry": 10}
