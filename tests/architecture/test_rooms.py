"""The rooms of the house and the direction of imports (docs/architecture.md).

- The device layer (``meter/``, ``gps/``, ``drivers/``, ``printer/``, ``board/``) never imports
  the application (``terminal/``) or the simulator (``sim/``).
- No product package imports the simulator, not even lazily inside a function.
- A module longer than 400 lines says why in its docstring.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEVICE_LAYER = ("meter", "gps", "drivers", "printer", "board")
PRODUCT = (*DEVICE_LAYER, "terminal")
MAX_LINES = 400
LONG_REASON = "Longer than 400 lines because"


def _modules(package: str):
    yield from sorted((ROOT / package).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level packages a module imports anywhere in it (module level or inside functions),
    including ``importlib.import_module("x.y")`` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) ==
              "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def _offenders(packages, forbidden) -> list[str]:
    bad = []
    for package in packages:
        for path in _modules(package):
            hits = imported_roots(path) & set(forbidden)
            if hits:
                bad.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(hits))}")
    return bad


def test_the_device_layer_never_imports_the_application_or_the_simulator():
    assert _offenders(DEVICE_LAYER, ("terminal", "sim")) == []


def test_no_product_package_imports_the_simulator():
    assert _offenders(PRODUCT, ("sim",)) == []


def test_the_rule_sees_a_lazy_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from sim.runner import ShiftRunner\n    import terminal.app\n")
    assert imported_roots(module) == {"sim", "terminal"}


@pytest.mark.parametrize("package", [*PRODUCT, "sim", "bench"])
def test_long_modules_say_why(package):
    long = []
    for path in _modules(package):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and LONG_REASON not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert long == [], f"split these or say '{LONG_REASON} ...' in the docstring"


def test_the_command_line_builds_without_the_simulator(tmp_path):
    """The product's parser is complete with sim/ absent (as on a device without it)."""
    import subprocess
    import sys
    code = ("import sys, importlib.abc\n"
            "class NoSim(importlib.abc.MetaPathFinder):\n"
            "    def find_spec(self, name, path, target=None):\n"
            "        if name == 'sim' or name.startswith('sim.'):\n"
            "            raise ImportError('no simulator on this device')\n"
            "sys.meta_path.insert(0, NoSim())\n"
            "from terminal.cli import build_parser\n"
            "p = build_parser()\n"
            "names = sorted(p._subparsers._group_actions[0].choices)\n"
            "print(' '.join(names))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names = out.stdout.split()
    assert "run" in names and "receipt" in names and "inspect" in names
    assert "sim" not in names and "emulate" not in names
