"""SoftHSM for the tests: one token directory per test process, one initialised token per device.

The PKCS#11 module reads SOFTHSM2_CONF once when it is loaded, so every token of a test process
lives in the same directory; each test gets its own token (label) and PIN file.
"""

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
_conf: dict = {}
_count = itertools.count(1)


def available() -> bool:
    return Path(MODULE).exists() and shutil.which("softhsm2-util") is not None


def conf() -> str:
    if "path" not in _conf:
        root = Path(tempfile.mkdtemp(prefix="taxiterm-softhsm-"))
        (root / "tokens").mkdir()
        path = root / "softhsm2.conf"
        path.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
        os.environ["SOFTHSM2_CONF"] = str(path)
        _conf["path"] = str(path)
    return _conf["path"]


def new_token(directory: Path, label: str | None = None) -> list[str]:
    """Initialise a fresh token; the ``provision device`` arguments that put the device key in it."""
    if not available():
        pytest.skip("SoftHSM (Debian softhsm2) is not installed: make setup installs it")
    path = conf()
    label = label or f"taxiterm-{os.getpid()}-{next(_count)}"
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", "246810",
                    "--so-pin", "13579111"], check=True, capture_output=True, env=dict(os.environ, SOFTHSM2_CONF=path))
    pin = Path(directory) / f"{label}.pin"
    fd = os.open(pin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("246810\n")
    return ["--pkcs11-module", MODULE, "--token-label", label, "--pin-file", str(pin), "--softhsm2-conf", path]


def token_args(directory: Path) -> dict:
    """``DeviceState.provision(token_args=...)`` for a fresh token."""
    args = new_token(directory)
    return {"module": args[1], "token_label": args[3], "pin_file": Path(args[5]), "softhsm2_conf": args[7]}
