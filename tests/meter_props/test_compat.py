"""meter/ stays pure and MicroPython-compatible; the firmware imports its own packages."""

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {"hashlib", "binascii"}  # plus meter's own modules


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def test_meter_imports_only_what_a_sealed_microcontroller_has():
    offenders = {}
    for path in sorted((REPO / "meter").glob("*.py")):
        bad = imports_of(path) - ALLOWED - {"meter"}
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_compat_check_would_catch_a_forbidden_import(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text("from dataclasses import dataclass\nimport typing\n")
    assert imports_of(sample) - ALLOWED - {"meter"} == {"dataclasses", "typing"}


def test_no_floats_in_meter_arithmetic():
    for path in sorted((REPO / "meter").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant):
                assert not isinstance(node.value, float), f"{path.name}:{node.lineno} uses a float"
            if isinstance(node, ast.BinOp):
                assert not isinstance(node.op, ast.Div), f"{path.name}:{node.lineno} uses true division"


FOREIGN = {
    "gps/__init__.py": "raise ImportError('this is the gpsd client, not the firmware')\n",
    "board/__init__.py": "raise ImportError('this is Adafruit Blinka, not the firmware')\n",
}


def _fake_site(tmp_path: Path) -> Path:
    site = tmp_path / "dist-packages"
    for rel, text in FOREIGN.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    return site


def test_own_gps_and_board_win_over_system_packages_of_the_same_name(tmp_path):
    # A Pi with python3-gps and Blinka: their directory comes after the venv's
    # site-packages, as with a venv made with --system-site-packages.
    site = _fake_site(tmp_path)
    code = textwrap.dedent(f"""
        import site, os
        site.addsitedir({str(site)!r})
        import gps, board, terminal
        print(os.path.dirname(gps.__file__)); print(os.path.dirname(board.__file__))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(REPO / "gps"), str(REPO / "board")]


def test_a_foreign_gps_in_front_is_refused_with_a_clear_error(tmp_path):
    site = _fake_site(tmp_path)
    (site / "gps/__init__.py").write_text("NAME = 'gpsd client'\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-m", "terminal", "--version"], cwd=tmp_path, env=env,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "module 'gps' resolves to" in out.stderr and "virtual environment" in out.stderr
