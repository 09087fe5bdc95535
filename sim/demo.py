"""`make run`: the bundled demo trip through the taximeter, shown as the driver display shows it.

Replays sim/data/demo-trip.jsonl with the demo tariff at a watchable speed (60x real
time by default) and prints the display (state, fare, distance, waiting time) each time
it changes, then the trip record and the totalisers.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from meter.taximeter import Taximeter
from terminal.replay import load_schedule, replay

DATA = Path(__file__).resolve().parent / "data"
STATE_ZH = {"for_hire": "空车", "hired": "载客", "stopped": "暂停", "settling": "结算", "out_of_service": "停运"}


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def display_line(v: dict) -> str:
    minutes, seconds = divmod(v["waiting_ms"] // 1000, 60)
    return (f"[{STATE_ZH[v['state']]} {v['state']:<14}] fare {yuan(v['fare_fen']):>7} yuan"
            f"  extras {yuan(v['extras_fen']):>6}  distance {v['distance_m'] / 1000:6.2f} km"
            f"  waiting {minutes:02d}:{seconds:02d}  speed {v['speed_kmh']:3d} km/h")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__)
    parser.add_argument("--speed", type=float, default=60.0, help="times real time (0: as fast as possible)")
    parser.add_argument("--tariff", type=Path, default=DATA / "tariff-demo.toml")
    parser.add_argument("--events", type=Path, default=DATA / "demo-trip.jsonl")
    args = parser.parse_args(argv)

    schedule = load_schedule(args.tariff)
    tariff = schedule.tariffs[0]
    meter = Taximeter(schedule, {"k": 1000})
    print(f"Demo trip: tariff {tariff.id} ({tariff.name}), digest {tariff.digest[:16]}…, K = 1000 pulses/km")
    print(f"Replaying {args.events.name} at {args.speed:g}x real time; the display as the driver sees it:\n")
    trips: list = []
    live = sys.stdout.isatty()
    last_state = None
    last_yuan = None
    last_t = None
    with args.events.open(encoding="utf-8") as lines:
        for out in replay(meter, lines, trips):
            if args.speed > 0 and last_t is not None:
                time.sleep(max(0, out["t_ms"] - last_t) / 1000 / args.speed)
            last_t = out["t_ms"]
            line = display_line(meter.view() | {"state": out["state"]})
            if live:
                # one display line updated in place; a new line when the state changes
                print(("\n" if out["state"] != last_state and last_state else "\r") + line, end="", flush=True)
            elif out["state"] != last_state or out["fare_fen"] // 100 != last_yuan:
                print(line, flush=True)
            last_state = out["state"]
            last_yuan = out["fare_fen"] // 100
    if live:
        print()
    print("\nTrip record (stored before the receipt prints; docs/trip-record.md):")
    for trip in trips:
        print(json.dumps(trip, ensure_ascii=False, indent=2))
    print("\nTotalisers:", json.dumps(meter.totals.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
