"""``taxiterm board``: list the board profiles and show one resolved, overrides included."""

import json

from board.profiles import BoardError, board_names, load_board
from terminal.cli import CommandError


def _value(text: str):
    """Digits (or 0x-hex) become a pin/number; anything else stays a string (a path, a URL, a name)."""
    try:
        return int(text, 0)
    except ValueError:
        return text


def _overrides(settings: list[str]) -> dict:
    overrides: dict = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or not key:
            raise CommandError(f"--set wants SECTION.KEY=VALUE, got {setting!r}")
        *sections, leaf = key.split(".")
        table = overrides
        for section in sections:
            table = table.setdefault(section, {})
            if not isinstance(table, dict):
                raise CommandError(f"--set {key}: '{section}' is not a table")
        table[leaf] = _value(value)
    return overrides


def _show(args) -> int:
    try:
        profile = load_board(args.name, _overrides(args.set or []))
    except BoardError as exc:
        raise CommandError(str(exc)) from exc
    print(json.dumps(profile.as_dict(), indent=2))
    return 0


def _list(args) -> int:
    for name in board_names():
        print(f"{name:8} {load_board(name).description}")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("board", help="board profiles: pins, serial ports, display")
    sub = parser.add_subparsers(dest="board_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print a board profile as resolved (JSON)")
    show.add_argument("name", help="board name: " + ", ".join(board_names()))
    show.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                      help="override a setting as the config file's [board] table would, e.g. keys.hire=18")
    show.set_defaults(func=_show)
    listing = sub.add_parser("list", help="list the known boards")
    listing.set_defaults(func=_list)
