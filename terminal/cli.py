"""The ``taxiterm`` command line.

Each subcommand lives in its own module under ``terminal/commands/`` and exposes
``register(subparsers)``; the parser is assembled from whatever modules that package
holds, so a new command is a new file.
"""

import argparse
import importlib
import pkgutil
import sys

import terminal
import terminal.commands


class CommandError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taxiterm", description="Taxi onboard terminal")
    parser.add_argument("--version", action="version", version=f"taxiterm {terminal.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(terminal.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"terminal.commands.{info.name}")
        module.register(sub)
    return parser


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
