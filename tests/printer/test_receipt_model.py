"""The receipt model: every field DESIGN A3 asks for, exact amounts, itemised extras."""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from printer.receipt import (
    QrCode,
    ReceiptError,
    Row,
    Vehicle,
    as_reprint,
    build_receipt,
    display_width,
    format_duration,
    format_km,
    format_yuan,
    layout_row,
    parse_qr_payload,
)

from .conftest import DEVICE_ID, SOFTWARE_ID, VERIFY_URL, device_key, link_of

A3_FIELDS = ("plate", "company", "driver_cert", "supervision_phone", "date", "board", "alight", "distance",
             "waiting", "unit_price", "fare", "total", "trip_no", "tariff_id", "software")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_a3_field_is_on_the_receipt(trip, vehicle, lang):
    receipt = build_receipt(trip, vehicle, SOFTWARE_ID, lang)
    rows = receipt.rows()
    assert set(A3_FIELDS) <= set(rows)
    assert rows["plate"] == "粤A·D12345"
    assert rows["supervision_phone"] == "12328"
    assert rows["date"] == "2026-11-18"      # 1795000000 s UTC = 2026-11-18 11:06:40, +8 h
    assert rows["board"] == "19:06"
    assert rows["alight"] == "19:21"
    assert rows["trip_no"] == "12"
    assert rows["tariff_id"] == "GZ-2026A"
    assert rows["software"] == SOFTWARE_ID
    footer = [b.text for b in receipt.blocks if getattr(b, "key", "") == "footer"]
    assert footer == (["以计价器显示为准"] if lang == "zh" else ["The meter display prevails"])


def test_chinese_amounts_distance_and_waiting(trip, vehicle):
    rows = build_receipt(trip, vehicle, SOFTWARE_ID).rows()
    assert rows["fare"] == "31.00元"
    assert rows["total"] == "42.00元"
    assert rows["distance"] == "8.3公里"     # 8350 m truncated to 0.1 km
    assert rows["waiting"] == "03:00"
    assert rows["unit_price"] == "2.60元/公里"
    assert rows["extra:0"] == "1.00元" and rows["extra:1"] == "10.00元"


def test_qr_carries_a_signed_verification_link(trip, vehicle, signed_link):
    """Issue 14, item 8: a phone opens a URL, and a platform checks the device's signature offline."""
    from terminal.trust.receipt_signing import check_link
    receipt = build_receipt(trip, vehicle, SOFTWARE_ID, e_receipt_link=signed_link)
    qr = [b for b in receipt.blocks if isinstance(b, QrCode)]
    assert [q.payload for q in qr] == [signed_link]
    assert signed_link.startswith(VERIFY_URL + "?v=1&dev=SIM-0001&plate=%E7%B2%A4A%C2%B7D12345&trip=12&total=4200")
    assert parse_qr_payload(qr[0].payload) == {"plate": "粤A·D12345", "trip_no": 12, "total_fen": 4200,
                                               "digest": trip["digest"], "device_id": DEVICE_ID}
    assert check_link(signed_link, device_key().public_key(), DEVICE_ID)["total_fen"] == 4200


