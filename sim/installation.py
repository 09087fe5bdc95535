"""The terminal fitted in the simulated car: every emulated device, the platform, and the real Terminal.

In the simulator room. ``Installation(scenario, out_dir, clock, ...).build()`` provisions a state
directory and wires the real ``terminal.app.loop.Terminal`` to emulated devices (keys, hidden
alarm, ignition and pulses on gpiozero mock pins; GNSS, rooftop sign and receipt printer on
pseudo-terminals; luma's dummy display; the real MQTT link to a real Mosquitto, behind a gate
when the scenario has broker outages, with the platform emulator on the far side). On the
virtual clock the receipt printer is reached through an in-process port (sim.loopback_port).
It owns them and ``close()`` takes them down again, whatever part of ``build()`` was reached.
It decides nothing about time: the clock it is given is the runner's.
"""

from __future__ import annotations

import functools
import queue
import sqlite3
from collections.abc import Callable
from pathlib import Path

from board.profiles import load_board
from drivers.alarm_button import HiddenAlarm
from drivers.display import DriverDisplay, open_display
from drivers.keys import DriverKeys
from drivers.pulse import GpioPulseCounter, KernelPulseCounter
from drivers.sense import ignition_sense
from sim.broker import Broker, Gate
from sim.devices import FrameRecorder, KernelCounterFile, PtyGnss, PtySign
from sim.platform import PlatformEmulator
from sim.printer_emulator import PrinterEmulator
from sim.provision import provision_state
from sim.pty import PtyDevice
from sim.pulse_gen import PulseTrain
from sim.scenario import Scenario
from sim.sign_emulator import SignEmulator
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.app.runtime import installed_schedule
from terminal.storage.database import Storage
from terminal.storage.receipt_jobs import StoredJobs
from terminal.trust import identity
from terminal.trust.audit import AuditTrail
from terminal.trust.seal import Seal, switch_closed_from_audit


def journal_meter(meter, journal: list) -> None:
    """Record every call the terminal makes on the meter that the meter accepted (for the reference check)."""
    for name in ("reading", "key", "power"):
        method = getattr(meter, name)

        @functools.wraps(method)
        def recorded(*args, _method=method, _name=name, **kw):
            out = _method(*args, **kw)
            journal.append((_name, args, kw))
            return out

        setattr(meter, name, recorded)


