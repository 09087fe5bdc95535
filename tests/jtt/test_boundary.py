"""The codec is shared by the link and the emulator in sim/: it imports nothing of the rest of
the firmware and does no I/O."""

import ast
from pathlib import Path

import terminal.link.jtt

PACKAGE = Path(terminal.link.jtt.__file__).parent
IO_MODULES = {"socket", "os", "io", "pathlib", "sqlite3", "threading", "time", "subprocess", "select", "ssl"}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_codec_imports_only_itself_and_pure_standard_modules():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            assert not name.startswith(("terminal.",)) or name.startswith("terminal.link.jtt"), (path.name, name)
            assert top not in {"sim", "meter", "gps", "drivers", "board", "printer"}, (path.name, name)
            assert top not in IO_MODULES, (path.name, name)
