"""Storage room: one running terminal per state directory.

`taxiterm run` holds an exclusive ``flock`` on ``STATE/run.lock`` for as long as it lives, with its
process id written inside. A second terminal on the same database would interleave two loops'
writes; a self-test beside a running terminal would open its serial ports and take over its
broker session (the shipped broker makes the username the client id). Both ask the lock first.
The kernel drops the lock with the process, so a crash or SIGKILL never leaves it stale.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

NAME = "run.lock"


class Busy(Exception):
    """Another process holds the state directory."""

    def __init__(self, state_dir: Path, pid: int | None) -> None:
        self.state_dir, self.pid = state_dir, pid
        who = f" (pid {pid})" if pid else ""
        super().__init__(f"a terminal is running on {state_dir}{who}: stop it first "
                         f"(sudo systemctl stop taxiterm)")


class RunLock:
    def __init__(self, state_dir: str | os.PathLike) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Hold the directory, or raise Busy naming the holder."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _pid_in(fd)
            os.close(fd)
            raise Busy(self.state_dir, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)      # closing drops the flock
            self._fd = None

    def holder(self) -> int | None:
        """The process id holding the directory (0 if unreadable), or None when no terminal runs on it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _pid_in(fd) or 0
        finally:
            os.close(fd)
        return None

    def check_free(self) -> None:
        pid = self.holder()
        if pid is not None:
            raise Busy(self.state_dir, pid or None)


def _pid_in(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or 0) or None
    except (OSError, ValueError):
        return None
