"""A terminal killed with SIGKILL at random moments, and platform outages in between, over
each JT/T link with no broker: every stored message reaches the JT/T platform, each trip
as exactly one record with its amount, no location twice as a live report (a repeat only
ever comes as a blind-area resend), and the terminal registers once."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sim.jtt_platform import JttPlatform
from terminal.link.jtt import e6_from_905
from tests.jttlink.jt_child import LAT0

ROOT = Path(__file__).resolve().parents[2]
COUNT = 300
KILLS = 6


class Child:
    def __init__(self, tmp_path: Path, platform: JttPlatform) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.jttlink.jt_child", str(tmp_path / "t.db"), platform.protocol,
             str(platform.port), str(tmp_path / "auth"), str(COUNT)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        self.drained = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.ready.wait(30), "child never started"

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            self.lines.append(line)
            if line == "ready":
                self.ready.set()
            if line == "drained":
                self.drained.set()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def stored_number(location: dict, protocol: str) -> int:
    lat = location["latitude"]
    if protocol == "jt905":
        lat = e6_from_905(lat)
    return round((lat - LAT0) / 10)


@pytest.mark.parametrize("protocol", ["jt808", "jt905"])
def test_a_shift_over_a_jt_link_survives_kills_and_outages(tmp_path, protocol):
    rng = random.Random(808 if protocol == "jt808" else 905)
    with JttPlatform(protocol) as platform:
        for _ in range(KILLS):
            child = Child(tmp_path, platform)
            time.sleep(rng.uniform(0.05, 0.25))
            if rng.random() < 0.5:               # an outage while the terminal works
                platform.acking = rng.random() < 0.5
                platform.refuse = True
                platform.drop()
                time.sleep(rng.uniform(0.02, 0.1))
                platform.refuse, platform.acking = False, True
                time.sleep(rng.uniform(0.0, 0.1))
            child.kill()
        child = Child(tmp_path, platform)
        assert child.drained.wait(60), "the backlog never drained"
        child.kill()

        numbers = [stored_number(loc, protocol) for loc in platform.locations()]
        live = Counter(stored_number(loc, protocol) for loc in platform.locations() if not loc["resent"])
        expected = {n for n in range(1, COUNT + 1) if n % 10}
        assert set(numbers) == expected, "a stored location is missing or unknown"
        assert max(live.values()) == 1, "a location went twice as a live report"
        if protocol == "jt905":
            trips = {}
            for m in platform.messages(0x0B05):
                trips.setdefault(m["body"]["operation_id"], set()).add(m["body"]["meter"]["fare"])
            assert sorted(trips) == list(range(1, COUNT // 10 + 1))
            assert all(fares == {f"{(1300 + 10 * no) // 10:06d}"} for no, fares in trips.items())
        else:
            trips = {}
            for record in platform.taxi_data():
                trips.setdefault(record["record"]["trip_no"], set()).add(record["record"]["total_fen"])
            assert sorted(trips) == list(range(1, COUNT // 10 + 1))
            assert all(totals == {1300 + 10 * no} for no, totals in trips.items())
        if protocol == "jt808":
            # Registered once in all those lives; every authentication used that one code. (How many
            # lives got as far as authenticating depends on the machine's speed, so it is not counted.)
            assert platform.registrations == 1 and platform.authentications >= 1
            assert {m["body"]["code"] for m in platform.messages(0x0102)} == set(platform.auth_codes.values())
