"""A pseudo-terminal pair standing in for a serial device.

The emulator holds the master side; the terminal opens the slave path with pyserial
exactly as it would open /dev/ttyUSB0 (the way gpsd's gpsfake serves a log).
"""

import os
import select
import termios
import threading
import tty


class PtyDevice:
    """A pty whose master end belongs to an emulator.

    ``path`` is what the device under test opens. ``read(timeout)`` and ``write(data)``
    act on the master end. ``close()`` releases both ends.
    """

    def __init__(self) -> None:
        self.master, self._slave = os.openpty()
        # Raw mode on the slave: no echo, no line discipline, bytes pass unchanged.
        tty.setraw(self._slave, termios.TCSANOW)
        attrs = termios.tcgetattr(self._slave)
        attrs[3] &= ~termios.ECHO
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        self.path = os.ttyname(self._slave)
        self._lock = threading.Lock()
        self.closed = False

    def read(self, timeout: float = 0.1, size: int = 4096) -> bytes:
        """Bytes the device under test wrote, or b"" after ``timeout`` seconds."""
        if self.closed:
            return b""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, size)
        except OSError:  # the other end closed: nothing more will come
            return b""

    def write(self, data: bytes) -> None:
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self.master, view)
                view = view[written:]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self.master)
            os.close(self._slave)

    def __enter__(self) -> "PtyDevice":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
