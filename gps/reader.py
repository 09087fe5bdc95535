"""The GNSS receiver adapter: a thread that reads a serial port and puts fix and health events on the loop's queue.

The port is any pyserial URL: a device (/dev/ttyAMA0, /dev/ttyUSB0) at a baud rate, a
pseudo-terminal path from the emulator, ``socket://host:port``, ``rfc2217://host:port``
or ``loop://``. The thread only decodes and enqueues:

  Event("fix", t_ms, {"fix": Fix})
  Event("gnss_health", t_ms, {"alarm": "gnss_fault"|"antenna_open"|"antenna_short", "active": bool})

``t_ms`` comes from the injected clock (the terminal's time of arrival); the receiver's
own UTC time is ``fix.time_ms``, offered to the terminal for clock discipline.

A receiver that is not there (a USB receiver unplugged at boot, its udev link missing) does
not stop the start: the reader runs without a port, its health raises ``gnss_fault`` after
``no_data_ms``, and it tries the path again every second, so plugging the receiver in is picked
up without a restart; so is a receiver unplugged and plugged in again. A URL no receiver can
appear at (an unknown scheme) is still refused at once: that is the configuration's fault.
"""

import os
import queue
import select
import threading
import time
from collections.abc import Callable

import serial
from serial import serialposix

from drivers.event import Event
from gps.decoder import AntennaReport, NmeaDecoder
from gps.fix import Fix
from gps.health import DEFAULT_NO_DATA_MS, DEFAULT_NO_FIX_MS, GnssHealth


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


REOPEN_S = 1.0          # a missing receiver is looked for again this often


class PortAbsent(ValueError):
    """The URL is good but no receiver answers there now (not plugged in, link missing)."""


def open_port(url: str, baudrate: int = 9600, timeout: float = 0.2) -> serial.SerialBase:
    """Open a receiver port by URL; a clear ValueError if it cannot be opened (``PortAbsent``
    when the URL is good but nothing is there now)."""
    if not url:
        raise ValueError("no GNSS port given")
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout)
    except (serial.SerialException, OSError) as exc:
        raise PortAbsent(f"cannot open GNSS port {url!r}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"cannot open GNSS port {url!r}: {exc}") from None


class GnssReader:
    """Reads the receiver on its own thread; ``start()``, ``stop()``; ``stats()`` for reports."""

    def __init__(self, url: str, events: queue.Queue, *, clock: Callable[[], int] = wall_clock_ms,
                 baudrate: int = 9600, no_data_ms: int = DEFAULT_NO_DATA_MS, no_fix_ms: int = DEFAULT_NO_FIX_MS,
                 port: serial.SerialBase | None = None, **decoder_options) -> None:
        self.url = url
        self._events = events
        self._clock = clock
        self._baudrate = baudrate
        self._owns_port = port is None      # a port handed in is the caller's: never reopened
        self.error: str | None = None
        self._port: serial.SerialBase | None = port
        if port is None:
            try:
                self._port = open_port(url, baudrate)
            except PortAbsent as exc:
                self.error = str(exc)       # run without it: gnss_fault, and looked for every second
        self._decoder = NmeaDecoder(**decoder_options)
        self._health = GnssHealth(clock(), no_data_ms=no_data_ms, no_fix_ms=no_fix_ms)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"gnss-reader {url}", daemon=True)

    def start(self) -> "GnssReader":
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._port is not None:
            self._port.close()

    def stats(self) -> dict:
        """Counters of the decoder (ints are read atomically; good enough for a report)."""
        return self._decoder.stats.as_dict()

    def _emit_health(self, t_ms: int, changes: list[tuple[str, bool]]) -> None:
        for alarm, active in changes:
            self._events.put(Event("gnss_health", t_ms, {"alarm": alarm, "active": active}))

    def _reopen(self):
        """The port again by its URL, or None while the receiver is not there."""
        try:
            port = open_port(self.url, self._baudrate)
        except ValueError as exc:
            self.error = str(exc)
            return None
        self.error = None
        return port

    def _run(self) -> None:
        decoder, health = self._decoder, self._health
        port = self._port
        read = _chunk_reader(port) if port is not None else None
        while not self._stop.is_set():
            if port is None:
                if self._stop.wait(REOPEN_S):
                    break
                self._emit_health(self._clock(), health.tick(self._clock()))
                port = self._port = self._reopen()
                read = _chunk_reader(port) if port is not None else None
                continue
            try:
                data = read()  # blocks up to the port timeout: the health clock still ticks
            except (serial.SerialException, OSError, TypeError) as exc:
                # The device went away (USB unplugged, pty closed; TypeError: pyserial's read on a
                # port closed under it): health raises gnss_fault after no_data_ms. A port we
                # opened is closed and looked for again by its URL, so a replug is picked up.
                self.error = str(exc)
                if self._owns_port:
                    try:
                        port.close()
                    except Exception:  # noqa: BLE001 - a port already gone may fail to close; it is dropped anyway
                        pass
                    port = self._port = None
                    continue
                if self._stop.wait(0.2):
                    break
                self._emit_health(self._clock(), health.tick(self._clock()))
                continue
            now = self._clock()
            if not data:
                self._emit_health(now, health.tick(now))
                continue
            self._emit_health(now, health.on_data(now))
            for item in decoder.feed(data):
                if type(item) is Fix:
                    self._events.put(Event("fix", now, {"fix": item}))
                    self._emit_health(now, health.on_fix(item, now))
                elif type(item) is AntennaReport:
                    self._emit_health(now, health.on_antenna(item.status, now))


def _chunk_reader(port: serial.SerialBase) -> Callable[[], bytes]:
    """What has arrived, waiting up to the port's timeout for the first byte.

    A device or pseudo-terminal is waited on with one ``select`` and read with one ``read``
    of everything there (an epoch's sentences arrive together at 10 Hz): two system calls an
    epoch instead of pyserial's five, on the thread that runs all day. Other URLs
    (``socket://``, ``rfc2217://``, ``loop://``) go through pyserial's own read.
    """
    fd = getattr(port, "fd", None)
    if type(port) is not serialposix.Serial or fd is None:
        def read_any() -> bytes:
            data = port.read(1)
            waiting = port.in_waiting if data else 0
            return data + port.read(waiting) if waiting else data
        return read_any
    timeout = 0.2 if port.timeout is None else port.timeout

    def read_fd() -> bytes:
        if port.fd != fd:      # closed under us: never read a number the system has handed on
            raise serial.SerialException("port closed")
        if not select.select((fd,), (), (), timeout)[0]:
            return b""
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:     # the port is non-blocking; a wake with nothing to read
            return b""
        if not data:            # readable yet nothing: the device went away (as pyserial says it)
            raise serial.SerialException("device reports readiness to read but returned no data")
        return data
    return read_fd
