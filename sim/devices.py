"""Device adapters for a terminal stepped by the simulator: real bytes on real ptys, no timer threads.

The workshop bench of the simulator. On a virtual clock the terminal's own timer
threads (sign pacer, pulse sampler, spooler worker) would see time leap and misjudge
it, so here the runner steps each device itself, synchronously, at the simulated
moment, while the bytes still travel the real way:

- ``PtyGnss``: NMEA text from the GNSS emulator is written to a pseudo-terminal and read
  back from its other end by pyserial, then decoded by the terminal's real parser
  (gps.decoder) and judged by gps.health, giving ``fix`` and ``gnss_health`` events.
- ``PtySign``: JT/T 905.2 frames to the sign emulator on its pty; an unanswered command
  becomes a ``sign_fault`` event, as the sign driver reports it.
- ``FrameRecorder``: the driver display (luma dummy through drivers.display) that keeps
  a frame whenever anything it shows changes (a value, a warning), with the values shown,
  so that every moment of the display can be checked against the meter; the PNG is
  rendered only when the run renders (``out_dir``).
- Pulses: gpiozero mock pin + ``GpioPulseCounter`` (``gpio``) or a counter file +
  ``KernelPulseCounter`` (``kernel``), sampled by the runner once a period.
"""

from __future__ import annotations

import mmap
import os
import queue
from collections.abc import Callable
from pathlib import Path

import serial

from drivers.display import DriverDisplay
from drivers.event import Event
from drivers.sign_frame import (
    CMD_SET_STATE,
    DEVICE_TOP_LIGHT,
    Frame,
    FrameDecoder,
    encode,
    parse_ack,
    state_frame,
)
from gps.decoder import AntennaReport, NmeaDecoder
from gps.fix import Fix
from gps.framer import with_checksum
from gps.health import GnssHealth
from sim.pty import PtyDevice


class SimDeviceError(RuntimeError):
    """An emulated device did not behave (a pty that does not pass bytes, a sign that never answers)."""


class PtyGnss:
    """The receiver side of the GNSS emulator: ``epoch(data)`` pushes one epoch through the pty."""

    def __init__(self, events: queue.Queue, clock: Callable[[], int], **decoder_options) -> None:
        self.device = PtyDevice()
        self.path = self.device.path
        self._port = serial.serial_for_url(self.path, baudrate=9600, timeout=1.0)
        self._events = events
        self._clock = clock
        self.decoder = NmeaDecoder(**decoder_options)
        self.health = GnssHealth(clock())
        self.fixes = 0
        self.last_fix: Fix | None = None
        self.bytes = 0

    def _emit(self, t: int, changes) -> None:
        for alarm, active in changes:
            self._events.put(Event("gnss_health", t, {"alarm": alarm, "active": active}))

    def epoch(self, data: bytes, *, through_pty: bool = True) -> None:
        """Write ``data`` to the emulator's end, read it at the terminal's end, decode it.

        ``through_pty=False`` (the virtual clock) hands the same bytes to the same decoder
        in process: the pty's round trip (two syscalls and a thread switch each way) only
        matters where time is real, and was half of a replayed second.
        """
        if through_pty:
            self.device.write(data)
            got = self._port.read(len(data))
            if len(got) != len(data):
                raise SimDeviceError(f"GNSS pty passed {len(got)} of {len(data)} bytes")
        else:
            got = data
        self.bytes += len(got)
        now = self._clock()
        self._emit(now, self.health.on_data(now))
        for item in self.decoder.feed(got):
            if type(item) is Fix:
                self.fixes += 1
                self.last_fix = item
                self._events.put(Event("fix", now, {"fix": item}))
                self._emit(now, self.health.on_fix(item, now))
            elif type(item) is AntennaReport:
                self._emit(now, self.health.on_antenna(item.status, now))

    def quiet(self) -> None:
        """A second with no bytes from the receiver: the health clock still runs."""
        now = self._clock()
        self._emit(now, self.health.tick(now))

    def close(self) -> None:
        self._port.close()
        self.device.close()


def antenna_line(style: str, state: str) -> bytes:
    """The receiver's antenna report in its family's manner (see sim/gnss_emulator.py)."""
    if style == "mtk":
        return with_checksum("PGTOP,11," + {"ok": "3", "open": "2", "short": "1"}[state])
    if style == "ublox":
        return with_checksum(f"GNTXT,01,01,02,ANTSTATUS={state.upper()}")
    return with_checksum(f"BDTXT,01,01,01,ANTENNA {state.upper()}")


