"""Benchmarks of the simulated vehicle: a 12-hour shift replayed on the virtual clock, and fleet load.

shift_replay_speedup: a 12-hour shift (about 30 street hails with traffic, cruising
between them, two breaks) through the real terminal: 1 Hz NMEA text written to a pty
and decoded by the real parser, pulses through the kernel-counter input, every report
through the outbox to a real Mosquitto and the platform emulator. The state database is
on /dev/shm when there is one: the SD card's fsync is not what this measures. Value:
simulated seconds / wall seconds of the replay (setup and provisioning excluded).

shift_replay_car_path_us: the same shift, with the time spent inside the terminal's own code
added up (the loop's event handling and periodic work, the cabin's refresh after a turn, the
NMEA decoder, the kernel counter's reads): microseconds of the car's path per simulated
second. It is the floor under the replay: with a simulator that cost nothing, the replay
could not run faster than 1,000,000 / this value times real time.

fleet_terminals_1hz: terminals reporting once a second against one local Mosquitto in the
shipped configuration (TLS, an account per terminal and consumer, the ACL; sim/fleet_load.py: each terminal its own connection, client id, sequence numbers and
QoS 1 window, real location payloads; many terminals per generator process), platform
consumers (MQTT 5) on a shared subscription in a process of their own. Steps up the
fleet until the platform no longer receives 98 % of the expected rate or the p99
end-to-end latency reaches 1 s; value: the largest fleet that passed. Each step prints
the CPU each part used and the time it waited for a core (the machine's other load).
"""

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from sim.broker import Broker
from sim.fleet_load import run_load, sustained
from sim.runner import ShiftRunner
from sim.scenario import parse


def twelve_hour_shift() -> dict:
    actions = [{"do": "sign_in"}]
    for i in range(30):
        actions.append({"do": "cruise", "route": {"length_m": 1200 + 150 * (i % 5), "seed": 100 + i}})
        actions.append({"do": "hail", "route": {"length_m": 3000 + 700 * (i % 7), "seed": 200 + i},
                        "wait": f"{30 + 15 * (i % 4)}s", "tolls_fen": 500 if i % 10 == 3 else 0})
        if i in (10, 20):
            actions.append({"do": "park", "duration": "40m"})
    actions.append({"do": "park", "at": "18:55", "duration": "1m"})
    actions.append({"do": "sign_out"})
    return {"scenario": {"name": "bench-12h", "start": "2026-11-20 07:00", "end": "19:00", "seed": 5},
            "vehicle": {"terminal_id": "T0999", "pulse_input": "kernel", "gnss_style": "mtk"},
            "actions": actions}


def _replay_shift() -> tuple[ShiftRunner, dict]:
    out = Path(tempfile.mkdtemp(prefix="taxiterm-bench-sim-"))
    shm = Path("/dev/shm")
    state = Path(tempfile.mkdtemp(prefix="taxiterm-bench-state-", dir=shm if shm.is_dir() else None))
    shutil.rmtree(state)
    try:
        runner = ShiftRunner(parse(twelve_hour_shift()), out, render=False, state_dir=state)
        summary = runner.run()
        if summary["broken"]:
            raise RuntimeError(f"the benchmark shift broke {summary['broken']}")
        print(f"  {summary['simulated_s']:.0f} s simulated, {summary['trips']} trips, "
              f"{sum(summary['uplinks'].values())} messages, replay {runner.replay_wall_s:.2f} s wall")
        return runner, summary
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def shift_replay_speedup() -> dict:
    runner, summary = _replay_shift()
    return {"value": round(summary["simulated_s"] / runner.replay_wall_s), "unit": "simulated s / wall s",
            "better": "higher"}


def _car_path_parts() -> dict:
    from drivers.pulse import KernelPulseCounter
    from gps.decoder import NmeaDecoder
    from terminal.app.cabin import Cabin
    from terminal.app.loop import Terminal
    return {"events (Terminal.handle)": (Terminal, "handle"), "Terminal.periodic": (Terminal, "periodic"),
            "cabin after a loop turn": (Cabin, "periodic"), "NMEA decoder": (NmeaDecoder, "feed"),
            "kernel counter reads": (KernelPulseCounter, "_read")}


@contextlib.contextmanager
def _timing(parts: dict, spent: dict):
    """Add up the wall time of each outermost call into the car's code (a call made from inside
    another timed one is part of that one)."""
    inside = [False]
    clock = time.perf_counter

    def timed(label, original):
        def call(*args, **kw):
            if inside[0]:
                return original(*args, **kw)
            inside[0] = True
            start = clock()
            try:
                return original(*args, **kw)
            finally:
                spent[label] += clock() - start
                inside[0] = False
        return call

    originals = {label: getattr(cls, name) for label, (cls, name) in parts.items()}
    try:
        for label, (cls, name) in parts.items():
            spent[label] = 0.0
            setattr(cls, name, timed(label, originals[label]))
        yield spent
    finally:
        for label, (cls, name) in parts.items():
            setattr(cls, name, originals[label])


def shift_replay_car_path_us() -> dict:
    with _timing(_car_path_parts(), {}) as spent:
        runner, summary = _replay_shift()
    simulated = summary["simulated_s"]
    per_s = {label: 1e6 * s / simulated for label, s in spent.items()}
    car = sum(per_s.values())
    rest = 1e6 * runner.replay_wall_s / simulated - car
    for label, us in sorted(per_s.items(), key=lambda kv: -kv[1]):
        print(f"    {label:28} {us:7.1f} us per simulated s")
    print(f"    {'simulator, witness, the rest':28} {rest:7.1f} us per simulated s")
    print(f"  the car's path alone allows at most {1e6 / car:,.0f}x; 10,000x leaves 100 us for everything")
    return {"value": round(car, 1), "unit": "us of the car's code per simulated s", "better": "lower"}


FLEET_STEPS = (250, 500, 1000, 1500, 2000, 3000, 4000)


def fleet_terminals_1hz() -> dict:
    """Against the shipped broker configuration (broker/: TLS, an account per client, the ACL)."""
    ids = tuple(f"F{i:05d}" for i in range(FLEET_STEPS[-1]))
    platform = ("platform-0", "platform-1")
    passed = 0
    with Broker(shipped=True, terminals=ids, platform=platform) as broker:
        for n in FLEET_STEPS:
            report = run_load(n, 8.0, warmup_s=3.0, generators=1 if n <= 1500 else 2, broker=broker,
                              tls_ca=str(broker.ca_path), credentials=lambda cid: (cid, broker.credentials[cid]),
                              log=lambda *_: None)
            ok = sustained(report)
            print(f"  {n} terminals: {report['rate_per_s']} msg/s, p99 {report['latency_ms_p99']} ms, "
                  f"cpu % {report['cpu_pct']}, waiting for a core % {report['cpu_wait_pct']}, "
                  f"load {report['loadavg_1min']:.1f} -> {'ok' if ok else 'not sustained'}")
            if not ok:
                break
            passed = n
    return {"value": passed, "unit": "terminals", "better": "higher"}


METRICS = {"shift_replay_speedup": shift_replay_speedup, "shift_replay_car_path_us": shift_replay_car_path_us,
           "fleet_terminals_1hz": fleet_terminals_1hz}
