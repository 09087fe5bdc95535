"""The development install (`make setup`) is a plain path entry, with no deprecated mode.

setuptools' import-hook editable mode runs after sys.path, so a Debian python3-gps or Blinka
would shadow our gps/ and board/; the transitional "compat" mode avoided that but is being
removed from setuptools and printed a warning at every setup.
"""

import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_setup_does_not_ask_for_the_deprecated_compat_mode():
    assert "editable_mode=compat" not in (REPO / "Makefile").read_text()


def test_the_editable_install_is_the_repository_as_a_path_entry():
    purelib = Path(sysconfig.get_path("purelib"))
    pth = sorted(purelib.glob("__editable__.taxiterm-*.pth"))
    assert pth, "taxiterm is not installed in editable mode in this environment"
    assert pth[0].read_text().split() == [str(REPO)]

