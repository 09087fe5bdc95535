"""Downlink fuzzing of a whole terminal on the shipped broker configuration (issue 11).

10,000 malformed, oversized, deeply nested, wrong-typed, unsigned, badly signed, stale,
replayed and retained commands (tests/link/downlink_fuzz.py) published by a platform
account, as fast as the broker takes them. One run feeds all three metrics:

- ``downlink_fuzz_link_deaths``: MQTT network threads that died or callbacks that raised (must be 0)
- ``downlink_fuzz_state_changes``: batches after which the alarm, the order desk, the platform
  parameters or the report intervals differed from before (must be 0)
- ``downlink_fuzz_msgs_per_s``: messages the terminal received, checked and answered or counted, per second

The run also checks that every message was answered or counted, that the audit trail grew
by at most one record per kind of fault, and that a valid signed command works afterwards;
it fails otherwise.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

MESSAGES = 10_000


@cache
def _run() -> dict:
    from tests.link.downlink_fuzz import run
    with tempfile.TemporaryDirectory() as tmp:
        result = run(MESSAGES, Path(tmp))
    if result["received"] != result["sent"]:
        raise RuntimeError(f"the terminal got {result['received']} of {result['sent']} messages")
    if result["answered"] + result["unanswered"] != result["received"]:
        raise RuntimeError(f"messages neither answered nor counted: {result}")
    if result["audit_growth"] > len(result["faults"]) + 2:
        raise RuntimeError(f"audit trail grew by {result['audit_growth']} records")
    if not result["valid_command_ok"]:
        raise RuntimeError("a valid signed command failed after the fuzzing")
    print(f"  downlink fuzz: {result}")
    return result


def downlink_fuzz_link_deaths() -> dict:
    return {"value": _run()["link_deaths"], "unit": "deaths", "better": "lower"}


def downlink_fuzz_state_changes() -> dict:
    return {"value": _run()["state_changes"], "unit": "changes", "better": "lower"}


def downlink_fuzz_msgs_per_s() -> dict:
    return {"value": round(_run()["msgs_per_s"], 1), "unit": "msg/s", "better": "higher"}


METRICS = {"downlink_fuzz_link_deaths": downlink_fuzz_link_deaths,
           "downlink_fuzz_state_changes": downlink_fuzz_state_changes,
           "downlink_fuzz_msgs_per_s": downlink_fuzz_msgs_per_s}