class PtySign:
    """Sends the rooftop sign its state over the sign emulator's pty and waits for the acknowledgement."""

    def __init__(self, path: str, events: queue.Queue, clock: Callable[[], int], answer_timeout_s: float = 0.5):
        self._port = serial.serial_for_url(path, baudrate=9600, timeout=answer_timeout_s)
        self._events = events
        self._clock = clock
        self._decoder = FrameDecoder()
        self.faulty = False
        self.shown: str | None = None

    def show(self, state: str) -> None:
        self._port.write(encode(state_frame(state)))
        self.shown = state
        acked = False
        while not acked:
            data = self._port.read(1)
            if not data:
                break
            data += self._port.read(self._port.in_waiting)
            for item in self._decoder.feed(data):
                if (isinstance(item, Frame) and item.device == DEVICE_TOP_LIGHT and item.command == CMD_SET_STATE
                        and parse_ack(item.body) == 0):
                    acked = True
        if acked == self.faulty:
            self.faulty = not acked
            self._events.put(Event("sign_fault", self._clock(), {
                "active": self.faulty, "reason": "" if acked else "no answer to a state command"}))

    def close(self) -> None:
        self._port.close()


def shown_values(screen, warnings: tuple) -> dict:
    """What a screen shows a person, as plain data: its kind and fields (amounts in fen)."""
    values = {"screen": type(screen).__name__, "warnings": list(warnings)}
    fields = getattr(screen, "__dataclass_fields__", {})
    for name in fields:
        value = getattr(screen, name)
        values[name] = list(value) if isinstance(value, tuple) else value
    if hasattr(screen, "total_fen"):
        values["total_fen"] = screen.total_fen
    return values


class FrameRecorder:
    """The cabin display: a real ``DriverDisplay`` on luma's dummy device, keeping every frame it shows."""

    def __init__(self, display: DriverDisplay, clock: Callable[[], int], out_dir: Path | None) -> None:
        self.display = display
        self._clock = clock
        self.out_dir = out_dir
        self.frames: list[tuple[int, str, str]] = []   # (t_ms, screen kind, file name)
        self.shown: list[dict] = []                    # {"t_ms", "screen", fields..., "warnings", "file"}
        self.screen = None
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)

    @property
    def warnings(self) -> tuple:
        return self.display.warnings

    def warnings_due(self, labels: tuple) -> bool:
        return self.display.warnings_due(labels)

    def set_faults(self, labels: tuple) -> bool:
        changed = self.display.set_faults(labels)
        if changed and self.screen is not None:
            self._record(self._clock())
        return changed

    def show(self, screen) -> None:
        self.screen = screen
        self._record(self._clock())

    def on_event(self, event: Event) -> bool:
        changed = self.display.on_event(event)
        if changed and self.screen is not None:
            self._record(self._clock())
        return changed

    def _record(self, now: int) -> None:
        values = shown_values(self.screen, self.display.warnings)
        if self.shown and {k: v for k, v in self.shown[-1].items() if k not in ("t_ms", "file")} == values:
            return
        name = f"frame_{len(self.frames):05d}.png"
        if self.out_dir is not None:
            self.display.show(self.screen).save(self.out_dir / name)
        else:
            self.display.screen = self.screen
        self.frames.append((now, type(self.screen).__name__, name))
        self.shown.append(dict(values, t_ms=now, file=f"frames/{name}" if self.out_dir is not None else None))


def contact_sheet(frames_dir: Path, frames: list[tuple[int, str, str]], out: Path, columns: int = 4,
                  limit: int = 96, label: Callable[[int], str] = str) -> int:
    """Frames side by side with their times under them; returns how many it holds."""
    from PIL import Image, ImageDraw

    from drivers.screens import font

    chosen = frames if len(frames) <= limit else [frames[i * len(frames) // limit] for i in range(limit)]
    if not chosen:
        return 0
    first = Image.open(frames_dir / chosen[0][2])
    w, h = first.size
    rows = (len(chosen) + columns - 1) // columns
    sheet = Image.new("L", (columns * (w + 8) + 8, rows * (h + 24) + 8), 255)
    draw = ImageDraw.Draw(sheet)
    small = font(12)
    for i, (t, kind, name) in enumerate(chosen):
        x, y = 8 + (i % columns) * (w + 8), 8 + (i // columns) * (h + 24)
        frame = Image.open(frames_dir / name).convert("L")
        sheet.paste(frame, (x, y))
        draw.rectangle((x - 1, y - 1, x + w, y + h), outline=0)
        draw.text((x, y + h + 3), f"{label(t)} {kind}", fill=0, font=small)
    sheet.save(out)
    return len(chosen)


class KernelCounterFile:
    """A stand-in for the Linux counter subsystem's count file, which the runner keeps up to date.

    The file always holds exactly the count and a newline, as the kernel's attribute does. The
    runner writes it through a shared memory map of the file (the page the reader's ``pread``
    sees, without a system call and a hand-over of the interpreter lock on every 0.2 s); the
    file is resized, and mapped again, only when the count gains a digit.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        path.write_text("0\n")
        self._fd = os.open(path, os.O_RDWR)
        self._map: mmap.mmap | None = mmap.mmap(self._fd, 2)

    def add(self, pulses: int) -> None:
        if pulses:
            self.count += pulses
            text = b"%d\n" % self.count
            if len(text) != len(self._map):      # a digit more: the file grows (a count only grows)
                self._map.close()
                os.ftruncate(self._fd, len(text))
                self._map = mmap.mmap(self._fd, len(text))
            self._map[:] = text

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
