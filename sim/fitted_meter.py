"""The sealed meter fitted in the simulated car, and the 905.2 link between it and the terminal.

In the simulator room. ``taxiterm sim SCENARIO --meter link|device`` fits the terminal with
``[meter] kind = "link"`` and puts a meter of its own in the car: ``link``, a 905.2 taximeter
in Python (sim/link_meter_emulator.py); ``device``, our meter firmware under real MicroPython
(sim/meter_device.py). The terminal's real ``MeterLinkDriver`` talks to it over a real pty.

Time. The simulator's clock is virtual, and the meter has no clock of its own here: every input
(a pulse reading, a key, the supply, a tick, bytes from the terminal) carries the simulated time
(the emulator host's time injection). The terminal's clock-set command is answered, but the time
the meter meters by is the injected one, so the two never drift.

Each simulated second ``second()`` hands the meter the car's supply and cumulative pulse count,
ticks it, paces the driver's status query on the simulated clock, then ``exchange()`` waits —
in wall time, with the simulated clock standing still — until every byte each side wrote has
been read and handled by the other, so the outcome does not depend on the machine's speed.
Every input the meter accepted is journaled as the internal meter's calls are, for the reference
fare check.

The terminal's own pulse line. The car's speed sensor is wired to the meter and to the
terminal's pulse input alike (a JT/T 794 terminal with the driving-record function counts it
for its records). ``calibrate_pulse_line`` does what the installing technician does before the
first shift: with an authorisation from the authority, drive a measured course, count the
terminal's pulses over it and store K under the seal (``taxiterm calibrate``'s audit record and
Storage kv ``calibration``). The runner then feeds that input the same 0.2 s readings as with
the in-process meter.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path

from drivers.meter_link import MeterLinkDriver
from sim.link_meter_emulator import LinkMeterEmulator
from sim.meter_device import MeterDeviceEmulator
from sim.summary import tariffs_by_id
from terminal.trust import calibration, keys, seal

KINDS = ("internal", "link", "device")
SYNC_TIMEOUT_S = 20.0


COURSE_M = 1000                 # the measured course, lengthened until it holds 1000 pulses
TECHNICIAN = "SIM-INSTALLER"


def calibrate_pulse_line(car, t_ms: int) -> calibration.Calibration:
    """The technician calibrates the terminal's pulse line under the seal: a measured course driven
    on the car's pulse input (gpiozero pulse train or the kernel counter), the pulses the
    terminal's counter saw over it, K stored and audited as ``taxiterm calibrate`` stores it."""
    from terminal.cli.commands.calibrate import AUDIT_EVENT
    k_car = car.scenario.vehicle.k
    course_m = COURSE_M * -(-calibration.MIN_PULSES // min(k_car, calibration.MIN_PULSES))
    before = car.counter.count
    if car.train is not None:
        car.train.drive(course_m)
    else:
        car.kernel_file.add(course_m * k_car // 1000)
    result = calibration.Calibration.from_run(course_m, car.counter.count - before, t_ms)
    state = car.state
    authority = keys.load_private(state.root / "dev-keys" / "authority.key")
    auth = seal.make_authorisation(authority, state.device_id(), TECHNICIAN, ["set_k"], t_ms - 60_000,
                                   t_ms + 3_600_000)
    device_seal = seal.Seal(state.device_id(), state.role_key("authority"))
    decision = seal.require(device_seal, car.audit, "set_k", t_ms, "K", auth)
    with car.audit.transaction():      # the audit record and the stored K commit together
        car.audit.append(AUDIT_EVENT, "K", None, result.k, actor=decision.actor, t_ms=t_ms)
        car.audit.conn.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (calibration.KV_KEY, result.kv_text()))
    return result


class MeterSyncError(RuntimeError):
    """The meter and the terminal did not exchange their bytes within the wait."""


class FittedMeter:
    def __init__(self, kind: str, scenario, out: Path, clock: Callable[[], int], events: queue.Queue,
                 journal: list) -> None:
        if kind not in ("link", "device"):
            raise ValueError(f"no fitted meter of kind {kind!r}")
        self.kind = kind
        self.clock = clock
        self.journal = journal
        self.k = scenario.vehicle.k
        tariffs = list(tariffs_by_id(scenario.tariff).values())
        params = {"k": self.k}
        if kind == "device":
            self.meter = MeterDeviceEmulator(out / "meter-flash.bin", clock, tariffs, params=params)
        else:
            self.meter = LinkMeterEmulator(clock, tariffs, params=params)
        # the status query every 2 s of simulated time, answered within the same (still) moment
        self.driver = MeterLinkDriver(self.meter.path, events, clock, query_interval_ms=2000,
                                      answer_timeout_ms=1000)
        self.powered = True
        self.pulses_sent: int | None = None
        self.from_terminal = 0         # bytes the terminal wrote that the meter has been handed
        self.refused: list[str] = []
        self.last_t = clock()          # the time of the last input the meter applied
        self.cuts = 0
        self.final: dict = {}          # the meter's own account at the end (trips, state, pending)

    def start(self) -> FittedMeter:
        self.meter.start(threads=False)
        self.driver.start(pace=False)
        return self

    def close(self) -> None:
        self.final = self.meter.stats()
        self.driver.close()
        self.meter.close()

    # -- the device's power-fail drill ------------------------------------------------------------
    def cut(self) -> None:
        """The meter's supply is cut at once (``device``: the MicroPython process is killed between
        two inputs): it journals nothing more; at the next boot it finds itself powered since its
        last journaled event, which is when the reference sees the power go."""
        if self.kind != "device" or self.meter.proc is None:
            return
        self.meter.kill()
        self.cuts += 1
        if self.powered:
            self.journal.append(("power", (self.last_t, False), {}))

    def restore(self) -> None:
        """The supply is back: the firmware boots from its flash (a loss longer than the dip closes the trip)."""
        if self.kind != "device" or self.meter.proc is not None:
            return
        t = max(self.clock(), self.last_t)
        self.meter.restart()
        self.last_t = t
        self.journal.append(("power", (t, True), {}))      # the boot powers the meter on
        if not self.powered:            # the car's supply is off: the supply sense says so at once
            self._input(("power", (False,)), power=False)

    @property
    def state(self) -> str | None:
        return self.meter.state

    # -- inputs of the meter, journaled when it accepted them ---------------------------------------
    def _input(self, journal_as: tuple | None, **cmd) -> bool:
        t = self.clock()
        answer = self.meter.answer(t=t, **cmd)
        if answer.get("error"):
            self.refused.append(answer["error"])
            return False
        if journal_as is not None and answer:
            name, args = journal_as
            self.journal.append((name, (t,) + args, {}))
            self.last_t = t
        return bool(answer)

    def press(self, key: str, amount_fen: int | None = None, label: str | None = None) -> bool:
        cmd = {"key": key}
        if amount_fen is not None:
            cmd.update(amount_fen=amount_fen, label=label)
        return self._input(("key", (key,)), **cmd)

    def second(self, odometer_m: float, powered: bool, drain: Callable[[], None]) -> None:
        """One simulated second of the meter: supply, pulse count, tick, the status query, the exchange."""
        if powered != self.powered:
            self.powered = powered
            self._input(("power", (powered,)), power=powered)
        if powered:
            count = int(odometer_m) * self.k // 1000
            self._input(("reading", (count, "pulses")), pulses=count)
            self.pulses_sent = count
        else:
            self.meter.answer(t=self.clock(), tick=True)
        self.driver.pace(self.clock())
        self.exchange(drain)

    # -- the link --------------------------------------------------------------------------------
    def exchange(self, drain: Callable[[], None]) -> None:
        """Until both sides are quiet: the terminal decodes all the meter sent and handles it, the
        meter is handed all the terminal wrote (and its answers go back the same way)."""
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while True:
            while self.driver.bytes_in < self.meter.bytes_out:
                if time.monotonic() > deadline:
                    raise MeterSyncError(f"the terminal read {self.driver.bytes_in} of the meter's "
                                         f"{self.meter.bytes_out} bytes")
                time.sleep(0.0005)
            drain()
            wanted = self.driver.bytes_out - self.from_terminal
            if not wanted:
                return
            data = b""
            while len(data) < wanted:
                if time.monotonic() > deadline:
                    raise MeterSyncError(f"the meter got {len(data)} of the terminal's {wanted} bytes")
                data += self.meter.pty.read(timeout=0.05, size=wanted - len(data))
            self.from_terminal += len(data)
            self.meter.answer(t=self.clock(), uart=data.hex())
