"""Scenario files: every mistake is refused with the key named; durations and times read exactly."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.scenario import ScenarioError, bundled, duration_ms, load, local_ms, parse

BASE = {
    "scenario": {"name": "t", "start": "2026-11-20 10:00"},
    "actions": [{"do": "sign_in"}, {"do": "hail", "route": {"length_m": 2000}}],
}


def with_(change):
    data = copy.deepcopy(BASE)
    change(data)
    return data


@pytest.mark.parametrize("change, named", [
    (lambda d: d.update(extra={}), "unknown section(s) extra"),
    (lambda d: d["scenario"].pop("start"), "scenario.start is required"),
    (lambda d: d["scenario"].update(name="Bad Name"), "scenario.name"),
    (lambda d: d.update(vehicle={"k": 50}), "vehicle.k"),
    (lambda d: d.update(vehicle={"board": "pi4"}), "vehicle.board"),
    (lambda d: d.update(tariff={"file": "nowhere.toml"}), "tariff.file"),
    (lambda d: d["actions"].append({"do": "fly"}), "actions[2].do"),
    (lambda d: d["actions"][1].update(route="airport"), "actions[1].route: no route named 'airport'"),
    (lambda d: d["actions"][1].update(tolls_fen=155), "actions[1].tolls_fen must be whole jiao"),
    (lambda d: d["actions"][1].update(speed=3), "unknown key(s) speed"),
    (lambda d: d["actions"].append({"do": "paper_out", "duration": "1m"}), "needs at (a time) or into"),
    (lambda d: d["actions"].append({"do": "gnss_dropout", "into": "1m", "duration": "soon"}),
     "actions[2].duration: bad duration"),
    (lambda d: d["actions"].append({"do": "order", "outcome": "lost"}), "actions[2].outcome must be one of"),
    (lambda d: d["actions"].append({"do": "park", "at": "25:00", "duration": "1m"}), "actions[2].at"),
    (lambda d: d["actions"][1].update(route={"legs": [[100, 400, 40, 0]]}), "actions[1].route.legs[0] out of range"),
    (lambda d: d.update(actions=[]), "needs [[actions]]"),
])
def test_a_mistake_is_refused_naming_the_key(change, named):
    with pytest.raises(ScenarioError, match=None) as info:
        parse(with_(change))
    assert named in str(info.value)


def test_bundled_scenarios_all_load():
    for path in bundled():
        scenario = load(path)
        assert scenario.actions and scenario.tariff.is_file()


def test_local_times_of_day_roll_over_midnight():
    data = with_(lambda d: d["scenario"].update(start="2026-11-20 22:00") or d["actions"].append(
        {"do": "park", "at": "01:30", "duration": "5m"}))
    scenario = parse(data)
    assert scenario.actions[2].at_ms == local_ms("2026-11-21 01:30", 480, "t")


@given(h=st.integers(0, 30), m=st.integers(0, 59), s=st.integers(0, 59), ms=st.integers(0, 999))
def test_duration_reads_every_unit(h, m, s, ms):
    text = f"{h}h{m}m{s}s{ms}ms"
    assert duration_ms(text, "x") == ((h * 60 + m) * 60 + s) * 1000 + ms


@given(st.text(max_size=12))
def test_duration_never_accepts_garbage_silently(text):
    try:
        value = duration_ms(text, "x")
    except ScenarioError:
        return
    assert value >= 0 and text[0].isdigit()
