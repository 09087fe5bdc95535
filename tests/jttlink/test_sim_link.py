"""``taxiterm sim SCENARIO --link jt905``: a shift with broker kills and link cuts (the JT/T
platform goes away with the network) keeps every invariant, the JT/T ones included."""

from sim.runner import ShiftRunner
from sim.scenario import find, load


def test_the_outages_shift_over_jt905_keeps_every_invariant(tmp_path):
    runner = ShiftRunner(load(find("outages")), tmp_path / "out", render=False, link="jt905")
    summary = runner.run()
    names = {r["invariant"]: r for r in summary["invariants"]}
    assert names["jt_one_record_per_trip"]["checked"] == len(runner.data["trips"]) > 0
    assert names["jt_no_report_lost"]["checked"] > 100
    assert summary["broken"] == [], summary["invariants"]
    assert runner.data["jtt"]["connections"] >= 2      # the outages reached the JT/T link too
    assert (tmp_path / "out" / "jt905.jsonl").stat().st_size > 0
