"""The terminal (meter kind "link") against our meter firmware over the 905.2 bytes, in one process:
every trip the meter closes is stored on the terminal exactly once, through lost frames and
power cuts of the meter at random bytes of its flash."""

import queue
import random

from drivers.meter_link import MeterLinkDriver
from meter.device.firmware import RESEND_MS
from meter.device.flash import PowerCut, RamFlash
from meter.errors import MeterError
from meter.tariff import Schedule, parse_tariff
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter_device.support import TARIFF, device, trip_ops


class Wire:
    def __init__(self):
        self.buf = b""
        self.drop_next = False

    def write(self, data):
        if self.drop_next:
            self.drop_next = False
            return
        self.buf += data


class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


class Bench:
    def __init__(self, tmp_path):
        self.clock = Clock(1795140000000)
        self.events = queue.Queue()
        self.wire = Wire()
        self.driver = MeterLinkDriver("loop://", self.events, self.clock)
        self.driver._port = self.wire
        self.storage = Storage(tmp_path / "terminal.db", self.clock)
        self.term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=self.storage,
                             schedule=Schedule([parse_tariff(TARIFF)]), events=self.events, clock=self.clock,
                             devices=Devices(meter_link=self.driver), software_id="0" * 64)
        self.term.start()
        self.flash = RamFlash(1 << 15)
        self.dev = device(self.flash)

    def pump(self, now, rounds=4):
        self.clock.t = max(self.clock.t, now)
        for _ in range(rounds):
            self.dev.tick(now)
            out = self.dev.take()
            if out:
                self.driver.received(out)
            while not self.events.empty():
                self.term.handle(self.events.get())
            data, self.wire.buf = self.wire.buf, b""
            if data:
                self.dev.receive(now, data)

    def stored(self):
        return [t["trip_no"] for t in self.storage.trips()]


def test_a_trip_on_the_firmware_is_stored_on_the_terminal_and_cleared_on_the_meter(tmp_path):
    b = Bench(tmp_path)
    for name, args in trip_ops():
        getattr(b.dev, name)(*args)
        b.pump(args[0])
    assert b.stored() == [1] and b.dev.pending == []
    record = b.storage.trip(1)
    assert record["fare_fen"] == b.dev.recent[0]["fare_fen"] // 10 * 10
    assert record["distance_m"] == 4000 and b.term.meter.state == "for_hire"


def test_a_lost_acknowledgement_gives_one_stored_trip(tmp_path):
    b = Bench(tmp_path)
    ops = trip_ops()
    for name, args in ops[:-1]:
        getattr(b.dev, name)(*args)
        b.pump(args[0])
    b.wire.drop_next = True                      # our acknowledgement of the record is lost
    name, args = ops[-1]
    getattr(b.dev, name)(*args)
    b.pump(args[0])
    assert b.stored() == [1] and len(b.dev.pending) == 1
    b.pump(args[0] + RESEND_MS)                   # the meter sends it again (0x00F2)
    assert b.stored() == [1] and b.dev.pending == []
    assert b.storage.query("SELECT COUNT(*) FROM outbox WHERE kind = 'trip'")[0][0] == 1


def test_power_cuts_of_the_meter_at_random_bytes_lose_no_trip(tmp_path):
    rng = random.Random(17)
    b = Bench(tmp_path)
    t = 1795140000000 + 1000
    pulses = 0
    cuts = 0
    for _ in range(6):
        ops = trip_ops(start=t, km=2, base=pulses)
        pulses += 2000
        t += 10 * 60000
        for name, args in ops:
            if rng.random() < 0.15:
                b.flash.budget = rng.randrange(0, 200)
            try:
                getattr(b.dev, name)(*args)
                b.pump(args[0])
            except MeterError:
                pass                                             # refused after a loss closed the trip
            except PowerCut:
                cuts += 1
                b.flash.budget = None
                b.dev = device(b.flash, now=args[0] + 20000)     # power back after a long loss
                b.pump(args[0] + 20000)
            b.flash.budget = None
    b.pump(t + RESEND_MS)
    closed = sorted(r["trip_no"] for r in b.dev.recent)
    assert cuts >= 2
    assert b.dev.pending == []
    assert b.stored() == closed == list(range(1, len(closed) + 1))


def test_the_terminal_countersigns_the_meters_journal_head_after_each_trip(tmp_path):
    b = Bench(tmp_path)
    heads = []
    b.term.audit_event = lambda event, p, old, new, actor="terminal": heads.append((event, str(new)))
    for name, args in trip_ops():
        getattr(b.dev, name)(*args)
        b.pump(args[0])
    logged = [new for event, new in heads if event == "meter_log_head"]
    assert logged and b.dev.journal.head.hex() in logged[-1]
