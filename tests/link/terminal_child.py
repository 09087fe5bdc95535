"""A whole terminal (``Runtime`` on the sim board) in its own process, driven over stdin, to be killed.

Run as ``python -m tests.link.terminal_child CONFIG.toml``. Prints "ready" once the loop
runs, then obeys one line at a time and answers each with one line:

  alarm          hold the hidden button past its hold time        -> "ok"
  state          the platform desk's snapshot and report intervals -> JSON
  flood N        N location reports onto the outbox at once         -> "ok"
  term           a clean stop, as on SIGTERM (``Runtime.stop``)     -> "stopped", exit 0
  flood-term N   N location reports, then a clean stop while some are in flight -> "stopped"
"""

import json
import sys
import time

from terminal.app import config as config_mod
from terminal.app.runtime import Runtime, configure_logging


def main(path: str) -> None:
    configure_logging("INFO")
    config = config_mod.load(path)
    runtime = Runtime(config, "sim")
    runtime.start()
    if not runtime.ready.wait(20):
        raise SystemExit("loop never started")
    term = runtime.terminal
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "alarm":
            pin = runtime.devices.inputs[1].buttons["alarm_a"].pin
            pin.drive_low()
            time.sleep(config["alarm"]["hold_ms"] / 1000 + 0.4)
            pin.drive_high()
            print("ok", flush=True)
        elif words[0] == "state":
            snap = term.platform.snapshot()
            snap["report"] = dict(config["report"])
            print(json.dumps(snap, sort_keys=True), flush=True)
        elif words[0] == "flood":
            now = term.clock()
            for _ in range(int(words[1])):
                term.reporting.location(now)
            term.events.put(__import__("drivers.event", fromlist=["Event"]).Event("tick", now, {}))
            print("ok", flush=True)
        elif words[0] == "flood-term":
            now = term.clock()
            with term.storage.transaction():      # all at once: the loop cannot send them as they come
                for _ in range(int(words[1])):
                    term.reporting.location(now)
            while not term.outbox._inflight:     # stop while the broker still owes acknowledgements
                time.sleep(0.001)
            runtime.stop()
            print("stopped", flush=True)
            return
        elif words[0] == "term":
            runtime.stop()
            print("stopped", flush=True)
            return


if __name__ == "__main__":
    main(sys.argv[1])
