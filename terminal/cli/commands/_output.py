"""The command line room: writing a command's output file (``--out``, ``--gbt``, ``--write``, ...).

A path in a folder that does not exist, a path naming a folder, a full disk: each is a one-line
error naming the path, never a traceback, and nothing is left behind (no ``FILE.tmp``, no half
file). The file appears whole or not at all: written beside it under a temporary name, then
renamed over it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from terminal.cli import CommandError


def check_output(path: str | Path, what: str = "output") -> Path:
    """Refuse before any work (or any audit record) a path that cannot be written: its folder is
    missing or is no folder, or the path itself is a folder."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CommandError(f"cannot write {what} {path}: it is a directory")
    if not parent.is_dir():
        reason = "is not a directory" if parent.exists() else "no such directory"
        raise CommandError(f"cannot write {what} {path}: {parent} {reason}")
    return path


def write_output(path: str | Path, data: bytes | str | Callable[[Path], None], what: str = "output") -> Path:
    """Write ``data`` (bytes, text, or a function that writes the temporary path) to ``path`` whole."""
    path = check_output(path, what)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if callable(data):
            data(tmp)
        elif isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise CommandError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass      # renamed over the file: the usual case
    return path
