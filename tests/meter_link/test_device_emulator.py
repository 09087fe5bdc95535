"""The terminal against the real meter firmware under real MicroPython, over a real pty: trips
reach the terminal's storage once each, even when the meter's power is cut at random moments."""

import queue
import random
import threading
import time

import pytest

from drivers.meter_link import MeterLinkDriver
from meter.tariff import Schedule, parse_tariff
from sim.meter_device import MeterDeviceEmulator
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter_device.support import TARIFF

T0 = 1795140000000


class FastClock:
    """Device time runs 60 times faster than the wall: a minute of driving in a second."""

    def __init__(self):
        self.t0 = time.monotonic()

    def __call__(self):
        return T0 + int((time.monotonic() - self.t0) * 60000)


@pytest.fixture
def rig(tmp_path):
    clock = FastClock()
    emu = MeterDeviceEmulator(tmp_path / "meter-flash.bin", clock, [TARIFF]).start()
    events = queue.Queue()
    driver = MeterLinkDriver(emu.path, events, clock, query_interval_ms=60000, answer_timeout_ms=30000).start()
    storage = Storage(tmp_path / "terminal.db", clock)
    term = Terminal(config_mod.from_dict({"meter": {"kind": "link"}}), storage=storage,
                    schedule=Schedule([parse_tariff(TARIFF)]), events=events, clock=clock,
                    devices=Devices(meter_link=driver), software_id="0" * 64)
    stop = threading.Event()
    loop = threading.Thread(target=term.run, args=(stop,), daemon=True)
    loop.start()
    yield emu, term, storage
    stop.set()
    loop.join(5)
    driver.close()
    emu.close()
    storage.close()


def wait(predicate, timeout_s=20.0):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_trip_metered_inside_micropython_is_stored_on_the_terminal(rig):
    emu, term, storage = rig
    assert len(emu.software_id) == 64
    emu.pulses(0)
    emu.press("hire")
    assert wait(lambda: term.meter.state == "hired")
    for step in range(1, 5):
        time.sleep(0.4)                 # 250 m in 24 s of meter time: 37 km/h
        emu.pulses(step * 250)
    emu.press("settle")
    emu.press("clear")
    assert wait(lambda: storage.trip(1) is not None)
    assert wait(lambda: emu.stats().get("pending") == [])
    record = storage.trip(1)
    assert record["distance_m"] == 1000 and record["fare_fen"] >= 1300 and "link" in record["flags"]
    assert emu.errors == []


def test_killing_the_meter_at_random_moments_loses_no_trip(rig):
    emu, term, storage = rig
    rng = random.Random(5)
    pulses = 0
    kills = 0
    for _ in range(4):
        steps = [("pulses", pulses), ("press", "hire")] + [("pulses", pulses + n * 200) for n in (1, 2, 3)] + [
            ("press", "settle"), ("press", "clear")]
        pulses += 600
        for name, arg in steps:
            if rng.random() < 0.2:
                threading.Timer(rng.random() * 0.05, emu.kill).start()   # mid-command, or between
                time.sleep(0.06)
                kills += 1
                emu.restart()
            time.sleep(0.35)
            getattr(emu, name)(arg)
    emu.restart()
    stats = emu.stats()
    closed = stats["trips"] if stats["state"] == "for_hire" else stats["trips"] - 1
    assert kills >= 2
    assert wait(lambda: emu.stats().get("pending") == [] and len(storage.trips()) == closed, 40)
    assert [t["trip_no"] for t in storage.trips()] == list(range(1, closed + 1))


def test_taxiterm_emulate_meter_serves_the_firmware_on_a_pty(tmp_path):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-m", "terminal", "emulate-meter", "--flash", str(tmp_path / "f.bin")],
                          input="drive 0\nhire\ndrive 300\nsettle\nclear\nstats\nbogus\nquit\n", capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("/dev/pts/")
    assert "'trips': 1" in proc.stderr and "'pending': [1]" in proc.stderr    # nobody acknowledged it
    assert "unknown command 'bogus'" in proc.stderr


def test_taxiterm_emulate_meter_stops_cleanly_on_sigterm_and_takes_its_firmware_down(tmp_path):
    """A service manager (or `kill`) stops the emulator with SIGTERM while it waits for a command:
    exit 0, and the MicroPython process running the firmware is not left behind."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    def running(pid: str) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    proc = subprocess.Popen([sys.executable, "-m", "terminal", "emulate-meter", "--flash", str(tmp_path / "f.bin")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("/dev/pts/")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children, "the firmware runs in a child process"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, proc.stderr.read()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(running(c) for c in children):
            time.sleep(0.05)
        assert not any(running(c) for c in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
