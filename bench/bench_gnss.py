"""Benchmarks of the GNSS part: distance accuracy, parked drift, NMEA decoding speed against gpsd's decoder."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from gps.decoder import NmeaDecoder
from gps.distance import GnssOdometer
from gps.fix import Fix
from sim.gnss_emulator import DEFAULT_START_MS, nmea_epochs
from sim.gnss_route import drive, parked, urban_route

SEEDS = (1, 2, 3)
SENTENCES = 100_000


def _odometer(samples, **emulator) -> GnssOdometer:
    decoder, odometer = NmeaDecoder(), GnssOdometer()
    for _t, data in nmea_epochs(samples, **emulator):
        for item in decoder.feed(data):
            if type(item) is Fix:
                odometer.add(item)
    for item in decoder.flush():
        if type(item) is Fix:
            odometer.add(item)
    return odometer


def distance_error_pct() -> dict:
    """Worst of three 10 km city drives (lights, pick-ups) with 3 m noise, a 150 m jump, and short
    signal losses: two no-fix spells (12 s, 15 s) and two silent ones (8 s, 10 s). Gaps are bridged
    by the geodesic chord, a lower bound, so long gaps through turns read short (docs/gnss.md)."""
    worst = 0.0
    for seed in SEEDS:
        samples = list(drive(urban_route(10_000, seed=seed), 1.0))
        truth = samples[-1].distance_m
        odometer = _odometer(samples, noise_m=3.0, seed=seed,
                             dropouts=[(240, 12), (700, 15)], silences=[(450, 8), (1100, 10)],
                             jumps=[(900, 2, 150.0)])
        worst = max(worst, abs(odometer.total_m - truth) / truth * 100)
    return {"value": round(worst, 4), "unit": "%", "better": "lower"}


def parked_phantom() -> dict:
    """Worst of three 10-minute stands with 3 m position noise."""
    worst = max(_odometer(list(drive(parked(600), 1.0)), noise_m=3.0, seed=seed).total_m for seed in SEEDS)
    return {"value": round(worst, 3), "unit": "m/10min", "better": "lower"}


def _sample_file(directory: Path) -> Path:
    """About 100,000 sentences from the u-blox style emulator (RMC VTG GGA GSA GSVs GLL per epoch)."""
    path = directory / "bench.nmea"
    count, start_ms = 0, DEFAULT_START_MS
    with path.open("wb") as out:
        while count < SENTENCES:
            last_ms = 0
            for t_ms, data in nmea_epochs(drive(urban_route(10_000, seed=count + 1), 1.0), seed=count,
                                          start_ms=start_ms):
                last_ms = t_ms
                out.write(data)
                count += data.count(b"\n")
                if count >= SENTENCES:
                    break
            start_ms += last_ms + 1000  # the next drive continues in time: no epoch is refused
    return path


def _decode_file(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    decoder = NmeaDecoder()
    fixes = 0
    with path.open("rb") as log:
        while chunk := log.read(1 << 16):
            fixes += sum(1 for item in decoder.feed(chunk) if type(item) is Fix)
    fixes += sum(1 for item in decoder.flush() if type(item) is Fix)
    return time.perf_counter() - start, fixes


def _gpsdecode(path: Path) -> float:
    binary = shutil.which("gpsdecode")
    if binary is None:
        raise RuntimeError("gpsdecode not found (package gpsd-clients; make setup installs it)")
    with path.open("rb") as log:
        start = time.perf_counter()
        subprocess.run([binary], stdin=log, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


_decode_cache: dict = {}


def _measure() -> dict:
    if not _decode_cache:
        with tempfile.TemporaryDirectory() as tmp:
            path = _sample_file(Path(tmp))
            ours = min(_decode_file(path) for _ in range(3))
            theirs = min(_gpsdecode(path) for _ in range(3))
        _decode_cache.update(ours_s=ours[0], fixes=ours[1], gpsdecode_s=theirs)
    return _decode_cache


def parse_vs_gpsdecode() -> dict:
    m = _measure()
    return {"value": round(m["ours_s"] / m["gpsdecode_s"], 3), "unit": "x gpsdecode time", "better": "lower"}


def fixes_per_s() -> dict:
    m = _measure()
    return {"value": round(m["fixes"] / m["ours_s"]), "unit": "fixes/s", "better": "higher"}


METRICS = {
    "gnss_distance_error_pct": distance_error_pct,
    "parked_phantom_m_per_10min": parked_phantom,
    "nmea_parse_vs_gpsdecode": parse_vs_gpsdecode,
    "nmea_fixes_per_s": fixes_per_s,
}
