"""Every bundled scenario through the whole simulated vehicle, its invariants and what each one is about."""

import json

import pytest

from sim.runner import ShiftRunner
from sim.scenario import BUNDLED, bundled, load


def run(name, tmp_path, render=False):
    runner = ShiftRunner(load(BUNDLED / f"{name}.toml"), tmp_path / name, render=render)
    summary = runner.run()
    return runner, summary


def test_five_scenarios_and_the_demo_are_bundled():
    names = {p.stem for p in bundled()}
    assert {"day-shift", "night-long", "on-call-orders", "outages", "alarm-power", "demo"} <= names


@pytest.mark.parametrize("name", ["day-shift", "night-long", "on-call-orders", "outages", "alarm-power"])
def test_bundled_scenario_keeps_every_invariant(name, tmp_path):
    runner, summary = run(name, tmp_path)
    assert summary["broken"] == [], json.dumps(summary["invariants"], ensure_ascii=False)
    assert summary["trips"] >= 3
    assert summary["receipts"] == summary["trips"]
    trips = runner.data["trips"]
    check = CHECKS[name]
    check(runner, trips)


def _day(runner, trips):
    assert [t["order_id"] for t in trips] == ["0"] * 5
    assert any(e["label"] == "路桥费" and e["amount_fen"] == 1500 for t in trips for e in t["extras"])
    assert trips[0]["total_fen"] == 1200 + 100 + trips[0]["fare"]["waiting_fen"] + trips[0]["fare"]["rounding_fen"] \
        + trips[0]["fare"]["peak_fen"]
    shifts = [m["payload"]["event"] for m in runner.data["uplinks"] if m["kind"] == "shift"]
    assert shifts == ["sign_in", "sign_out"]


def _night(runner, trips):
    assert [t["night"] for t in trips] == [False, True, True, True]
    assert trips[0]["fare"]["night_fen"] > 0            # the part after 23:00 is surcharged
    assert trips[1]["fare"]["start_fen"] == 1400        # night start fare
    assert trips[2]["distance_m"] > 25_000 and trips[2]["fare"]["long_distance_fen"] > 0


def _orders(runner, trips):
    ends = json.loads((runner.out / "summary.json").read_text())["orders"]
    assert sorted(ends.values()) == ["cancelled", "cancelled", "completed", "completed", "rejected", "timeout"]
    on_call = [t for t in trips if t["order_id"] != "0"]
    assert len(on_call) == 2
    assert "on_call" in [s for _, s in runner.data["sign_history"]]
    notices = [m for m in runner.data["uplinks"] if m["kind"] == "ack"]
    assert notices and all(m["payload"]["result"] == 0 for m in notices)


def _outages(runner, trips):
    resent_trips = [m for m in runner.data["uplinks"] if m["kind"] == "trip" and m["payload"]["resent"]]
    assert resent_trips, "a trip closed during the broker outage reaches the platform afterwards, marked resent"
    alarms = {m["payload"]["alarm"] for m in runner.data["uplinks"] if m["kind"] == "location"}
    assert any(a & (1 << 5) for a in alarms), "antenna open was reported"
    assert any(a & (1 << 4) for a in alarms), "the GNSS dropout was reported as a GNSS fault"
    statuses = [m for m in runner.data["uplinks"] if m["kind"] == "status" and m["payload"]["online"]]
    assert len(statuses) >= 3   # connected at start, after the restart, after the tunnel


def _alarm(runner, trips):
    signs = [s for _, s in runner.data["sign_history"]]
    assert signs[signs.index("alarm") - 1] == "occupied" and signs[signs.index("alarm") + 1] == "occupied"
    assert [t["flags"] for t in trips].count(["power_loss"]) == 1
    paused = [t for t in trips if t["paused_ms"] >= 180_000]
    assert len(paused) == 1
    stages = [m["payload"]["extra"]["stage"] for m in runner.data["uplinks"] if m["kind"] == "alarm"]
    assert stages[0] == "pre_alarm" and stages[-1] == "released"
    assert len({m["payload"]["extra"]["alarm_id"] for m in runner.data["uplinks"] if m["kind"] == "alarm"}) == 1
    assert "out_of_service" in signs


CHECKS = {"day-shift": _day, "night-long": _night, "on-call-orders": _orders, "outages": _outages,
          "alarm-power": _alarm}


def test_demo_writes_every_output(tmp_path):
    runner, summary = run("demo", tmp_path, render=True)
    out = runner.out
    assert summary["ok"]
    for name in ("trips.json", "summary.json", "sign-history.json", "mqtt.jsonl", "audit-export.json",
                 "contact-sheet.png", "display-frames.json"):
        assert (out / name).stat().st_size > 0, name
    assert len(list((out / "receipts").glob("*.png"))) == summary["trips"]
    texts = sorted((out / "receipts").glob("*.txt"))
    assert "浙A·T1234" in texts[0].read_text(encoding="utf-8")
    assert len(list((out / "frames").glob("*.png"))) == summary["display_frames"] > 10
    transcript = [json.loads(line) for line in (out / "mqtt.jsonl").read_text().splitlines()]
    assert any(e["dir"] == "out" and e["topic"].endswith("/down/order_offer") for e in transcript)
    from terminal.trust.export import read_export
    export = read_export((out / "audit-export.json").read_bytes())["export"]
    assert len(export["trips"]) == summary["trips"]
