"""Rules of the chain that need no manipulation suite: counters after a cut, the export's own count."""

import json

from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit
from terminal.trust import export as export_mod
from terminal.trust import inspect_report, keys
from tests.integrity.conftest import StepClock, open_runtime, stop
from tests.integrity.tampering import audit_tail_cut


def test_after_a_cut_tail_the_next_record_never_reuses_a_counter(vehicle):
    state, t_ms = vehicle
    st = keys.DeviceState(state)
    audit = open_audit(st, "t")
    highest = audit.head()[0]
    audit.close()
    audit_tail_cut(state)
    rt = open_runtime(state, StepClock(t_ms + 1000))
    try:
        rt.terminal.start()                  # writes power_on and the fault record
    finally:
        stop(rt)
    audit = open_audit(st, "t")
    try:
        counters = [r["counter"] for r in audit.records()]
        assert counters[-1] > highest and len(set(counters)) == len(counters)
        assert not audit.verify().ok          # the gap stays visible to every verifier
    finally:
        audit.close()


def test_the_exports_own_audit_count_must_match_the_records_it_carries(vehicle, tmp_path, capsys):
    state, _ = vehicle
    out = tmp_path / "e.json"
    assert main(["export", "--state", str(state), "--out", str(out)]) == 0
    st = keys.DeviceState(state)
    data = json.loads(out.read_bytes())["export"]
    data["seal"]["audit_count"] += 2            # the device claims records it no longer shows
    blob = export_mod.export(data, st.device_key())
    report = inspect_report.inspect(blob, {"vendor": st.role_key("vendor"), "authority": st.role_key("authority")})
    assert not report.ok
    assert report.first_failure.name == "legal chain" and "says" in report.first_failure.detail
