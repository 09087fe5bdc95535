"""``taxiterm calibrate``: K measured, stored under the seal with its audit record, and every refusal."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.pulse import GpioPulseCounter
from sim.pulse_gen import PulseTrain
from terminal.cli import main
from terminal.cli.commands.calibrate import count_course
from terminal.storage.database import Storage
from terminal.trust import calibration, keys
from tests.technician.conftest import audit_records, now_ms, set_switch, write_authorisation

ROOT = Path(__file__).resolve().parents[2]


def stored(state) -> dict | None:
    with Storage(state.database) as s:
        text = s.kv_get(calibration.KV_KEY)
    return json.loads(text) if text else None


def calibrate(state, *args) -> int:
    return main(["calibrate", "--state", str(state.root), *args])


def k_records(state) -> list[dict]:
    return [r for r in audit_records(state) if r["event"] == "k_calibrated"]


def refusals(state) -> list[dict]:
    return [r for r in audit_records(state) if r["event"] == "seal_refused"]


def test_with_the_seal_switch_closed_k_is_stored_with_old_and_new_in_the_audit(state, capsys):
    set_switch(state, True)
    before = now_ms()
    assert calibrate(state, "--distance-m", "1000", "--pulses", "6234") == 0
    out = capsys.readouterr().out
    assert "K = 6234 pulses/km from 6234 pulses over 1000 m" in out
    assert "stored: K 1000 -> 6234 by technician via seal_switch" in out
    record = stored(state)
    assert record["k"] == 6234 and record["calibrated_ms"] >= before
    (audit,) = k_records(state)
    assert (audit["parameter"], audit["old"], audit["new"], audit["actor"]) == ("K", "1000", "6234", "technician")
    # a second run: the old value is the calibrated one
    assert calibrate(state, "--distance-m", "2000", "--pulses", "12469", "--json") == 0
    body = json.loads(capsys.readouterr().out)
    assert body["k"] == 6235 and body["old_k"] == 6234 and body["stored"] is True
    assert [(r["old"], r["new"]) for r in k_records(state)] == [("1000", "6234"), ("6234", "6235")]


def test_the_inspectors_export_shows_the_calibrated_k(state, tmp_path, capsys):
    set_switch(state, True)
    assert calibrate(state, "--pulses", "7000") == 0
    bundle = tmp_path / "bundle.json"
    assert main(["export", "--state", str(state.root), "--out", str(bundle)]) == 0
    capsys.readouterr()
    keys_dir = state.root / "keys"     # the inspector's roots (and this device's key, pinned)
    assert main(["inspect", str(bundle), "--json", "--vendor-key", str(keys_dir / "vendor.pub"),
                 "--authority-key", str(keys_dir / "authority.pub"), "--device-key", str(keys_dir / "device.pub")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert json.dumps(report).count('"k": 7000') >= 1


def test_without_the_seal_or_an_authorisation_it_is_refused_and_audited(state, capsys):
    assert calibrate(state, "--pulses", "6234") == 2
    err = capsys.readouterr().err
    assert "K not changed: set_k refused: seal switch is open and no technician authorisation was given" in err
    assert stored(state) is None and k_records(state) == []
    (refusal,) = refusals(state)
    assert (refusal["parameter"], refusal["new"]) == ("set_k", "seal switch is open and no technician "
                                                                "authorisation was given")


def test_a_technician_authorisation_for_this_device_allows_it_once(state, tmp_path, capsys):
    auth = write_authorisation(state, tmp_path / "auth.json")
    assert calibrate(state, "--pulses", "6234", "--authorisation", auth) == 0
    assert "by technician:T-17 via authorisation" in capsys.readouterr().out
    assert k_records(state)[0]["actor"] == "technician:T-17"
    assert calibrate(state, "--pulses", "6300", "--authorisation", auth) == 2
    assert "was already used" in capsys.readouterr().err
    assert stored(state)["k"] == 6234


@pytest.mark.parametrize("case,why", [
    ("other_device", "authorisation is for device TX-9999, not TX-0042"),
    ("wrong_action", "authorisation does not allow set_k"),
    ("expired", "authorisation has expired"),
    ("not_yet", "authorisation is not valid yet"),
    ("wrong_key", "authorisation rejected"),
    ("corrupt", "authorisation rejected"),
])
def test_a_bad_authorisation_is_refused_and_audited(state, tmp_path, capsys, case, why):
    path = tmp_path / "auth.json"
    if case == "other_device":
        write_authorisation(state, path, device_id="TX-9999")
    elif case == "wrong_action":
        write_authorisation(state, path, actions=("install_tariff",))
    elif case == "expired":
        write_authorisation(state, path, start=now_ms() - 3 * 3600_000)
    elif case == "not_yet":
        write_authorisation(state, path, start=now_ms() + 3600_000)
    elif case == "wrong_key":
        write_authorisation(state, path, key=keys.generate())
    else:
        write_authorisation(state, path)
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    assert calibrate(state, "--pulses", "6234", "--authorisation", str(path)) == 2
    assert why in capsys.readouterr().err
    assert stored(state) is None and k_records(state) == []
    assert why in refusals(state)[-1]["new"]


@pytest.mark.parametrize("args,why", [
    (["--pulses", "100001"], "K = 100001 pulses/km is implausible"),
    (["--distance-m", "20000", "--pulses", "1980"], "K = 99 pulses/km is implausible"),
    (["--pulses", "999"], "999 pulses counted: at least 1000"),
    (["--distance-m", "500", "--pulses", "5000"], "a course of 500 m is too short"),
    (["--pulses", "-5"], "-5 pulses counted"),
])
def test_an_implausible_or_too_short_run_is_refused_before_the_seal_is_asked(state, tmp_path, capsys, args, why):
    auth = write_authorisation(state, tmp_path / "auth.json")
    assert calibrate(state, *args, "--authorisation", auth) == 2
    assert f"K not changed: {why}" in capsys.readouterr().err
    assert stored(state) is None
    assert not any(r["event"] in ("authorisation_used", "k_calibrated") for r in audit_records(state))
    # the single-use authorisation was not spent on the typo
    assert calibrate(state, "--pulses", "6234", "--authorisation", auth) == 0


def test_a_full_audit_trail_locks_calibration(state, capsys):
    from terminal.cli.commands._seal_common import open_audit

    set_switch(state, True)
    audit = open_audit(state, "taxiterm test")
    with audit.transaction():
        while not audit.full:
            audit.append("filler", "test", None, None)
    audit.close()
    assert calibrate(state, "--pulses", "6234") == 2
    assert "audit trail is full" in capsys.readouterr().err
    assert stored(state) is None


def test_a_dry_run_measures_without_the_seal_and_stores_nothing(state, capsys):
    assert calibrate(state, "--pulses", "6234", "--dry-run") == 0
    assert "dry run: nothing stored" in capsys.readouterr().out
    assert stored(state) is None and audit_records(state) == []


def test_a_malformed_stored_calibration_is_not_overwritten_blindly(state, capsys):
    set_switch(state, True)
    with Storage(state.database) as s:
        s.kv_set(calibration.KV_KEY, "{garbage")
    assert calibrate(state, "--pulses", "6234") == 2
    assert "stored calibration record is not JSON" in capsys.readouterr().err


def test_pulses_counted_between_the_start_and_finish_lines_on_a_gpio_counter():
    factory = MockFactory()
    counter = GpioPulseCounter(4, None, now_ms, factory)
    train = PulseTrain(factory, 4, 6234)
    try:
        train.drive(150)                             # driving up to the start line: not counted
        pulses = count_course(counter, lambda: None, lambda: train.drive(1000))
    finally:
        counter.close()
    assert pulses == 6234
    assert calibration.k_from_run(1000, pulses) == 6234


def test_the_command_counts_a_kernel_counter_on_the_board_between_two_enters(state, tmp_path):
    count_file = tmp_path / "count"
    count_file.write_text("1000000\n")
    config = tmp_path / "terminal.toml"
    config.write_text(f'[terminal]\nstate_dir = "{state.root}"\n[meter]\nk = 5000\n'
                      f'[board]\npulse_counter = "{count_file}"\n')
    set_switch(state, True)
    proc = subprocess.Popen([sys.executable, "-m", "terminal", "calibrate", "--board", "sim", "--config",
                             str(config), "--distance-m", "1500", "--json"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    prompts: list[str] = []
    seen = threading.Event()

    def read_prompts() -> None:
        for line in proc.stderr:
            prompts.append(line)
            seen.set()

    threading.Thread(target=read_prompts, daemon=True).start()
    assert seen.wait(30), "no START prompt"
    count_file.write_text("1000042\n")             # the car rolls up to the start line
    time.sleep(0.05)
    proc.stdin.write("\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while len(prompts) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "FINISH" in prompts[-1]
    count_file.write_text(f"{1000042 + 9351}\n")     # 1500 m at 6234 pulses/km
    proc.stdin.write("\n")
    proc.stdin.close()
    out = proc.stdout.read()
    assert proc.wait(30) == 0, prompts
    body = json.loads(out)
    assert (body["pulses"], body["k"], body["old_k"]) == (9351, 6234, 5000)
    assert "START" in prompts[0]
    assert stored(state)["k"] == 6234
