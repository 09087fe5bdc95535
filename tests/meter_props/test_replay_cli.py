"""`taxiterm meter replay`: the bench test of a tariff from the command line."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARIFF = REPO / "sim/data/tariff-demo.toml"


def replay(tmp_path, lines, *extra):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines) + "\n")
    return subprocess.run([sys.executable, "-m", "terminal", "meter", "replay", "--tariff", str(TARIFF),
                           "--events", str(events), *extra], capture_output=True, text=True, cwd=REPO)


T = 1795140000000  # 2026-11-20 10:00 China time


def test_replay_prints_a_line_per_event_and_the_trip_with_totalisers(tmp_path):
    events = [{"t_ms": T, "pulses": 0}, {"t_ms": T + 1000, "key": "hire"}]
    events += [{"t_ms": T + 1000 + i * 1000, "pulses": i * 10} for i in range(1, 601)]
    events += [{"t_ms": T + 602000, "key": "settle"},
               {"t_ms": T + 603000, "key": "extra", "amount_fen": 1000, "label": "过路费"},
               {"t_ms": T + 604000, "key": "clear"}]
    out = replay(tmp_path, events)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == len(events) + 1
    for line in lines[:-1]:
        assert {"state", "fare_fen", "distance_m", "waiting_ms"} <= set(line)
    assert lines[1]["state"] == "hired" and lines[1]["fare_fen"] == 1200
    final = lines[-1]
    trip = final["trips"][0]
    # 6000 m at 36 km/h: 3000 m beyond the start distance at 2.60 yuan/km
    assert trip["distance_m"] == 6000 and trip["fare_fen"] == 1200 + 780
    assert trip["extras"][-1] == {"label": "过路费", "amount_fen": 1000}
    assert final["totalisers"]["fares_fen"] == trip["fare_fen"]
    assert final["totalisers"]["hirings"] == 1


def test_a_bad_line_is_named_and_nothing_after_it_is_applied(tmp_path):
    events = [{"t_ms": T, "pulses": 0}, {"t_ms": T + 1000, "key": "hire"}, "{not json",
              {"t_ms": T + 3000, "key": "settle"}]
    out = replay(tmp_path, events)
    assert out.returncode == 1
    assert "line 3" in out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == 3 and lines[-1]["error"].startswith("line 3")
    assert lines[1]["state"] == "hired"

    events = [{"t_ms": T, "pulses": 0}, {"t_ms": T + 1000, "key": "settle"}, {"t_ms": T + 2000, "key": "hire"}]
    out = replay(tmp_path, events)
    assert out.returncode == 1 and "line 2: key settle is not allowed while for_hire" in out.stderr


def test_a_bad_tariff_is_refused_naming_the_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TARIFF.read_text(encoding="utf-8").replace("per_km_fen = 260", "per_km_fen = -260"))
    events = tmp_path / "e.jsonl"
    events.write_text("")
    out = subprocess.run([sys.executable, "-m", "terminal", "meter", "replay", "--tariff", str(bad),
                          "--events", str(events)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2
    assert "tariff[0].per_km_fen: must be from 1 to 100000 (got -260)" in out.stderr
