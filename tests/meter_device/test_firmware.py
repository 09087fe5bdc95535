"""The meter firmware on its 905.2 link: trip frames out, acknowledgements in, resends until heard,
the seal guarding K and tariff, its software id and chain head. Runs under CPython and MicroPython."""

from drivers import meter_link_codec as ml
from drivers.peripheral_frame import FrameDecoder, encode
from meter.device.firmware import RESEND_MS, MeterDevice, software_id
from meter.device.flash import RamFlash
from meter.errors import MeterError
from tests.meter_device.support import PROFILE, TARIFF, device, run, trip_ops


def frames(dev):
    return [ml.parse(f, ml.UP) for f in FrameDecoder().feed(dev.take())]


def down(command, values):
    return encode(ml.meter_frame(command, ml.DOWN, values))


def finished_trip(flash=None):
    dev = device(flash or RamFlash(1 << 16))
    for op in trip_ops():
        run(dev, op)
    return dev


def test_a_trip_sends_its_start_and_its_operation_data():
    dev = finished_trip()
    sent = frames(dev)
    assert [c for c, _ in sent] == [ml.CMD_TRIP_START, ml.CMD_TRIP_END]
    assert sent[0][1]["board"] == (2026, 11, 20, 10, 0, 2)
    end = sent[1][1]
    record = dev.pending[0]
    assert end["trip_no"] == 1 and end["fare_jiao"] == record["fare_fen"] // 10
    assert end["distance_100m"] == record["distance_m"] // 100 == 40
    assert end["driver"] == PROFILE["driver"] and end["board"] == (2026, 11, 20, 10, 0)


def test_the_record_is_sent_again_until_acknowledged_and_the_ack_is_journaled():
    flash = RamFlash(1 << 16)
    dev = finished_trip(flash)
    dev.take()
    t = dev.meter.t
    dev.tick(t + RESEND_MS - 1)
    assert [c for c, _ in frames(dev) if c != ml.CMD_HEARTBEAT] == []
    dev.tick(t + RESEND_MS)
    assert [c for c, _ in frames(dev) if c != ml.CMD_HEARTBEAT] == [ml.CMD_RESEND]
    again = MeterDevice(flash, [TARIFF], PROFILE, t + 5000)       # a power cut before the ack
    assert [r["trip_no"] for r in again.pending] == [1]
    again.receive(t + 6000, down(ml.CMD_RESEND, {"result": ml.RESULT_OK}))
    assert again.pending == []
    assert MeterDevice(flash, [TARIFF], PROFILE, t + 7000).pending == []


def test_a_failed_ack_keeps_the_record():
    dev = finished_trip()
    dev.receive(dev.meter.t, down(ml.CMD_TRIP_END, {"result": ml.RESULT_FAIL}))
    assert len(dev.pending) == 1


def test_a_resend_request_is_answered_from_the_recent_trips():
    dev = finished_trip()
    dev.receive(dev.meter.t, down(ml.CMD_TRIP_END, {"result": ml.RESULT_OK}))
    dev.take()
    dev.receive(dev.meter.t, down(ml.CMD_RESEND_REQUEST, {"trip_no": 1}))
    sent = frames(dev)
    assert sent[0] == (ml.CMD_RESEND_REQUEST, {"trip_no": 1, "result": ml.RESULT_OK})
    assert sent[1][0] == ml.CMD_RESEND and sent[1][1]["trip_no"] == 1
    dev.receive(dev.meter.t, down(ml.CMD_RESEND_REQUEST, {"trip_no": 9}))
    assert frames(dev) == [(ml.CMD_RESEND_REQUEST, {"trip_no": 9, "result": ml.RESULT_FAIL})]


def test_k_and_the_tariff_change_only_with_the_seal_closed():
    dev = finished_trip()
    dev.take()
    values = dev.tariff_values()
    values["start_day_fen"] = 1500
    dev.receive(dev.meter.t, down(ml.CMD_TARIFF_SET, values))
    assert frames(dev)[0][1]["result"] == ml.TARIFF_BAD and dev.tariffs == [TARIFF]
    try:
        dev.set_k(dev.meter.t, 1200)
        raise AssertionError("K changed with the seal open")
    except MeterError:
        pass
    dev.seal(True)
    dev.receive(dev.meter.t, down(ml.CMD_TARIFF_SET, values))
    assert frames(dev)[0][1]["result"] == ml.TARIFF_OK
    assert dev.tariffs[0]["start_fare_fen"] == 1500 and dev.meter.schedule.tariffs[0].id == "905-2026010100"
    dev.set_k(dev.meter.t, 1200)
    assert dev.meter.odometer.k == 1200


def test_status_query_and_device_id():
    dev = finished_trip()
    dev.take()
    dev.receive(dev.meter.t, down(ml.CMD_STATUS, {"time": (2026, 11, 20, 10, 9, 0)}))
    dev.receive(dev.meter.t, down(ml.CMD_DEVICE_ID, {}))
    (c1, status), (c2, ident) = frames(dev)
    assert status["trips"] == 1 and status["plate"] == "AD1234"
    assert ident["log_head"] == dev.journal.head and ident["trip_no"] == 1 and ident["log_seq"] == dev.journal.seq


def test_the_software_id_covers_every_file_and_its_name():
    a = software_id([("meter/a.py", b"x = 1\n"), ("meter/b.py", b"")])
    assert a == software_id([("meter/b.py", b""), ("meter/a.py", b"x = 1\n")])
    assert a != software_id([("meter/a.py", b"x = 2\n"), ("meter/b.py", b"")])
    assert a != software_id([("meter/c.py", b"x = 1\n"), ("meter/b.py", b"")])


def test_garbage_on_the_line_changes_nothing():
    dev = finished_trip()
    dev.take()
    dev.receive(dev.meter.t, b"\x55\xaa\x00\x05\x02\x00\x00\xe8\x90\x00\x55\xaa" + b"noise")
    assert dev.garbage >= 1 and len(dev.pending) == 1
