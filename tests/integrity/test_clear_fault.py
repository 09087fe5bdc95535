"""A meter fault is cleared only under the seal, audited, and the terminal then meters again."""

import time

from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.trust import keys, seal
from tests.integrity.conftest import StepClock, open_runtime, stop
from tests.integrity.tampering import k_in_snapshot_params, last_trip_deleted


def _switch(state_dir, closed: bool, t_ms: int) -> None:
    st = keys.DeviceState(state_dir)
    audit = open_audit(st, "test")
    try:
        s = seal.Seal(st.device_id(), st.role_key("authority"), seal.switch_closed_from_audit(audit))
        seal.record_switch(s, audit, closed, t_ms)
    finally:
        audit.close()


def _faulted(state_dir, t_ms) -> list:
    rt = open_runtime(state_dir, StepClock(t_ms))
    try:
        return rt.terminal.metering.integrity
    finally:
        stop(rt)


def test_a_fault_is_cleared_under_the_seal_only_and_stays_in_the_chain(vehicle, capsys):
    state, t_ms = vehicle
    k_in_snapshot_params(state)
    assert _faulted(state, t_ms + 1000)
    assert main(["inspect", "--state", str(state), "--clear-fault"]) == 2
    assert "seal switch is open" in capsys.readouterr().err
    _switch(state, True, t_ms + 2000)
    assert main(["inspect", "--state", str(state), "--clear-fault"]) == 0
    assert "cleared: meter_state" in capsys.readouterr().out
    _switch(state, False, t_ms + 3000)
    rt = open_runtime(state, StepClock(time.time_ns() // 1_000_000 + 10_000))   # after the clearing
    try:
        assert rt.terminal.metering.integrity == []
        assert rt.terminal.meter.odometer.k == 1000          # the chain's K, not the edited 500
        rt.terminal.start()
        assert rt.terminal.metering.key(rt.clock(), "hire")
    finally:
        stop(rt)
    events = [r["event"] for r in open_audit(keys.DeviceState(state), "t").records()]
    assert "fault_cleared" in events and "ledger_checkpoint" in events
    assert main(["inspect", "--state", str(state)]) == 0


def test_a_deleted_trip_cleared_is_adopted_visibly(vehicle, capsys):
    state, t_ms = vehicle
    last_trip_deleted(state)
    _switch(state, True, t_ms + 2000)
    assert main(["inspect", "--state", str(state), "--clear-fault"]) == 0
    assert "cleared: trip #3" in capsys.readouterr().out
    assert _faulted(state, t_ms + 10_000) == []
    records = open_audit(keys.DeviceState(state), "t").records()
    cleared = next(r for r in records if r["event"] == "fault_cleared")
    assert cleared["parameter"] == "trip #3" and cleared["actor"] == "technician"
