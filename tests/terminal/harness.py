"""A whole terminal on the sim board: emulators on real ptys, mock pins, a real broker.

The meter's clock runs ``SPEED`` times faster than the wall clock so a trip of a few
kilometres takes seconds; everything else (ptys, MQTT) runs in real time.
"""

from __future__ import annotations

import time
from pathlib import Path

from sim.platform import PlatformEmulator
from sim.printer_emulator import PrinterEmulator
from sim.provision import provision_state
from sim.pty import PtyDevice
from sim.sign_emulator import SignEmulator
from terminal.app import config as config_mod
from terminal.app.runtime import Runtime

SPEED = 100
TID = "T0042"


class ScaledClock:
    def __init__(self, speed: int = SPEED, start_ms: int = 1795140000000) -> None:
        self.speed = speed
        self.start_ms = start_ms
        self.t0 = time.monotonic()

    def __call__(self) -> int:
        return self.start_ms + int((time.monotonic() - self.t0) * 1000 * self.speed)


class Car:
    def __init__(self, tmp: Path, broker, *, provision: bool = True, speed: int = SPEED) -> None:
        self.tmp = tmp
        self.clock = ScaledClock(speed)
        self.sign = SignEmulator().start()
        self.printer_pty = PtyDevice()
        self.printer = PrinterEmulator(out_dir=tmp / "receipts")
        self.printer.serve_pty(self.printer_pty)
        self.gnss_pty = PtyDevice()
        self.platform = PlatformEmulator(broker.host, broker.port, transcript=tmp / "mqtt.jsonl",
                                         clock=self.clock).start()  # commands dated on the terminal's clock
        if provision:
            provision_state(tmp / "state")
        self.config = config_mod.from_dict({
            "terminal": {"id": TID, "state_dir": str(tmp / "state"), "plate": "浙A·T1234",
                         "company": "杭州示范出租汽车有限公司", "driver_cert": "330100123456"},
            "meter": {"k": 1000},
            "report": {"vacant_s": 30, "occupied_s": 10, "alarm_s": 5},
            "pulse": {"period_ms": 100},
            # long holds on the 100x clock (100 ms real), so a loaded machine cannot turn a tap into a hold
            "keys": {"long_ms": 10000},
            "alarm": {"hold_ms": 10000},
            "sign": {"query_s": 60},
            "mqtt": {"host": broker.host, "port": broker.port, "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
            "board": {"serial": {"sign": self.sign.path, "printer": self.printer_pty.path,
                                 "gnss": self.gnss_pty.path}},
        })
        self.runtime: Runtime | None = None

    def start(self) -> Runtime:
        self.runtime = Runtime(self.config, "sim", clock=self.clock)
        self.runtime.start()
        assert self.runtime.ready.wait(10)
        return self.runtime

    # -- the driver's hands ----------------------------------------------------------------------
    def press(self, key: str, hold_s: float = 0.002) -> None:
        button = self.runtime.devices.inputs[0].buttons[key]
        button.pin.drive_low()
        time.sleep(hold_s)
        button.pin.drive_high()
        time.sleep(0.02)

    def hold_alarm(self, hold_s: float) -> None:
        button = self.runtime.devices.inputs[1].buttons["alarm_a"]
        button.pin.drive_low()
        time.sleep(hold_s)
        button.pin.drive_high()

    PACE_SLACK_S = 0.002

    def drive(self, metres: int, kmh: int = 40) -> None:
        """Pulses at K = 1000 on the pulse pin, paced to ``kmh`` on the scaled clock."""
        pin = self.runtime.devices.pulse_counter.device.pin
        per_real_s = kmh / 3.6 * self.clock.speed
        start = time.monotonic()
        for i in range(metres):
            pin.drive_high()
            pin.drive_low()
            due = start + (i + 1) / per_real_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -self.PACE_SLACK_S:
                # A stalled test thread must not catch up in a burst: on the scaled clock a
                # burst is a car at hundreds of km/h, which the meter rightly refuses.
                start -= delay
        time.sleep(0.25)

    def meter(self):
        return self.runtime.terminal.meter

    def wait(self, predicate, timeout_s: float = 5.0) -> bool:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if predicate():
                return True
            time.sleep(0.01)
        return predicate()

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.stop()
        self.platform.stop()
        self.printer.close()
        self.printer_pty.close()
        self.gnss_pty.close()
        self.sign.close()
