"""Clearing a meter fault under the seal (trust room): the legal state restated from what is stored.

A meter fault from stored data that disagrees with the chain (docs/audit.md) is cleared only
under the seal (switch closed, or an authority authorisation for ``clear_fault``) by
``taxiterm inspect --clear-fault``. The chain records what was wrong (``fault_cleared``, naming
the record) and a ``ledger_checkpoint`` that adopts the stored trips (totalisers summed from
them), the installed tariff index and the stored calibration, with the chain's own K and audit
capacity; the meter snapshot is rebuilt from that checkpoint and signed. Nothing is hidden: an
inspector sees the fault, who cleared it and what was adopted. A chain that does not verify
(an altered, forged or cut record) is never cleared on the device.
"""

import json

from meter.taximeter import Taximeter
from terminal.trust import ledger, startcheck
from terminal.trust.audit import verify_records


class ClearRefused(Exception):
    """Nothing to clear, or a fault this path may not clear."""


def totals_from_trips(trips: list) -> dict:
    return {
        "hirings": trips[-1]["trip_no"] if trips else 0,
        "hired_m": sum(t["distance_m"] for t in trips), "empty_m": sum(t["empty_m"] for t in trips),
        "paused_m": sum(t["paused_m"] for t in trips),
        "total_m": sum(t["distance_m"] + t["empty_m"] + t["paused_m"] for t in trips),
        "fares_fen": sum(t["fare_fen"] for t in trips), "extras_fen": sum(t["extras_fen"] for t in trips),
        "waiting_ms": sum(t["waiting_ms"] for t in trips),
        "power_losses": sum(1 for t in trips if "power_loss" in t["flags"]),
    }


def clear(audit, storage, state, actor: str, t_ms: int) -> list:
    """Restate the legal state; returns the problems that were cleared. ``ClearRefused`` otherwise."""
    problems, facts = startcheck.verify(audit, storage, state)
    if not problems:
        raise ClearRefused("no meter fault: stored data agrees with the chain")
    verdict = verify_records(audit.records(), audit.signer.public_key(), audit.anchor())
    if not verdict.ok:
        raise ClearRefused(f"the chain itself does not verify ({verdict.reason}): not cleared on the device")
    head = audit.head_witness()
    if head is not None and facts["head"] and head["counter"] != facts["head"][0]:
        raise ClearRefused("the chain was cut (its signed head is past its end): not cleared on the device")
    trips = storage.trips()
    if trips and [t["trip_no"] for t in trips] != list(range(1, len(trips) + 1)):
        raise ClearRefused("stored trips are not contiguous from #1: not cleared on the device")
    stored = startcheck.stored_facts(storage, state)
    calibration_k = stored["calibration_k"] if isinstance(stored["calibration_k"], int) else None
    totals = totals_from_trips(trips) if trips else None
    k = facts["k"]
    base = ledger.base_facts(k, calibration_k, stored["tariffs"], facts["audit_capacity"],
                             trips[-1]["trip_no"] if trips else 0, totals)
    old_params = _old_params(storage.load_meter_state())
    conn = audit.conn
    with audit.transaction():
        first = problems[0]
        audit.append("fault_cleared", first.record, first.detail[:500], f"{len(problems)} problem(s)",
                     actor=actor, t_ms=t_ms)
        rec = audit.append("ledger_checkpoint", "meter", None, ledger.text(base), actor=actor, t_ms=t_ms)
        if calibration_k is None:
            conn.execute("DELETE FROM kv WHERE key = 'calibration'")
        if totals is not None:
            conn.execute("UPDATE totalisers SET data = ?, trip_no = ?, updated_ms = ? WHERE id = 1",
                         (json.dumps(totals, separators=(",", ":")), trips[-1]["trip_no"], t_ms))
        meter = Taximeter(None, dict(old_params, k=k) if k else old_params, t_ms)
        snap = meter.snapshot()
        if totals is not None:
            snap["totals"] = totals
        conn.execute("INSERT INTO meter_state (id, blob, saved_ms) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE"
                     " SET blob = excluded.blob, saved_ms = excluded.saved_ms",
                     (ledger.snapshot_blob(snap, (rec["counter"], rec["hash"]), audit.signer), t_ms))
    _restore_capacity(state, facts["audit_capacity"])
    return problems


def _old_params(blob) -> dict:
    """The meter parameters other than K from the old snapshot (defaults when unreadable)."""
    try:
        params = json.loads(bytes(blob).decode("utf-8"))["params"]
        return {key: params[key] for key in ("source", "dip_ms", "max_kmh") if key in params}
    except (TypeError, ValueError, KeyError, UnicodeDecodeError):
        return {}


def _restore_capacity(state, capacity) -> None:
    if not isinstance(capacity, int):
        return
    info = json.loads(state.device_json.read_text(encoding="utf-8"))
    if info.get("audit_capacity") != capacity:
        info["audit_capacity"] = capacity
        tmp = state.device_json.with_name("device.json.tmp")
        tmp.write_text(json.dumps(info) + "\n", encoding="utf-8")
        tmp.replace(state.device_json)
