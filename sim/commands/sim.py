"""``taxiterm sim``: a whole shift of a simulated vehicle, or a fleet against one broker (docs/scenarios.md, docs/fleet.md)."""

import argparse
import datetime
import json
import logging
import sys
import tempfile
from pathlib import Path

from terminal.cli import CommandError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("sim", help="run a scenario (a simulated shift) or a fleet load test")
    parser.add_argument("scenario", nargs="?", help="scenario file, or the name of a bundled one (sim/scenarios)")
    parser.add_argument("--out", help="folder for the outputs (created; must be empty or new; default: a new "
                                      "taxiterm-sim-SCENARIO-TIME folder under the temp dir)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--speed", type=float, help="simulated time runs N times the wall clock (1 = real time)")
    pace.add_argument("--virtual", action="store_true", help="virtual clock, as fast as the machine allows (default)")
    parser.add_argument("--no-render", action="store_true", help="skip receipt PNGs and display frames (faster)")
    parser.add_argument("--dashboard", action="store_true", help="print the live text dashboard")
    parser.add_argument("--fleet", type=int, metavar="N", help="run N terminals against one broker instead")
    parser.add_argument("--seconds", type=float, default=20.0, help="fleet: measuring time (default 20)")
    parser.add_argument("--consumers", type=int, default=2, help="fleet: platform consumers sharing a subscription")
    parser.add_argument("--light", action="store_true",
                        help="fleet: terminals as connections only, many per process (sim/fleet_load.py)")
    parser.add_argument("--list", action="store_true", help="list the bundled scenarios")
    parser.add_argument("--link", choices=("mqtt", "jt808", "jt905"), default="mqtt",
                        help="also run the shift over this JT/T link, against its platform emulator (docs/jtt.md)")
    parser.add_argument("--meter", choices=("internal", "link", "device"), default="internal",
                        help="the meter: the terminal's own (internal), a 905.2 taximeter on the link (link), or "
                             "our meter firmware under MicroPython on the link (device) (docs/meter-link.md)")
    parser.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    from sim import scenario as scenario_mod

    if args.list:
        for path in scenario_mod.bundled():
            sc = scenario_mod.load(path)
            print(f"{path.stem:18} {sc.description}")
        return 0
    if args.fleet is not None:
        if args.scenario:
            raise CommandError("give a scenario or --fleet N, not both")
        if args.fleet < 1 or args.consumers < 1 or args.seconds <= 0:
            raise CommandError("--fleet, --consumers and --seconds must be positive")
        if args.light:
            from sim.fleet_load import run_load
            report = run_load(args.fleet, args.seconds, consumers=args.consumers,
                              generators=1 if args.fleet <= 1500 else 2, log=lambda *_: None)
            print(json.dumps(report, indent=1))
            return 0
        from sim.fleet import run_fleet
        report = run_fleet(args.fleet, args.seconds, consumers=args.consumers, log=lambda *_: None)
        print(json.dumps(report, indent=1))
        return 0
    if not args.scenario:
        raise CommandError("give a scenario file (or a bundled name, see --list), or --fleet N")
    if args.speed is not None and args.speed <= 0:
        raise CommandError("--speed must be positive")
    try:
        sc = scenario_mod.load(scenario_mod.find(args.scenario))
    except scenario_mod.ScenarioError as exc:
        raise CommandError(str(exc)) from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    # never into the working directory by default: that is often the repository
    out = Path(args.out) if args.out else Path(tempfile.gettempdir()) / f"taxiterm-sim-{sc.name}-{stamp}"
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file, not a folder; give a new --out folder")
    if out.exists() and any(out.iterdir()):
        raise CommandError(f"{out} is not empty; give a new --out folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"cannot make the --out folder {out}: {exc.strerror or exc}") from None
    try:
        summary = run_scenario(sc, out, speed=args.speed, render=not args.no_render, dashboard=args.dashboard,
                               link=args.link, meter=args.meter)
    except KeyboardInterrupt:
        print(f"\nstopped (Ctrl-C); the simulated terminal and its broker are stopped. Outputs so far: {out}")
        return 130
    return 0 if summary["ok"] else 1


def run_scenario(sc, out: Path, *, speed: float | None, render: bool = True, dashboard: bool = False,
                 stream=None, link: str = "mqtt", meter: str = "internal") -> dict:
    """Run ``sc`` into ``out``, print what happened, return the summary (``ok`` false: an invariant broke)."""
    from sim.dashboard import Dashboard
    from sim.runner import ShiftRunner, SimError

    stream = stream or sys.stdout
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    board = Dashboard(sc.utc_offset_min, stream) if dashboard else None
    pace = "virtual clock" if speed is None else f"{speed:g}x real time"
    fitted = "" if meter == "internal" else f", meter {meter} on the 905.2 link"
    print(f"scenario {sc.name}: {sc.description} ({pace}{fitted})", file=stream, flush=True)
    try:
        summary = ShiftRunner(sc, out, speed=speed, render=render, on_tick=board, link=link, meter=meter).run()
    except SimError as exc:
        raise CommandError(f"simulation stopped: {exc}") from None
    finally:
        if board is not None:
            board.close()
    extras = summary.get("extras_fen", 0)
    print(f"{summary['trips']} trips, fares {summary['fares_fen'] / 100:.2f} + extras {extras / 100:.2f}"
          f" = {(summary['fares_fen'] + extras) / 100:.2f} yuan, "
          f"{sum(summary['uplinks'].values())} platform messages, {summary['simulated_s']:.0f} s simulated "
          f"in {summary['wall_s']:.1f} s", file=stream)
    for note in summary["notes"]:
        print(f"note: {note}", file=stream)
    for result in summary["invariants"]:
        mark = "ok    " if result["ok"] else "BROKEN"
        print(f"  {mark} {result['invariant']} ({result['checked']} checked)", file=stream)
        for problem in result["problems"]:
            print(f"         {problem}", file=stream)
    if summary["broken"]:
        print(f"broken invariant(s): {', '.join(summary['broken'])}", file=stream)
    print(f"outputs in {out}", file=stream, flush=True)
    return summary
