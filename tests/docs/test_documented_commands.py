"""The documented commands, run verbatim: the README's technician section and docs/provisioning.md.

Runnable blocks are fenced ```` ```sh doctest ````; other blocks are reference only. Each document
runs in its own fresh copy of the repository (its tracked and unignored files: what a fresh clone
holds) with a fresh state, after `make setup` (the virtual environment's bin/ first on PATH, as the
README says). Inside a block:

- one command per line (``\\`` continues it); every command must exit 0;
- ``# expect: TEXT`` after a command: TEXT must be in its output (stdout and stderr);
- a command ending in `` &`` runs in the background until the document is done; an ``# expect:``
  after it waits (up to 30 s) for TEXT in its output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "docs/provisioning.md")
BLOCK = re.compile(r"^```sh doctest\n(.*?)^```", re.M | re.S)


def commands(markdown: str) -> list[tuple[str, list[str]]]:
    """(command, expected texts) for every command in the document's runnable blocks, in order."""
    found: list[tuple[str, list[str]]] = []
    for block in BLOCK.findall(markdown):
        pending = ""
        for raw in block.splitlines():
            line = raw.rstrip()
            if pending:
                line, pending = pending + " " + line.lstrip(), ""
            if line.endswith("\\"):
                pending = line[:-1].rstrip()
                continue
            if line.startswith("# expect:"):
                assert found, "an '# expect:' before any command"
                found[-1][1].append(line[len("# expect:"):].strip())
            elif line and not line.startswith("#"):
                found.append((line, []))
    return found


def fresh_clone(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


def test_every_document_has_runnable_blocks():
    for doc in DOCS:
        assert len(commands((ROOT / doc).read_text(encoding="utf-8"))) >= 5, doc


@pytest.mark.timeout(240)
@pytest.mark.parametrize("doc", DOCS)
def test_documented_commands_work_as_written(doc, tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAXITERM_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path / "home"),
               XDG_RUNTIME_DIR=str(tmp_path / "run"), PYTHONUNBUFFERED="1", LANG="C.UTF-8")
    (tmp_path / "home").mkdir()
    background: list[tuple[subprocess.Popen, Path]] = []
    try:
        for command, expected in commands((ROOT / doc).read_text(encoding="utf-8")):
            if command.endswith("&"):
                log = tmp_path / f"background-{len(background)}.log"
                with log.open("wb") as out:
                    proc = subprocess.Popen(["bash", "-c", f"exec {command[:-1].strip()}"], cwd=clone, env=env,
                                            stdout=out, stderr=subprocess.STDOUT)
                background.append((proc, log))
                for text in expected:
                    deadline = time.monotonic() + 30
                    while text not in log.read_text(errors="replace") and time.monotonic() < deadline:
                        assert proc.poll() is None, f"{command!r} ended: {log.read_text(errors='replace')}"
                        time.sleep(0.1)
                    assert text in log.read_text(errors="replace"), f"{command!r}: no {text!r} within 30 s"
                continue
            done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=clone, env=env,
                                  capture_output=True, text=True, timeout=120)
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"{doc}: {command!r} exited {done.returncode}:\n{output}"
            for text in expected:
                assert text in output, f"{doc}: {command!r} did not say {text!r}:\n{output}"
    finally:
        for proc, log in reversed(background):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            assert code == 0, f"background command ended with {code}: {log.read_text(errors='replace')[-2000:]}"
