"""A GNSS receiver for the bench that the technician steers: still until told to drive (simulator room).

``LiveGnss`` writes one NMEA epoch a second (sim/gnss_emulator.py's sentences, real UTC
time) to a pseudo-terminal. The car stands at ``origin`` until ``drive(kmh, seconds)``
moves it east at that speed for that long, which is what ``taxiterm bench drive`` asks for
together with the speed-sensor pulses on the terminal's control socket.
"""

from __future__ import annotations

import os
import termios
import threading
import time

from sim.gnss_emulator import nmea_epochs
from sim.gnss_route import TruthSample, offset
from sim.pty import PtyDevice

ORIGIN = (30.2741, 120.1551)


class LiveGnss:
    def __init__(self, origin: tuple[float, float] = ORIGIN, style: str = "ublox", noise_m: float = 1.0,
                 seed: int = 1) -> None:
        self.device = PtyDevice()
        self.path = self.device.path
        os.set_blocking(self.device.master, False)
        self.lat, self.lon = origin
        self.course_deg = 90.0
        self.distance_m = 0.0
        self._speed_mps = 0.0
        self._until = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._style, self._noise_m, self._seed = style, noise_m, seed
        self._start_ms = time.time_ns() // 1_000_000
        self._t0 = time.monotonic()
        self._last = self._t0
        self._thread = threading.Thread(target=self._run, name="bench-gnss", daemon=True)
        self.epochs_sent = 0

    def start(self) -> LiveGnss:
        self._thread.start()
        return self

    def drive(self, kmh: float, seconds: float) -> str:
        if not 0 <= kmh <= 250 or not 0 <= seconds <= 3600:
            raise ValueError("kmh must be 0..250 and seconds 0..3600")
        with self._lock:
            self._advance(time.monotonic())
            self._speed_mps = kmh / 3.6
            self._until = time.monotonic() + seconds
        return f"gnss: moving east at {kmh:g} km/h for {seconds:g} s"

    @property
    def speed_kmh(self) -> float:
        with self._lock:
            return self._speed_mps * 3.6 if time.monotonic() < self._until else 0.0

    def _advance(self, now: float) -> None:
        """Move the car from the last update to ``now`` (speed drops to 0 at the drive's end)."""
        moving_until = min(now, self._until)
        dt = max(0.0, moving_until - self._last) if self._speed_mps else 0.0
        if dt:
            metres = self._speed_mps * dt
            self.lat, self.lon = offset(self.lat, self.lon, 0.0, metres)
            self.distance_m += metres
        if now >= self._until:
            self._speed_mps = 0.0
        self._last = now

    def _samples(self):
        n = 0
        while not self._stop.is_set():
            n += 1
            if self._stop.wait(max(0.0, self._t0 + n - time.monotonic())):
                return
            with self._lock:
                self._advance(time.monotonic())
                yield TruthSample(n * 1000, self.lat, self.lon, self._speed_mps, self.course_deg, self.distance_m)

    def _run(self) -> None:
        for _t_ms, data in nmea_epochs(self._samples(), style=self._style, noise_m=self._noise_m,
                                       speed_noise_mps=0.05, seed=self._seed, start_ms=self._start_ms - 1000):
            try:
                self._write(data)
            except OSError:
                return
            self.epochs_sent += 1

    def _write(self, data: bytes) -> None:
        """Write an epoch; with nobody reading the port, old unread epochs are dropped, as on a wire."""
        try:
            os.write(self.device.master, data)
        except BlockingIOError:
            termios.tcflush(self.device.master, termios.TCOFLUSH)
            os.write(self.device.master, data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)
        self.device.close()
