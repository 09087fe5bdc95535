"""Fuzz the 905.2 bus (seeded, a few seconds): random bytes and mutated valid frames thrown at the
meter link, the sign and the evaluator over real pseudo-terminals. No reader thread dies, the loop
handles every event the drivers hand on without raising, and no stored trip changes."""

import queue
import random

import pytest

from drivers import evaluator_codec as ev
from drivers import meter_link_codec as ml
from drivers.evaluator import EvaluatorDriver
from drivers.meter_link import MeterLinkDriver
from drivers.peripheral_frame import Frame, encode
from drivers.sign import SignDriver
from drivers.sign_frame import CMD_QUERY, CMD_SET_STATE, DEVICE_TOP_LIGHT, TopLightStatus
from meter.tariff import Schedule, parse_tariff
from meter.trip import verify_record
from sim.pty import PtyDevice
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.drivers.helpers import VirtualClock, wait_until
from tests.meter.support import tariff_data
from tests.meter_link.test_meter_port import T0, operation

SEEDS = (1, 2, 3, 4, 5)
CHUNKS = 2000

_SAMPLE = {"ascii": "AD1234", "bcd": 12, "u8": 1, "u16": 1, "u32": 1, "time7": (2026, 11, 20, 9, 30, 0),
           "time6": (2026, 11, 20, 9, 30), "ymdh": (2026, 1, 1, 0), "yymdhm": (2026, 11, 20, 9, 12),
           "hhmm": (9, 31), "mmss": (5, 0)}


def sample_values(fields):
    out = {}
    for name, kind, size in fields:
        if kind == "raw":
            out[name] = bytes(size)
        elif kind == "rest":
            out[name] = b""
        elif kind == "ascii":
            out[name] = "AD1234"[:size]
        elif kind == "bcd":
            out[name] = 12 % 10 ** size
        else:
            out[name] = _SAMPLE[kind]
    return out


def valid_frames():
    frames = []
    for (command, direction), fields in ml.LAYOUTS.items():
        if direction == ml.UP:
            frames.append(ml.meter_frame(command, ml.UP, sample_values(fields)))
    for (command, direction), fields in ev.LAYOUTS.items():
        if direction == ml.UP:
            frames.append(ev.frame(command, ml.UP, sample_values(fields)))
    status = TopLightStatus(0, 5, 1, 1, 1, 0, 0, 0, 0).to_body()
    frames += [Frame(DEVICE_TOP_LIGHT, 0, CMD_QUERY, status), Frame(DEVICE_TOP_LIGHT, 0, CMD_SET_STATE, b"\x00")]
    frames.append(ml.meter_frame(ml.CMD_RESEND, ml.UP, operation(1, fare_jiao=999)))   # a conflicting replay
    return [encode(f) for f in frames]


def mutate(rng, data: bytes) -> bytes:
    data = bytearray(data)
    how = rng.randrange(7)
    if how == 0 and data:                                   # flip bits
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif how == 1:                                          # cut
        data = data[:rng.randrange(len(data) + 1)]
    elif how == 2:                                          # random bytes
        data = bytearray(rng.randbytes(rng.randint(1, 64)))
    elif how == 3 and len(data) > 8:                        # change a body byte, then fix the check
        i = rng.randrange(8, len(data) - 3)
        data[i] = rng.randrange(256)
        x = 0
        for b in data[2:-3]:
            x ^= b
        data[-3] = x
    elif how == 4:                                          # 0xFFFF or another length
        if len(data) > 4:
            data[2:4] = rng.choice((b"\xff\xff", b"\x00\x00", b"\x04\x04", rng.randbytes(2)))
    elif how == 5:                                          # doubled
        data = data + data
    return bytes(data)                                      # 6: as it was


def stream(rng, frames):
    for _ in range(CHUNKS):
        yield mutate(rng, rng.choice(frames))


@pytest.fixture
def fitted(tmp_path):
    clock = VirtualClock(T0 + 40 * 60000)
    storage = Storage(tmp_path / "terminal.db", clock)
    events: queue.Queue = queue.Queue()
    device = PtyDevice()
    link = MeterLinkDriver(device.path, events, clock, query_interval_ms=2000, answer_timeout_ms=1000)
    link.start(pace=False)
    term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=storage,
                    schedule=Schedule([parse_tariff(tariff_data())]), events=events, clock=clock,
                    devices=Devices(meter_link=link), software_id="0" * 64)
    term.start()
    yield term, link, device, storage, events, clock
    link.close()
    device.close()
    storage.close()


def drain(term, events):
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return
        term.handle(event)


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzzing_the_meter_link_kills_no_thread_and_changes_no_stored_trip(fitted, seed):
    term, link, device, storage, events, clock = fitted
    device.write(encode(ml.meter_frame(ml.CMD_TRIP_END, ml.UP, operation(1))))
    assert wait_until(lambda: not events.empty())
    drain(term, events)
    before = storage.trips()
    assert [t["trip_no"] for t in before] == [1]
    rng = random.Random(seed)
    frames = valid_frames()
    sent = 0
    for chunk in stream(rng, frames):
        device.write(chunk)
        sent += len(chunk)
        device.read(0)                                      # the terminal's answers: read, ignored
        if rng.random() < 0.1:
            assert wait_until(lambda n=sent: link.bytes_in >= n)
            drain(term, events)
            clock.advance(rng.choice((10, 500, 2000)))
            link.pace(clock.t_ms)
    assert wait_until(lambda: link.bytes_in >= sent)
    drain(term, events)
    assert all(t.is_alive() for t in link._threads)
    after = {t["trip_no"]: t for t in storage.trips()}
    assert after[1] == before[0]
    assert all(verify_record(t) for t in after.values())
    assert link.rejected > CHUNKS // 10          # the fuzz reached the decoder and the parser


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzzing_the_sign_and_the_evaluator_kills_no_reader(seed):
    rng = random.Random(seed)
    frames = valid_frames()
    clock = VirtualClock(T0)
    for make in (lambda path, q: SignDriver(path, q, clock, query_interval_ms=5000).start(pace=False),
                 lambda path, q: EvaluatorDriver(path, q, clock).start()):
        device = PtyDevice()
        events: queue.Queue = queue.Queue()
        driver = make(device.path, events)
        try:
            sent = 0
            for chunk in stream(rng, frames):
                device.write(chunk)
                sent += len(chunk)
                device.read(0)
            assert wait_until(lambda n=sent, d=driver: d.bytes_in >= n)
            assert all(t.is_alive() for t in driver._threads)
            while not events.empty():
                event = events.get()
                if event.kind == "evaluation":
                    assert event.data["rating"] in ev.RATINGS
        finally:
            driver.close()
            device.close()
