"""What the car's process holds: ``taxiterm run`` on the sim board imports only what the running board needs.

The memory budget (docs/architecture.md, "Memory: what the car's process imports") rests on
modules that load lazily: the cryptography package (Ed25519 goes through the system libcrypto,
terminal/trust/ed25519.py), the receipt layout and ESC/POS stack (first receipt), the JT/T
808/905 stack (only with a JT/T link), the other commands of the command line, jsonschema.
A terminal is started in a child process exactly as ``taxiterm run`` starts it, left to turn
its loop (display drawn, link trying its broker), and its ``sys.modules`` is checked.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.provision import provision_state

ROOT = Path(__file__).resolve().parents[2]

# module name prefixes the car's process must not hold, and why they would be there
LAZY = {
    "cryptography": "Ed25519 signatures go through the system libcrypto (terminal/trust/ed25519.py)",
    "escpos": "python-escpos is for USB/network printers and rendering, loaded at first use",
    "qrcode": "part of the printer stack",
    "usb": "part of the printer stack",
    "barcode": "part of the printer stack",
    "yaml": "python-escpos's capabilities database",
    "jsonschema": "schemas are checked by terminal/link/schemas/check.py",
    "referencing": "jsonschema's",
    "rpds": "jsonschema's",
    "pynmea2": "the reference parser of the tests only",
    "sim": "the simulator is never in a product process",
    "printer.receipt": "the receipt layout loads at the first receipt",
    "printer.escpos_out": "ESC/POS rendering loads at the first receipt",
    "terminal.link.jtt": "the JT/T stack loads only with a JT/T link configured",
    "terminal.link.jtt_link": "the JT/T links load only when configured",
    "terminal.app.jt_desk": "the JT/T desk loads only with a JT/T link configured",
    "terminal.update": "the updater is its own command",
    "terminal.trust.export": "the inspector's export is its own command",
    "terminal.trust.inspect_report": "the inspector's report is its own command",
    "luma.oled": "only a board with an OLED display needs it",
    "luma.core.device": "the sim board's display keeps frames without luma's devices",
}
# and what it must hold, so that this test cannot pass on a process that did not really start
NEEDED = ("terminal.app.loop", "terminal.app.runtime", "terminal.link.mqtt", "paho.mqtt.client",
          "terminal.trust.ed25519", "terminal.cli.commands.run", "drivers.display", "printer.spooler")

CHILD = textwrap.dedent("""
    import ctypes, json, re, sys, time

    def c_heaps(path):
        \"\"\"How many glibc heaps (arenas) the process has, from malloc_info's XML; None elsewhere.\"\"\"
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "malloc_info"):
            return None
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
        libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
        libc.fclose.argtypes = (ctypes.c_void_p,)
        stream = libc.fopen(path.encode(), b"w")
        libc.malloc_info(0, stream)
        libc.fclose(stream)
        return len(re.findall('<heap nr=', open(path).read()))

    from terminal.cli import build_parser
    argv = ["run", "--board", "sim", "--config", sys.argv[1]]
    args = build_parser(argv).parse_args(argv)          # what `taxiterm run` imports to parse
    from terminal.app import config as config_mod
    from terminal.app.runtime import Runtime, configure_logging, limit_malloc_arenas
    configure_logging("ERROR")
    limit_malloc_arenas()                               # as `taxiterm run` does, before any thread
    runtime = Runtime(config_mod.load(args.config), args.board)
    runtime.start()
    assert runtime.ready.wait(20), "the loop did not start"
    time.sleep(1.0)                                     # turns of the loop: display, link, reports
    modules = sorted(sys.modules)
    heaps = c_heaps(sys.argv[2])
    runtime.stop()
    print(json.dumps({"modules": modules, "heaps": heaps}))
""")


@pytest.fixture(scope="module")
def car_child(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("car")
    provision_state(tmp / "state")
    config = tmp / "terminal.toml"
    config.write_text(textwrap.dedent(f'''
        [terminal]
        id = "IMPORTS1"
        state_dir = "{tmp / 'state'}"
        [mqtt]
        host = "127.0.0.1"
        port = 9
    '''), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", CHILD, str(config), str(tmp / "malloc_info.xml")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=_without_arena_max())
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _without_arena_max() -> dict:
    env = dict(os.environ)
    env.pop("MALLOC_ARENA_MAX", None)       # an operator's setting would win over the terminal's
    return env


@pytest.fixture(scope="module")
def car_modules(car_child) -> set[str]:
    return set(car_child["modules"])


def test_the_car_process_really_ran(car_modules):
    missing = [name for name in NEEDED if name not in car_modules]
    assert not missing, f"the child did not load what a running terminal needs: {missing}"


@pytest.mark.parametrize("prefix", sorted(LAZY))
def test_a_lazy_module_is_not_in_the_car_process(car_modules, prefix):
    found = sorted(m for m in car_modules if m == prefix or m.startswith(prefix + "."))
    assert not found, f"{found[:5]} in the car's process: {LAZY[prefix]}"


def test_only_the_run_command_is_imported(car_modules):
    commands = sorted(m for m in car_modules if m.startswith("terminal.cli.commands."))
    assert commands == ["terminal.cli.commands.run"], commands


def test_the_threads_share_two_c_heaps(car_child):
    # glibc gives each allocating thread a heap of its own by default: 0.6-0.8 MB of the car's
    # resident memory for its ten threads (docs/architecture.md, Memory)
    from terminal.app.runtime import MALLOC_ARENAS

    if car_child["heaps"] is None:
        pytest.skip("not glibc: no per-thread heaps to share")
    assert car_child["heaps"] <= MALLOC_ARENAS, f"{car_child['heaps']} C heaps in the car's process"
