"""A broken or hostile device on the JT/T 905.2 bus, over a real pseudo-terminal: line noise,
impossible lengths, cut frames, 55 AA inside a body, bad checks, floods, byte-by-byte delivery
and loopback wiring. Each bad frame is dropped and counted, no reader thread dies, and the
device is faulted only after ``fault_after`` failed queries and recovers on the next good answer."""

import queue
import threading

import pytest

from drivers import meter_link_codec as ml
from drivers.meter_link import MeterLinkDriver
from drivers.peripheral_frame import MAGIC, Frame, FrameDecoder, decode, encode
from sim.pty import PtyDevice
from tests.drivers.helpers import VirtualClock, next_event, wait_until

STATUS = {"vendor_id": 0, "device_type": 2, "serial": b"\x00\x00\x01", "hw_version": 1, "sw_major": 1,
          "sw_minor": 0, "device_state": 0, "work_state": 0, "plate": "AD1234", "licence": "L-1",
          "driver": "D-1", "trips": 7}
TARIFF = {"valid_from": (2026, 1, 1, 0), "return_day_fen": 0, "return_night_fen": 0, "oneway_day_fen": 260,
          "oneway_night_fen": 300, "empty_back_day_fen": 0, "empty_back_night_fen": 0, "start_day_fen": 1300,
          "start_night_fen": 1500, "step_10m": 100, "start_10m": 300, "oneway_10m": 0, "empty_back_10m": 0,
          "wait_day_fen": 50, "wait_night_fen": 60, "free_wait": (0, 0), "wait_unit": (5, 0),
          "night_start": (23, 0), "night_end": (5, 0), "reserved": bytes(22), "vendor_area": bytes(64)}
HEARTBEAT = {"state": 0, "licence": "L-1", "driver": "D-1"}


def status_bytes():
    return encode(ml.meter_frame(ml.CMD_STATUS, ml.UP, STATUS))


def heartbeat_bytes(state=0):
    return encode(ml.meter_frame(ml.CMD_HEARTBEAT, ml.UP, dict(HEARTBEAT, state=state)))


@pytest.fixture
def bus():
    device = PtyDevice()
    events: queue.Queue = queue.Queue()
    clock = VirtualClock()
    driver = MeterLinkDriver(device.path, events, clock, query_interval_ms=2000, answer_timeout_ms=1000,
                             fault_after=3).start(pace=False)
    yield device, driver, events, clock
    driver.close()
    device.close()


def link_events(events, want=1, timeout=5.0):
    out = []
    while len(out) < want:
        event = next_event(events, "meter_link", timeout)
        if event is None:
            break
        out.append(event.data)
    return out


def reader_alive(driver):
    return all(t.is_alive() for t in driver._threads)


def test_noise_between_frames_is_dropped_and_counted_and_both_frames_arrive(bus):
    device, driver, events, _ = bus
    device.write(b"\x00\xff\x55\x13\x37" + heartbeat_bytes() + b"garbage\x55" + heartbeat_bytes(1) + b"\xaa\x55")
    got = link_events(events, 2)
    assert [g["values"]["state"] for g in got] == [0, 1]
    assert wait_until(lambda: driver.rejected >= 2) and reader_alive(driver)


def test_a_length_field_of_ffff_is_noise_not_a_wait_for_64_kib(bus):
    device, driver, events, _ = bus
    device.write(MAGIC + b"\xff\xff\x02\x00\x00\xe9" + heartbeat_bytes())
    assert [g["values"]["state"] for g in link_events(events, 1)] == [0]
    assert driver.rejected >= 1 and driver._decoder.pending == 0


def test_a_frame_cut_in_the_middle_does_not_swallow_the_next_one(bus):
    device, driver, events, _ = bus
    whole = encode(ml.meter_frame(ml.CMD_TARIFF_QUERY, ml.UP, TARIFF))
    device.write(whole[:20] + heartbeat_bytes(1))   # the device reset mid-frame and started again
    got = link_events(events, 1, timeout=8.0)      # after a pause in the line, not after 64 KiB more
    assert [g["values"]["state"] for g in got] == [1]
    assert driver.rejected >= 1 and reader_alive(driver)


def test_55_aa_inside_a_body_is_data(bus):
    device, driver, events, _ = bus
    frame = ml.meter_frame(ml.CMD_HEARTBEAT, ml.UP, {"state": 0, "licence": "U\xaaU\xaa".encode("latin-1"),
                                                      "driver": "D-1"})
    assert MAGIC in frame.body
    device.write(encode(frame))
    got = link_events(events, 1)
    assert len(got) == 1 and driver.rejected == 0


