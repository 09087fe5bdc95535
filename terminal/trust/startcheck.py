"""The start-up check of legal data against the chain (trust room): the shell around ``ledger.check``.

At every start the terminal gathers what is stored (trip rows, totaliser row, signed meter
snapshot, tariff index, calibration row, device.json's audit capacity), verifies the audit
chain and compares. Any disagreement is a *meter fault*: metering stops, alarm bit 10 is
reported, the display shows the fault; reporting and the emergency alarm keep working
(docs/audit.md). The first start of a provisioned terminal *commissions* the meter: one
record fixing K, the tariff files, the audit capacity and "no trip yet" as the base the
chain continues from.
"""

import json
from pathlib import Path

from terminal.trust import keys, ledger
from terminal.trust.audit import verify_records
from terminal.trust.calibration import CalibrationError, stored_k
from terminal.trust.tariff_store import TariffFileError, TariffStore


def stored_facts(storage, state: keys.DeviceState) -> dict:
    """Everything stored that the chain speaks about (plain data for ``ledger.check``)."""
    stored = {"trips": storage.trips(), "complete": True, "totalisers": storage.totalisers(),
              "snapshot_blob": storage.load_meter_state()}
    try:
        stored["calibration_k"] = stored_k(storage.kv_get("calibration"))
    except CalibrationError as exc:
        stored["calibration_k"] = f"unreadable ({exc})"
    try:
        stored["tariffs"] = [ledger.tariff_core(e) for e in TariffStore(state.tariffs).entries()]
    except (TariffFileError, KeyError, TypeError) as exc:
        stored["tariffs"] = [f"index unreadable: {exc}"]
    try:
        stored["audit_capacity"] = json.loads(state.device_json.read_text(encoding="utf-8"))["audit_capacity"]
    except (OSError, ValueError, KeyError, TypeError):
        stored["audit_capacity"] = "unreadable"
    return stored


def verify(audit, storage, state: keys.DeviceState) -> tuple[list, dict]:
    """(problems, facts): the chain verified, folded and held against what is stored."""
    records = audit.records()
    public = audit.signer.public_key()
    verdict = verify_records(records, public, audit.anchor())
    facts = ledger.fold(records)
    problems = []
    if not verdict.ok:
        where = f"audit record #{verdict.first_bad}" if verdict.first_bad else "audit trail"
        problems.append(ledger.Problem(where, verdict.reason))
    stored = stored_facts(storage, state)
    stored["audit_head"] = audit.head_witness()
    problems += ledger.check(facts, stored, public,
                             {r["counter"]: r["hash"] for r in records})
    return problems, facts


def commission(audit, storage, state: keys.DeviceState, k: int, t_ms: int) -> dict | None:
    """The first start: record the base facts (only on a terminal with no legal data stored yet)."""
    if storage.trips() or storage.totalisers() is not None or storage.load_meter_state() is not None:
        return None
    stored = stored_facts(storage, state)
    calibration_k = stored["calibration_k"] if isinstance(stored["calibration_k"], int) else None
    capacity = stored["audit_capacity"] if isinstance(stored["audit_capacity"], int) else audit.capacity
    base = ledger.base_facts(k, calibration_k, stored["tariffs"], capacity)
    return audit.append("meter_commissioned", "meter", None, ledger.text(base), actor="terminal", t_ms=t_ms)


def state_of(config: dict) -> keys.DeviceState | None:
    root = config.get("terminal", {}).get("state_dir")
    return keys.DeviceState(Path(root)) if root else None


def at_start(audit, storage, config: dict, k: int, t_ms: int, save=None) -> list:
    """The problems found at start (commissioning first if this is the first start). [] = all agree.

    ``save()`` writes the meter's first signed snapshot right after commissioning."""
    state = state_of(config)
    if audit is None or state is None or not state.device_json.exists():
        return []
    if not any(r["event"] in ledger.BASE_EVENTS for r in audit.records()):
        if commission(audit, storage, state, k, t_ms) is not None and save is not None:
            save()
    problems, facts = verify(audit, storage, state)
    witnessed = _witnessed_counter(storage, audit)
    head = audit.head_witness()
    if head is not None and isinstance(head.get("counter"), int):
        witnessed = max(witnessed or 0, head["counter"])
    if witnessed is not None:
        # never reuse a counter the snapshot saw, even if the records were cut away
        audit.floor = max(audit.floor, witnessed)
    return problems


def _witnessed_counter(storage, audit) -> int | None:
    blob = storage.load_meter_state()
    if blob is None:
        return None
    _, head, _ = ledger.open_snapshot(blob, audit.signer.public_key())
    return head[0] if head and isinstance(head[0], int) else None
