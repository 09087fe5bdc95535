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
from importlib.metadata import entry_points

import terminal
import terminal.cli.commands


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taxiterm", description="Taxi onboard terminal")
    parser.add_argument("--version", action="version", version=f"taxiterm {terminal.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for package in [terminal.cli.commands, *_extension_packages()]:
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            module.register(sub)
    return parser


def _extension_packages() -> list:
    """Command packages other distributions (or this one's optional parts) declare."""
    found = []
    for entry in entry_points(group="taxiterm.commands"):
        try:
            found.append(importlib.import_module(entry.value))
        except ImportError:
            continue      # that part is not installed on this device: its commands are absent
    return found


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(f"taxiterm: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
