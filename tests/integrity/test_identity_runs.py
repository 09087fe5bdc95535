"""Software identification over what runs: the declared legally relevant modules, their bytecode,
and a trip open across a restart into code that is not the sealed one."""

import importlib.util
import py_compile
import shutil
from pathlib import Path

from terminal.trust import identity, keys
from tests.integrity.conftest import StepClock, open_runtime, stop


def _legal_copy(tmp: Path) -> Path:
    root = tmp / "code"
    for rel, data in identity.meter_files(identity.default_code_root()):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def _sealed(root: Path, vendor) -> bytes:
    return identity.seal_manifest(vendor, identity.make_manifest(root, "0.1.0", 1))


def test_the_id_covers_the_modules_that_feed_store_sign_and_show_legal_data(tmp_path):
    files = [rel for rel, _ in identity.meter_files(identity.default_code_root())]
    for needed in ("meter/fare.py", "terminal/app/metering.py", "terminal/storage/database.py",
                   "terminal/trust/audit.py", "terminal/trust/ledger.py", "drivers/pulse.py"):
        assert needed in files
    vendor = keys.generate()
    root = _legal_copy(tmp_path)
    manifest = _sealed(root, vendor)
    assert identity.verify_identity(manifest, vendor.public_key(), root, version="0.1.0").ok
    path = root / "terminal" / "app" / "metering.py"
    path.write_text(path.read_text().replace("self.pulse_base + count", "self.pulse_base + count * 11 // 10"))
    status = identity.verify_identity(manifest, vendor.public_key(), root, version="0.1.0")
    assert not status.ok and "terminal/app/metering.py" in status.reason


def test_altered_bytecode_with_the_source_restored_is_not_sealed(tmp_path):
    vendor = keys.generate()
    root = _legal_copy(tmp_path)
    manifest = _sealed(root, vendor)
    source = root / "meter" / "fare.py"
    original = source.read_bytes()
    source.write_bytes(original + b"\n\ndef _unused():\n    return 1\n")
    py_compile.compile(str(source), cfile=importlib.util.cache_from_source(str(source)),
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    source.write_bytes(original)            # source restored, altered bytecode left behind
    status = identity.verify_identity(manifest, vendor.public_key(), root, version="0.1.0")
    assert not status.ok and "bytecode" in status.reason and "meter/fare.py" in status.reason
    shutil.rmtree(source.parent / "__pycache__")
    assert identity.verify_identity(manifest, vendor.public_key(), root, version="0.1.0").ok


def test_a_trip_open_across_a_restart_into_unsealed_code_is_closed_and_flagged(vehicle, tmp_path):
    state, t_ms = vehicle
    clock = StepClock(t_ms + 1000)
    rt = open_runtime(state, clock)
    rt.terminal.start()
    assert rt.terminal.metering.key(clock(), "hire")
    rt.terminal.metering.on_pulses(clock(), 400)
    stop(rt)
    root = _legal_copy(tmp_path)            # the code now differs from the sealed manifest
    (root / "meter" / "fare.py").write_bytes((root / "meter" / "fare.py").read_bytes() + b"\n# changed\n")
    from terminal.app.loop import Devices
    from terminal.app.runtime import Runtime
    from tests.integrity.conftest import make_config
    rt = Runtime(make_config(state), "sim", clock=StepClock(clock.t + 2000), code_root=root, devices=Devices())
    try:
        assert not rt.identity.ok
        rt.terminal.start()
        meter = rt.terminal.meter
        assert meter.trip is None and meter.state == "for_hire"
        last = rt.storage.trips()[-1]
        assert last["trip_no"] == 4 and "meter_fault" in last["flags"]
        assert "meter_fault" in rt.terminal.alarm_flags
        assert rt.terminal.metering.key(rt.clock(), "hire") is False
        from terminal.trust import ledger
        witness = rt.terminal.metering.last_witness      # for the receipt and the report
        assert witness["trip_no"] == 4
        ledger.verify_trip_witness(keys.DeviceState(state).device_public(), witness, last)
    finally:
        stop(rt)
