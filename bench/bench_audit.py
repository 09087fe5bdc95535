"""Benchmark of the audit trail: how fast an inspector's verifier checks chained, signed records."""

import sqlite3
import time

from terminal.trust import keys
from terminal.trust.audit import AuditTrail, verify_records

RECORDS = 5000


def audit_verify_records_per_s() -> dict:
    """Records verified per second (chain, hash and Ed25519 signature of each), best of 3 runs."""
    device = keys.generate()
    clock = iter(range(1795000000000, 1795000000000 + RECORDS * 1000, 1000))
    trail = AuditTrail(sqlite3.connect(":memory:", isolation_level=None), device, "taxiterm 0.1.0 meter:bench",
                       lambda: next(clock), capacity=RECORDS)
    trail.conn.execute("BEGIN IMMEDIATE")
    for i in range(RECORDS):
        trail.append("k_changed", "K", str(6000 + i), str(6001 + i), actor="technician:T-17")
    trail.conn.execute("COMMIT")
    records = trail.records()
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        verdict = verify_records(records, device.public_key())
        took = time.perf_counter() - start
        if not verdict.ok:
            raise RuntimeError(f"benchmark trail does not verify: {verdict.reason}")
        best = max(best, len(records) / took)
    return {"value": round(best), "unit": "records/s", "better": "higher"}


METRICS = {"audit_verify_records_per_s": audit_verify_records_per_s}
