"""An in-process serial port for a device emulator, used on the virtual clock instead of a pty.

In the simulator room. On the real clock the terminal talks to the receipt printer emulator
through a pseudo-terminal, exactly as to /dev/ttyUSB0. On the virtual clock that round trip
is two syscalls and a thread switch each way for every status byte (DLE EOT 1..4, every few
seconds), which is most of what a replayed idle second cost. ``LoopbackPort`` is the same
conversation without the kernel: what the terminal writes goes to the emulator's ``feed``
at once, and its replies wait in a buffer for the terminal's reads. The terminal's
``printer.device.PrinterConnection`` (the status query, the receipt bytes, the spooler) is the
same object either way; only the port under it differs. A silent printer answers nothing
and a read then returns ``b""`` at once: on the virtual clock no wall time need pass.
"""

from __future__ import annotations

from collections.abc import Callable

from printer.device import PrinterConnection


class LoopbackPort:
    """The part of a pyserial port that ``PrinterConnection`` uses, wired to ``feed(data) -> [replies]``."""

    def __init__(self, feed: Callable[[bytes], list], *, baudrate: int = 9600, timeout: float | None = 2.0) -> None:
        self._feed = feed
        self._pending = bytearray()
        self.baudrate = baudrate
        self.timeout = timeout
        self.is_open = True

    def write(self, data: bytes) -> int:
        if not self.is_open:
            raise OSError("port closed")
        for reply in self._feed(bytes(data)):
            self._pending += reply
        return len(data)

    def flush(self) -> None:
        pass

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise OSError("port closed")
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    @property
    def in_waiting(self) -> int:
        return len(self._pending)

    def reset_input_buffer(self) -> None:
        self._pending.clear()

    def close(self) -> None:
        self.is_open = False


class _Holder:
    """What ``PrinterConnection`` holds for a serial printer: the open port as ``device``."""

    def __init__(self, device: LoopbackPort) -> None:
        self.device = device

    def close(self) -> None:
        self.device.close()


def open_loopback_printer(url: str, feed: Callable[[bytes], list]) -> PrinterConnection:
    """A serial ``PrinterConnection`` on an in-process port to the printer emulator's ``feed``."""
    return PrinterConnection(url, _Holder(LoopbackPort(feed)), "serial")