class Installation:
    """The car's terminal and everything around it; ``build()`` fits it, ``close()`` takes it out."""

    def __init__(self, scenario: Scenario, out_dir: Path, clock: Callable[[], int], *, broker: Broker | None = None,
                 render: bool = True, state_dir: Path | None = None, link: str = "mqtt",
                 meter: str = "internal") -> None:
        self.scenario = scenario
        self.meter_kind = meter           # "internal", or a meter fitted on the 905.2 link (link / device)
        self.fitted_meter = None
        self.link_name = link             # "mqtt", or a JT/T link (jt808 / jt905) beside it
        self.jt_platform = None
        self.jt_links: list = []
        self.out = out_dir
        self.clock = clock
        self.render = render
        self._own_broker = broker is None
        self.broker = broker
        self._state_dir = state_dir
        self.journal: list = []

    def build(self) -> None:
        sc = self.scenario
        v = sc.vehicle
        self.out.mkdir(parents=True, exist_ok=True)
        if self.broker is None:
            self.broker = Broker().start()
        # The car's mobile link: a gate only when the scenario takes it away (broker outages); otherwise
        # the terminal connects to the broker as the car does, without two relay threads per message.
        outages = any(a.do == "broker_outage" for a in sc.actions)
        self.gate = Gate(self.broker.port) if outages else None
        state_dir = self._state_dir or (self.out / "state")
        self.state = provision_state(state_dir, device_id=f"SIM-{v.terminal_id}", tariff=sc.tariff)
        self.transcript = self.out / "mqtt.jsonl"
        self.transcript.write_text("")
        self.platform = PlatformEmulator(self.broker.host, self.broker.port, transcript=self.transcript,
                                         clock=self.clock, client_id=f"platform-{v.terminal_id}",
                                         **self.broker.client_options(f"platform-{v.terminal_id}")).start()
        jt = {}
        if self.link_name != "mqtt":
            from sim.jtt_platform import JttPlatform
            self.jt_platform = JttPlatform(self.link_name, transcript=self.out / f"{self.link_name}.jsonl",
                                           clock=self.clock).start()
            jt = {"links": {"use": ["mqtt", self.link_name]},
                  self.link_name: {"port": self.jt_platform.port, "reconnect_min_s": 0.05, "reconnect_max_s": 0.5}}
        self.config = config_mod.from_dict({
            **jt,
            "terminal": {"id": v.terminal_id, "state_dir": str(state_dir), "plate": v.plate,
                         "company": v.company, "driver_cert": sc.driver_cert},
            "meter": {"k": v.k, **({"kind": "link"} if self.meter_kind != "internal" else {})},
            "report": dict(sc.report),
            "recorder": {k: v for k, v in sc.recorder.items() if k in ("continuous_s", "rest_s", "daily_s")},
            "sign": {"query_s": 60},
            "mqtt": self.broker.link_config(v.terminal_id, port=self.gate.port if self.gate else self.broker.port),
        })
        self.events: queue.Queue = queue.Queue()
        clock = self.clock
        self.storage = Storage(self.state.database, clock)
        self.identity = identity.device_identity(self.state, clock(), None)
        audit_db = sqlite3.connect(str(self.state.database), isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
        self.audit = AuditTrail(audit_db, self.state.device_key(), self.identity.software_id, clock,
                                self.state.audit_capacity())
        profile = load_board("sim")
        from gpiozero.pins.mock import MockFactory
        factory = MockFactory()
        self.keys = DriverKeys(profile.keys, self.events, clock, factory, long_ms=self.config["keys"]["long_ms"])
        self.alarm_buttons = HiddenAlarm({"alarm_a": profile.inputs["alarm_a"], "alarm_b": profile.inputs["alarm_b"]},
                                         self.events, clock, factory, hold_ms=self.config["alarm"]["hold_ms"])
        self.ignition = ignition_sense(profile.inputs["ignition"], self.events, clock, factory)
        self.ignition.device.pin.drive_low()    # ignition on before the terminal starts
        period = self.config["pulse"]["period_ms"]
        if v.pulse_input == "gpio":
            self.counter = GpioPulseCounter(profile.inputs["pulse"], self.events, clock, factory, period_ms=period)
            self.train = PulseTrain(factory, profile.inputs["pulse"], v.k)
            self.kernel_file = None
        else:
            self.kernel_file = KernelCounterFile(state_dir / "pulse-count")
            self.counter = KernelPulseCounter(str(self.kernel_file.path), self.events, clock, period_ms=period)
            self.train = None
        self.sign_emulator = SignEmulator(clock=clock).start()
        self.sign = PtySign(self.sign_emulator.path, self.events, clock)
        self.printer = PrinterEmulator(out_dir=self.out / "receipts" if self.render else None)
        self.printer_pty = PtyDevice()
        self.printer.serve_pty(self.printer_pty)
        from printer.device import open_printer
        from printer.spooler import Spooler
        if getattr(clock, "speed", 1) is None:    # the virtual clock: the same conversation, in process
            from sim.loopback_port import open_loopback_printer
            connect = functools.partial(open_loopback_printer, self.printer_pty.path, self.printer.feed)
        else:
            connect = functools.partial(open_printer, self.printer_pty.path)
        self.spooler = Spooler(StoredJobs(self.storage.receipt_queue), connect, self.events, clock)
        self.gnss = PtyGnss(self.events, clock)
        self.display = FrameRecorder(DriverDisplay(open_display(profile.display)), clock,
                                     self.out / "frames" if self.render else None)
        from terminal.link.mqtt import MqttLink
        self.link = MqttLink(self.config["mqtt"], self.events, clock, software=self.identity.software_id)
        devices = Devices(sign=self.sign, display=self.display, spooler=self.spooler, gnss=None, link=self.link,
                          inputs=[self.keys, self.alarm_buttons, self.ignition], pulse_counter=self.counter,
                          meter_link=self._fit_meter())
        self.terminal = Terminal(
            self.config, storage=self.storage, schedule=installed_schedule(self.state), events=self.events,
            clock=clock, devices=devices, software_id=self.identity.software_id, identity_ok=self.identity.ok,
            identity_reason=self.identity.reason, audit=self.audit, receipt_builder=self._receipt,
            seal=Seal(self.state.device_id(), self.state.role_key("authority"), switch_closed_from_audit(self.audit)))
        if self.fitted_meter is None:     # a fitted meter journals what it accepted itself
            journal_meter(self.terminal.meter, self.journal)
        if self.jt_platform is not None:
            from terminal.app.jt_desk import attach
            self.jt_links = attach(self.terminal, self.config, self.events, clock)

    def _fit_meter(self):
        """``--meter link|device``: the sealed meter in the car and the terminal's driver for its link;
        the terminal's own pulse line calibrated under the seal for its driving record."""
        if self.meter_kind == "internal":
            return None
        from sim.fitted_meter import FittedMeter, calibrate_pulse_line
        self.pulse_calibration = calibrate_pulse_line(self, self.clock())
        self.fitted_meter = FittedMeter(self.meter_kind, self.scenario, self.out, self.clock, self.events,
                                        self.journal).start()
        return self.fitted_meter.driver

    def _receipt(self, record: dict):
        from printer.receipt import Vehicle as ReceiptVehicle
        from printer.receipt import build_receipt
        from terminal.trust.receipt_signing import receipt_link
        t = self.config["terminal"]
        vehicle = ReceiptVehicle(t["plate"], t["company"], t["driver_cert"], t["supervision_phone"])
        link = receipt_link(self.state.device_key(), self.state.device_id(), t["receipt_verify_url"], record,
                            vehicle.plate)
        return build_receipt(record, vehicle, self.identity.software_id, lang=t["receipt_lang"], e_receipt_link=link)

    def close(self) -> None:
        for closer in (getattr(self, name, None) for name in ("link",)):
            if closer is not None:
                closer.stop()
        for jt_link in self.jt_links:
            jt_link.stop()
        if self.jt_platform is not None:
            self.jt_platform.stop()
        for name in ("keys", "alarm_buttons", "ignition", "gnss", "sign"):
            device = getattr(self, name, None)
            if device is not None:
                device.close()
        if getattr(self, "counter", None) is not None:
            self.counter.stop()
        if getattr(self, "kernel_file", None) is not None:
            self.counter.close()            # the kernel counter keeps its count file open
            self.kernel_file.close()
        if getattr(self, "spooler", None) is not None:
            self.spooler.stop()
        for name in ("platform",):
            if getattr(self, name, None) is not None:
                getattr(self, name).stop()
        if getattr(self, "printer", None) is not None:
            self.printer.close()
            self.printer_pty.close()
        if getattr(self, "sign_emulator", None) is not None:
            self.sign_emulator.close()
        if self.fitted_meter is not None:
            self.fitted_meter.close()
        if getattr(self, "storage", None) is not None:
            self.audit.conn.close()
            self.storage.close()
        if getattr(self, "gate", None) is not None:
            self.gate.close()
        if self._own_broker and self.broker is not None:
            self.broker.close()
