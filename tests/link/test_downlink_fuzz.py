"""Issue 11: 2,000 malformed, oversized, deeply nested, wrong-typed, unsigned, badly signed, stale,
replayed and retained commands against a whole terminal on the shipped broker.

No link death, no change of state, every message answered or counted, the audit trail
grows by at most one record per kind of fault, and a valid signed command works after.
bench/bench_downlink.py runs the same with 10,000+ messages and reports the rate.
"""

from tests.link.downlink_fuzz import CATEGORIES, run


def test_two_thousand_bad_commands_change_nothing_and_silence_nothing(tmp_path):
    result = run(2000, tmp_path)
    print(result)
    assert result["link_deaths"] == 0
    assert result["state_changes"] == 0
    assert result["received"] == result["sent"] == 2001
    assert result["answered"] + result["unanswered"] >= result["sent"] - result["faults"].get("replayed", 0)
    assert set(result["categories"]) == set(CATEGORIES)
    assert result["audit_growth"] <= len(result["faults"]) + 2      # one per fault kind per interval
    assert result["loop_faults"] == 0
    assert result["valid_command_ok"]
