"""The ``taxiterm`` command line.

Each subcommand lives in its own module under ``terminal/cli/commands/`` and exposes
``register(subparsers)``; the parser is assembled from whatever modules that package
holds, so a new command is a new file. Other packages add command packages of their own
through the ``taxiterm.commands`` entry point group (the simulator's ``sim`` and
``emulate``), so the product never imports them by name.
"""

import argparse
import importlib
import pkgutil
import sys

import terminal
import terminal.cli.commands

# product commands to which extensions add subcommands of their own (``bench up`` from sim/)
EXTENDED = ("bench",)


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser(argv: list[str] | None = None, whole: bool = False) -> argparse.ArgumentParser:
    """The parser with the product's commands, and the extensions' when ``argv`` asks for one
    of theirs (or for help), so that ``taxiterm run`` does not pay for reading entry points.
    A product command named in ``argv`` is the only one imported: the car's process
    (``taxiterm run``) does not hold the inspector's, exporter's or updater's modules."""
    parser = argparse.ArgumentParser(prog="taxiterm", description="Taxi onboard terminal")
    parser.add_argument("--version", action="version", version=f"taxiterm {terminal.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((a for a in (argv or []) if not a.startswith("-")), None)
    own = {m.name for m in pkgutil.iter_modules(terminal.cli.commands.__path__) if not m.name.startswith("_")}
    if not whole and wanted in own and wanted not in EXTENDED:
        _register(sub, terminal.cli.commands, only=wanted)
        if wanted in sub.choices:
            return parser
        return build_parser(argv, whole=True)   # that module names its command otherwise
    _register(sub, terminal.cli.commands)
    if wanted is None or wanted not in sub.choices or wanted in EXTENDED:
        for package in _extension_packages():
            _register(sub, package)
    return parser


def _register(sub, package, only: str | None = None) -> None:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_") and only in (None, info.name):
            importlib.import_module(f"{package.__name__}.{info.name}").register(sub)


def _extension_packages() -> list:
    """Command packages other distributions (or this one's optional parts) declare."""
    from importlib.metadata import entry_points  # costs ~0.1 s: only when an extension is asked for
    found = []
    for entry in entry_points(group="taxiterm.commands"):
        try:
            found.append(importlib.import_module(entry.value))
        except ImportError:
            continue      # that part is not installed on this device: its commands are absent
    return found


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"taxiterm: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:       # Ctrl-C: one line, the shell's status for SIGINT, no traceback
        print("\ntaxiterm: interrupted", file=sys.stderr)
        return 130
