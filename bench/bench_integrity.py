"""Benchmark of metrological integrity: how many manipulations of a stopped terminal's state are caught.

Runs the tamper suite's manipulations (tests/integrity/tampering.py) on copies of a real
provisioned (device key in a SoftHSM token) and driven state directory. A case counts as detected only when both hold: the
terminal comes up in a visible meter fault (alarm bit 10, no hire) without crashing, and
``taxiterm inspect`` fails naming the altered record.
"""

import contextlib
import io
import shutil
import tempfile
from pathlib import Path


def _detected(state: Path, t_ms: int, manipulate) -> bool:
    from terminal.cli import main
    from tests.integrity.conftest import StepClock, open_runtime, stop

    named = manipulate(state)
    try:
        rt = open_runtime(state, StepClock(t_ms + 1000))
    except Exception:  # noqa: BLE001 - a crash at start is a failure to detect, counted, not raised
        return False
    try:
        rt.terminal.start()
        at_start = "meter_fault" in rt.terminal.alarm_flags and not rt.terminal.metering.key(rt.clock(), "hire")
    finally:
        stop(rt)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["inspect", "--state", str(state)])
    lines = [ln for ln in (out.getvalue() + err.getvalue()).splitlines()
             if "RESULT" in ln or ln.startswith("taxiterm:")]
    return at_start and rc != 0 and any(named in ln for ln in lines)


def _run() -> tuple[int, int]:
    from tests.integrity.conftest import StepClock, drive_trips, open_runtime, provision_vehicle, stop
    from tests.integrity.tampering import CASES

    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template"
        provision_vehicle(template, device_id="TX-BENCH")
        clock = StepClock()
        rt = open_runtime(template, clock)
        rt.terminal.start()
        drive_trips(rt)
        stop(rt)
        detected = 0
        for i, manipulate in enumerate(CASES.values()):
            copy = Path(tmp) / f"case{i}"
            shutil.copytree(template, copy)
            detected += _detected(copy, clock.t, manipulate)
        return detected, len(CASES)


_cache: dict = {}


def _result() -> tuple[int, int]:
    if not _cache:
        _cache["r"] = _run()
    return _cache["r"]


def tamper_cases_detected() -> dict:
    return {"value": _result()[0], "unit": "cases", "better": "higher"}


def tamper_cases_total() -> dict:
    return {"value": _result()[1], "unit": "cases", "better": "higher"}


METRICS = {"tamper_cases_detected": tamper_cases_detected, "tamper_cases_total": tamper_cases_total}