def test_a_wrong_check_byte_drops_the_frame_and_the_next_good_one_arrives(bus):
    device, driver, events, _ = bus
    bad = bytearray(heartbeat_bytes())
    bad[-3] ^= 0x01
    device.write(bytes(bad) + heartbeat_bytes(1))
    assert [g["values"]["state"] for g in link_events(events, 1)] == [1]
    assert wait_until(lambda: driver.rejected >= 1)


def test_frames_split_at_every_byte_boundary_arrive_whole(bus):
    device, driver, events, _ = bus
    for byte in heartbeat_bytes(1) + status_bytes():
        device.write(bytes((byte,)))
    got = link_events(events, 2)
    assert [g["command"] for g in got] == [ml.CMD_HEARTBEAT, ml.CMD_STATUS] and driver.rejected == 0


def test_a_flood_of_valid_frames_is_bounded_and_the_reader_survives(bus):
    device, driver, events, clock = bus
    flood = heartbeat_bytes() * 2000           # far more than a 9600-baud line carries in a second
    writer = threading.Thread(target=device.write, args=(flood,), daemon=True)
    writer.start()                            # the device never reads what the terminal answers
    writer.join(timeout=20)
    assert not writer.is_alive(), "the terminal stopped reading: its reader is stuck answering the flood"
    assert wait_until(lambda: driver.bytes_in >= len(flood), timeout=20)
    handed_on = 0
    while not events.empty():
        handed_on += events.get().kind == "meter_link"
    assert handed_on <= driver.max_frames_per_s      # the rest dropped and counted, not queued
    assert driver.dropped == 2000 - handed_on
    assert reader_alive(driver) and driver._decoder.pending == 0
    clock.advance(1000)                       # a second later the device is heard again
    device.write(heartbeat_bytes(1))
    assert [g["values"]["state"] for g in link_events(events, 1)] == [1]


def test_loopback_wiring_echoes_our_own_frames_and_is_a_fault_after_three_queries(bus):
    device, driver, events, clock = bus
    for _ in range(4):
        driver.pace(clock.t_ms)
        sent = device.read(1.0)
        assert sent
        device.write(sent)                     # TX wired to RX: every frame comes back
        assert wait_until(lambda: driver.bytes_in >= driver.bytes_out)
        clock.advance(2000)
    fault = next_event(events, "meter_fault")
    assert fault is not None and fault.data["active"] and "echo" in fault.data["reason"]
    assert reader_alive(driver)
    driver.pace(clock.t_ms)
    device.read(1.0)
    device.write(status_bytes())
    back = next_event(events, "meter_fault")
    assert back is not None and back.data["active"] is False


def test_a_meter_faulted_only_after_the_documented_count_recovers_on_the_next_good_answer(bus):
    device, driver, events, clock = bus
    for attempt in range(3):
        driver.pace(clock.t_ms)
        device.read(1.0)
        device.write(b"\x55\xaa\x00\x05\x02\x00\x00\x00\x13\x37\x55\xaa")    # garbled answer
        assert wait_until(lambda n=attempt: driver.rejected > n)
        clock.advance(2000)
        if attempt < 2:
            driver.pace(clock.t_ms - 1)        # still inside the next interval: no fault yet
            assert next_event(events, "meter_fault", timeout=0.05) is None
    driver.pace(clock.t_ms)
    fault = next_event(events, "meter_fault")
    assert fault.data["active"] and "3 attempts" in fault.data["reason"]
    device.read(1.0)
    device.write(status_bytes())
    assert next_event(events, "meter_fault").data["active"] is False


def test_the_decoder_holds_at_most_one_frame_whatever_it_is_fed():
    decoder = FrameDecoder()
    decoder.feed(MAGIC + b"\x04\x04" + b"\x55" * 5000)
    assert decoder.pending <= 1035
    decoder.feed(bytes(range(256)) * 40)
    assert decoder.pending <= 1035
    assert decode(encode(Frame(2, 0, 0xE9, b"x"))) == Frame(2, 0, 0xE9, b"x")


def test_a_frame_whose_handling_raises_anything_does_not_end_the_reader(bus, monkeypatch):
    device, driver, events, _ = bus
    real = driver._frame

    def explode(frame, t, evs):
        if frame.command == ml.CMD_HEARTBEAT and frame.body[0] == 0:
            raise KeyError("a value no parser foresaw")
        return real(frame, t, evs)
    monkeypatch.setattr(driver, "_frame", explode)
    device.write(heartbeat_bytes(0))
    device.write(heartbeat_bytes(1))
    assert [g["values"]["state"] for g in link_events(events, 1)] == [1]
    assert reader_alive(driver)
