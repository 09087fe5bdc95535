"""`make run`: the bundled demo shift through the whole simulated vehicle, with a live dashboard.

Starts its own Mosquitto, runs sim/scenarios/demo.toml (50 simulated minutes: street
hails, an on-call order, paper-out, a GNSS dropout, a tunnel, a power dip, the hidden
alarm) at 30x real time with the text dashboard (state, fare, sign, GNSS, outbox depth,
last platform message; in place, fitting the terminal's width), checks the invariants and
names the folder with the outputs (Ctrl-C stops it cleanly, broker included):
receipts, display frames and contact sheet, sign history, MQTT transcript, the signed
audit export and summary.json. Works without a TTY (one line per change).
"""

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

from sim.scenario import BUNDLED, load
from terminal.cli import CommandError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.demo", description=__doc__)
    parser.add_argument("--speed", type=float, default=30.0, help="times real time (default 30)")
    parser.add_argument("--virtual", action="store_true", help="as fast as the machine allows")
    parser.add_argument("--scenario", type=Path, default=BUNDLED / "demo.toml")
    parser.add_argument("--out", type=Path, help="output folder (default: a new one under the temp dir)")
    args = parser.parse_args(argv)
    from sim.commands.sim import run_scenario

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = args.out or Path(tempfile.gettempdir()) / f"taxiterm-demo-{stamp}"
    try:
        summary = run_scenario(load(args.scenario), out, speed=None if args.virtual else args.speed,
                               dashboard=True)
    except CommandError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # the runner's shutdown has already stopped the terminal, the emulators and the broker
        print(f"\ndemo stopped (Ctrl-C): terminal, emulators and broker closed.\nOutputs so far: {out}")
        return 130
    print(f"\nThe demo's outputs: {out.resolve()}  (receipts/, frames/, contact-sheet.png, sign-history.json, "
          f"mqtt.jsonl, audit-export.json, trips.json, summary.json)")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
