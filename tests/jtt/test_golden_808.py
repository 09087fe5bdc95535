"""Hand-derived JT/T 808 frames decode to the documented JSON and the JSON encodes to them."""

import pytest

from terminal.link.jtt import decode, encode, unwrap
from tests.jtt.golden import GOLDEN_808, frame


@pytest.mark.parametrize("name,payload,expected", GOLDEN_808, ids=[c[0] for c in GOLDEN_808])
def test_golden_frame_decodes_and_encodes(name, payload, expected):
    raw = frame(payload)
    assert decode(raw) == expected
    assert encode(expected) == raw


def test_escaped_check_byte_is_on_the_wire_as_7d_02():
    raw = frame("0002 0000 013912345678 004c")
    assert raw.hex() == "7e00020000013912345678004c7d027e"
    assert unwrap(raw).hex() == "00020000013912345678004c"


def test_escaped_check_byte_7d_is_on_the_wire_as_7d_01():
    assert frame("0002 0000 013912345678 004f").hex() == "7e00020000013912345678004f7d017e"


def test_frames_from_an_independent_implementation_decode():
    # xtream-codec (hylexus) test vectors, JT/T 808-2019 location and batch location
    loc = decode(bytes.fromhex(
        "7e02004026010000000001391234432900000000006f0000001601dc9a0707456246007b004200032501292233440202006401"
        "040000000c417e"))
    assert loc["header"]["proto_ver"] == 1 and loc["header"]["phone"] == "00000000013912344329"
    assert loc["body"] == {"alarm": 111, "status": 22, "latitude": 31234567, "longitude": 121987654,
                           "altitude": 123, "speed": 66, "direction": 3, "time": "250129223344",
                           "extra": {"fuel_meter": 100, "mileage": 12}}
    batch = decode(bytes.fromhex(
        "7e0704403f01000000000139123443290000000200001c000000010000000101d907f2073d336c029a0021005924102921390300"
        "1c000000010000000101d907f3073d336d03090043005a241029213903f87e"))
    assert [item["altitude"] for item in batch["body"]["location"]] == [666, 777]
    assert batch["body"]["type"] == 0 and batch["body"]["length"] == 2


def test_the_gateway_codes_key_names_are_accepted_on_encode():
    from tests.jtt.golden import GOLDEN_808

    (payload, expected), = [(p, e) for n, p, e in GOLDEN_808 if n == "0x0100 registration 2013"]
    body = dict(expected["body"])
    body["manufacturer"] = body.pop("manufacture")
    assert encode({"header": expected["header"], "body": body}) == frame(payload)
