"""The shared peripheral port of the 905.2 drivers: query pacing on the caller's clock and the
fault on silence or garbage (the meter link: ``meter_fault``, alarm bit 10; the sign: ``sign_fault``)."""

import queue

from drivers import meter_link_codec as ml
from drivers.meter_link import MeterLinkDriver
from drivers.peripheral_frame import decode, encode

T0 = 1795140000000


class Wire:
    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)


def _driver():
    clock = [T0]
    events = queue.Queue()
    driver = MeterLinkDriver("loop://", events, lambda: clock[0], query_interval_ms=2000, answer_timeout_ms=1000)
    driver._port = Wire()
    return driver, events, clock


def _faults(events):
    out = []
    while not events.empty():
        e = events.get()
        if e.kind == "meter_fault":
            out.append((e.data["active"], e.data["reason"]))
    return out


STATUS = {"vendor_id": 0, "device_type": 2, "serial": b"\x00\x00\x01", "hw_version": 1, "sw_major": 1,
          "sw_minor": 0, "device_state": 0, "work_state": 0, "plate": "", "licence": "", "driver": "", "trips": 0}


def test_a_silent_meter_raises_the_meter_fault_after_three_queries_and_its_answer_clears_it():
    driver, events, clock = _driver()
    for _ in range(4):
        driver.pace(clock[0])
        clock[0] += 2000
    assert [decode(w).command for w in driver._port.written] == [ml.CMD_STATUS] * 4
    assert _faults(events) == [(True, "no answer (3 attempts)")]
    driver.received(encode(ml.meter_frame(ml.CMD_STATUS, ml.UP, STATUS)))
    assert _faults(events) == [(False, "answering again")]


def test_a_garbling_meter_is_a_meter_fault_too():
    driver, events, clock = _driver()
    for _ in range(4):
        driver.pace(clock[0])
        driver.received(b"\x55\xaa\x00\x05\x02\x00\x00\x00\x13\x37\x55\xaa")    # a frame with a bad checksum
        clock[0] += 2000
    faults = _faults(events)
    assert faults and faults[0][0] is True and faults[0][1].startswith("garbage")
    assert driver.rejected >= 3


def test_pacing_follows_the_callers_clock_not_the_wall():
    driver, events, clock = _driver()
    assert driver.pace(clock[0]) == T0 + 1000            # the answer is due within a second
    driver.received(encode(ml.meter_frame(ml.CMD_STATUS, ml.UP, STATUS)))
    assert driver.pace(clock[0] + 500) == T0 + 2000       # answered: next query at 2 s
    assert len(driver._port.written) == 1
    driver.pace(T0 + 2000)
    assert len(driver._port.written) == 2 and driver.bytes_out == sum(map(len, driver._port.written))