def test_a_tampered_or_foreign_link_does_not_verify(trip, vehicle, signed_link):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from terminal.trust.receipt_signing import check_link
    from terminal.trust.signing import SignatureError
    with pytest.raises(SignatureError):
        check_link(signed_link.replace("total=4200", "total=420"), device_key().public_key())
    with pytest.raises(SignatureError):
        check_link(signed_link, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(SignatureError, match="names device"):
        check_link(signed_link, device_key().public_key(), "SIM-0002")


def test_a_link_of_another_trip_is_refused(trip, vehicle):
    other = dict(trip, trip_no=13)
    with pytest.raises(ReceiptError, match="not this trip"):
        build_receipt(trip, vehicle, SOFTWARE_ID, e_receipt_link=link_of(other, vehicle.plate))


def test_without_a_link_there_is_no_qr_code(trip, vehicle):
    receipt = build_receipt(trip, vehicle, SOFTWARE_ID)
    assert not [b for b in receipt.blocks if isinstance(b, QrCode)] and receipt.qr_payload == ""


def test_order_id_and_flags_are_shown_when_present(trip, vehicle):
    trip["order_id"] = "95128000123"
    trip["flags"] = ["power_loss"]
    rows = build_receipt(trip, vehicle, SOFTWARE_ID, "en").rows()
    assert rows["order_id"] == "95128000123"
    assert rows["flags"] == "power_loss"


def test_trip_over_midnight_marks_the_next_day(trip, vehicle):
    trip["board_ms"] = 1795017000000          # 23:50 local
    trip["alight_ms"] = 1795017000000 + 25 * 60_000
    assert build_receipt(trip, vehicle, SOFTWARE_ID).rows()["alight"] == "次日 00:15"
    assert build_receipt(trip, vehicle, SOFTWARE_ID, "en").rows()["alight"] == "00:15 +1d"


def test_reprint_is_marked_as_a_copy(trip, vehicle):
    receipt = as_reprint(build_receipt(trip, vehicle, SOFTWARE_ID))
    assert [b.text for b in receipt.blocks if getattr(b, "key", "") == "reprint"] == ["补打 (副本)"]
    assert as_reprint(receipt) == receipt


@pytest.mark.parametrize("fen,text", [(0, "0.00"), (5, "0.05"), (4200, "42.00"), (-1, "-0.01"),
                                      (123456789, "1234567.89")])
def test_format_yuan(fen, text):
    assert format_yuan(fen) == text


@pytest.mark.parametrize("metres,text", [(0, "0.0"), (99, "0.0"), (100, "0.1"), (8350, "8.3"), (8399, "8.3"),
                                         (123456, "123.4")])
def test_format_km_truncates(metres, text):
    assert format_km(metres) == text


@pytest.mark.parametrize("ms,text", [(0, "00:00"), (59_999, "00:59"), (180_000, "03:00"),
                                     (3_599_999, "59:59"), (3_600_000, "1:00:00"), (37_230_000, "10:20:30")])
def test_format_duration(ms, text):
    assert format_duration(ms) == text


@pytest.mark.parametrize("change,message", [
    ({"total_fen": 4300}, "total_fen"),
    ({"extras_fen": 1000}, "extras_fen"),
    ({"distance_m": 83.5}, "distance_m"),
    ({"fare_fen": True}, "fare_fen"),
    ({"digest": "xyz"}, "digest"),
    ({"alight_ms": 1794999999999}, "alight_ms"),
    ({"extras": [{"label": "", "amount_fen": 1100}]}, "label"),
])
def test_bad_trip_records_are_refused_naming_the_field(trip, vehicle, change, message):
    bad = copy.deepcopy(trip)
    bad.update(change)
    with pytest.raises(ReceiptError, match=message):
        build_receipt(bad, vehicle, SOFTWARE_ID)


def test_missing_fields_and_bad_vehicle_are_refused(trip, vehicle):
    del trip["tariff_id"]
    with pytest.raises(ReceiptError, match="lacks tariff_id"):
        build_receipt(trip, vehicle, SOFTWARE_ID)
    with pytest.raises(ReceiptError, match="plate"):
        build_receipt({}, Vehicle(" ", "c", "d"), SOFTWARE_ID)
    with pytest.raises(ReceiptError, match="language"):
        build_receipt({}, vehicle, SOFTWARE_ID, "fr")


def test_layout_row_fills_the_columns_or_breaks():
    assert layout_row("车号", "粤A12345", 32) == ["车号" + " " * 20 + "粤A12345"]
    assert display_width(layout_row("车号", "粤A12345", 32)[0]) == 32
    label, value = layout_row("软件", "x" * 31, 32)
    assert label == "软件" and value == " " + "x" * 31


extra = st.fixed_dictionaries({"label": st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5),
                                                min_size=1, max_size=6),
                               "amount_fen": st.integers(0, 100_000)})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fare_fen=st.integers(0, 10_000_000), extras=st.lists(extra, max_size=6),
       distance_m=st.integers(0, 2_000_000), waiting_ms=st.integers(0, 48 * 3600_000),
       lang=st.sampled_from(["zh", "en"]))
def test_printed_total_is_total_fen_and_extras_are_itemised(trip, vehicle, fare_fen, extras, distance_m,
                                                            waiting_ms, lang):
    record = dict(trip, fare_fen=fare_fen, extras=extras, extras_fen=sum(e["amount_fen"] for e in extras),
                  distance_m=distance_m, waiting_ms=waiting_ms)
    record["total_fen"] = fare_fen + record["extras_fen"]
    receipt = build_receipt(record, vehicle, SOFTWARE_ID, lang, e_receipt_link=link_of(record, vehicle.plate))
    rows = receipt.rows()
    total = rows["total"].replace("元", "").replace("CNY ", "")
    yuan, cents = total.split(".")
    assert int(yuan) * 100 + int(cents) == record["total_fen"]
    itemised = [b for b in receipt.blocks if isinstance(b, Row) and b.key.startswith("extra:")]
    assert [b.label.strip() for b in itemised] == [e["label"] for e in extras]
    amounts = [b.value.replace("元", "").replace("CNY ", "") for b in itemised]
    assert [int(a.replace(".", "")) for a in amounts] == [e["amount_fen"] for e in extras]
    assert parse_qr_payload(receipt.qr_payload)["total_fen"] == record["total_fen"]
    km = rows["distance"].split("公里")[0].split(" ")[0]
    assert int(km.replace(".", "")) == distance_m // 100
