"""Speed-sensor pulses: count the edges, hand the cumulative count to the loop at a fixed rate.

Two counters, chosen by the board profile's ``pulse_counter``:

- ``GpioPulseCounter`` (``pulse_counter = ""``): a gpiozero ``DigitalInputDevice`` on the pulse pin
  (open-collector sensor, internal pull-up, counted on the falling edge) increments a count in its
  callback. Fine up to a few kHz on a Pi; beyond that use a kernel counter.
- ``KernelPulseCounter`` (``pulse_counter = "/sys/bus/counter/devices/counter0/count0/count"``): the
  Linux counter subsystem counts in the kernel (e.g. the ``interrupt-cnt`` driver bound to the pulse
  GPIO in the device tree); we read its cumulative count file.

Either one reads the count every ``fine_ms`` (200 ms: the driving recorder's 0.2 s stop data,
docs/recorder.md) and puts ``Event("pulses", t_ms, {"count": n, "fine": [[t, count], ...]})`` on
the queue each ``period_ms``: ``count`` as before, ``fine`` the readings since the last event,
oldest first, the last one being ``count`` at ``t_ms``. The loop sees one event a period whatever
the fine rate (``read()`` takes one reading, ``sample()`` one reading and the event; the
``start()`` thread repeats them). ``fine_ms`` falls back to ``period_ms`` where that is not a
multiple of it. ``PulseWatch`` (pure) tells when the count stands still
while GNSS says the car moves: ``Event("pulse_silent", t_ms, {"since_ms": ..., "active": True})``,
and ``active: False`` once pulses come back.
"""

import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from gpiozero import DigitalInputDevice

from drivers.event import Event


class PulseError(RuntimeError):
    """The pulse count cannot be read."""


FINE_MS = 200
MAX_FINE = 64          # readings kept for the next event while the events cannot be made


class _Sampler:
    """Reads the cumulative count every ``fine_ms``, puts it on the queue every ``period_ms``, from a thread."""

    def __init__(self, events: queue.Queue, clock: Callable[[], int], period_ms: int, fine_ms: int = FINE_MS) -> None:
        if period_ms <= 0:
            raise ValueError(f"period_ms must be positive, got {period_ms}")
        self._events = events
        self._clock = clock
        self.period_ms = period_ms
        self.fine_ms = fine_ms if 0 < fine_ms <= period_ms and period_ms % fine_ms == 0 else period_ms
        self._fine: list[list[int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None  # why the last sample failed, if it did

    @property
    def count(self) -> int:
        raise NotImplementedError

    def read(self, t_ms: int | None = None) -> None:
        """One fine reading (at ``t_ms`` where a stepped clock says when), kept for the next event."""
        t = self._clock() if t_ms is None else t_ms
        self._fine.append([t, self.count])
        if len(self._fine) > MAX_FINE:
            del self._fine[0]

    def sample(self, t_ms: int | None = None) -> Event:
        self.read(t_ms)
        fine, self._fine = self._fine, []
        t, count = fine[-1]
        event = Event("pulses", t, {"count": count, "fine": fine})
        self._events.put(event)
        return event

    def start(self):
        self._thread = threading.Thread(target=self._run, name="pulse-sampler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        per_event = self.period_ms // self.fine_ms
        n = 0
        while not self._stop.wait(self.fine_ms / 1000):
            n += 1
            try:
                if n % per_event:
                    self.read()
                else:
                    self.sample()
                self.error = None
            except PulseError as exc:
                # No event: a count that stops moving is what PulseWatch reports.
                self.error = str(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


class GpioPulseCounter(_Sampler):
    def __init__(self, pin: int, events: queue.Queue, clock: Callable[[], int], pin_factory,
                 *, period_ms: int = 1000, fine_ms: int = FINE_MS) -> None:
        super().__init__(events, clock, period_ms, fine_ms)
        self._count = 0
        self._lock = threading.Lock()
        self.device = DigitalInputDevice(pin, pull_up=True, pin_factory=pin_factory)
        self.device.when_activated = self._edge

    def _edge(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def close(self) -> None:
        self.stop()
        self.device.close()


class KernelPulseCounter(_Sampler):
    def __init__(self, path: str, events: queue.Queue, clock: Callable[[], int], *, period_ms: int = 1000,
                 fine_ms: int = FINE_MS) -> None:
        super().__init__(events, clock, period_ms, fine_ms)
        self.path = Path(path)
        self._fd: int | None = None
        self._base = None
        self._base = self._read()  # fail at start, not later, if the counter is absent

    def _read(self) -> int:
        # The attribute stays open and is read again from offset 0 (as sysfs attributes are
        # polled): one syscall a sample instead of open, read and close.
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY)
            text = os.pread(self._fd, 4096, 0).decode("ascii", "replace").strip()
        except OSError as exc:
            self._close_fd()      # the next sample opens it again (a counter driver bound anew)
            raise PulseError(f"kernel pulse counter {self.path}: {exc.strerror or exc}") from exc
        if not text.isdigit():
            raise PulseError(f"kernel pulse counter {self.path}: not a count: {text[:20]!r}")
        return int(text)

    @property
    def count(self) -> int:
        """Pulses since this counter was opened (the kernel's count may start anywhere)."""
        return self._read() - self._base

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        self.stop()
        self._close_fd()


class PulseWatch:
    """Pure: a pulse line that stands still while GNSS says the car moves is a sensor fault or tampering."""

    def __init__(self, min_speed_kmh: float = 10.0, silent_after_ms: int = 10_000,
                 speed_valid_ms: int = 3_000) -> None:
        self.min_speed_kmh = min_speed_kmh
        self.silent_after_ms = silent_after_ms
        self.speed_valid_ms = speed_valid_ms
        self._count: int | None = None
        self._moved_at: int | None = None  # when the count last changed
        self._moving_since: int | None = None  # start of the current stretch above min speed
        self._speed_at: int | None = None
        self.silent_since: int | None = None  # set while the fault is raised

    def on_speed(self, t_ms: int, speed_kmh: float | None) -> Event | None:
        """A GNSS speed (km/h), or None when there is no fix."""
        fast = speed_kmh is not None and speed_kmh > self.min_speed_kmh
        if not fast:
            self._moving_since = None
        elif self._moving_since is None or (self._speed_at is not None and
                                            t_ms - self._speed_at > self.speed_valid_ms):
            self._moving_since = t_ms
        self._speed_at = t_ms if speed_kmh is not None else None
        return self._judge(t_ms)

    def on_pulses(self, t_ms: int, count: int) -> Event | None:
        if self._count is None or count != self._count:
            self._count = count
            self._moved_at = t_ms
            if self.silent_since is not None:
                since, self.silent_since = self.silent_since, None
                return Event("pulse_silent", t_ms, {"since_ms": since, "active": False})
            return None
        return self._judge(t_ms)

    def on_event(self, event: Event) -> Event | None:
        """Feed a ``pulses`` event straight from the queue."""
        if event.kind != "pulses":
            raise ValueError(f"PulseWatch takes pulses events, not {event.kind!r}")
        return self.on_pulses(event.t_ms, event.data["count"])

    def _judge(self, t_ms: int) -> Event | None:
        if self.silent_since is not None or self._moving_since is None or self._count is None:
            return None
        if self._speed_at is None or t_ms - self._speed_at > self.speed_valid_ms:
            return None  # the GNSS speed is stale: no claim the car moves
        since = max(self._moving_since, self._moved_at)
        if t_ms - since > self.silent_after_ms:
            self.silent_since = since
            return Event("pulse_silent", t_ms, {"since_ms": since, "active": True})
        return None
