"""``taxiterm bench up``: the car's devices around a terminal on the sim board (simulator room).

One process holds what a workshop bench would have on its table: the rooftop sign and the
receipt printer emulators on pseudo-terminals, a GNSS receiver the technician steers
(sim/bench_gnss.py), a real Mosquitto and the platform emulator recording what arrives. It
provisions a development state directory (unless given one) and writes the configuration
that ``taxiterm run --board sim`` and ``taxiterm selftest --board sim`` take. A control socket
of its own (``bench-devices.sock``) lets ``taxiterm bench drive`` move the GNSS receiver and
lets a test or technician trouble the printer and the sign (docs/bench.md).
"""

from __future__ import annotations

from pathlib import Path

from terminal.app.bench_socket import BenchError, JsonLineServer

PRINTER_STATES = ("paper_out", "paper_near_end", "cover_open", "offline", "silent")


def _account(link: dict) -> dict:
    return {key: link[key] for key in ("username", "password", "tls_ca") if key in link}


def config_text(state_dir: Path, terminal_id: str, broker_port: int, sign: str, printer: str, gnss: str,
                credentials: dict | None = None) -> str:
    """The terminal's configuration for this bench (docs/config.md); ``credentials`` the
    terminal's account on the bench's broker (username, password, tls_ca)."""
    account = "".join(f'{key} = "{value}"\n' for key, value in (credentials or {}).items())
    return f"""# Written by `taxiterm bench up`: a terminal on the sim board against the bench's emulators.
[terminal]
id = "{terminal_id}"
state_dir = "{state_dir}"
plate = "粤A·D1234"
company = "示范出租汽车有限公司"
driver_cert = "440100123456"

[meter]
k = 1000                              # sim board only: pulses per km of the bench's pulse input

[mqtt]
host = "127.0.0.1"
port = {broker_port}
reconnect_min_s = 0.5
reconnect_max_s = 5.0
{account}
[board.serial]
sign = "{sign}"
printer = "{printer}"
gnss = "{gnss}"
"""


class Bench:
    """The devices of the bench; ``start()`` brings them up, ``close()`` takes them down."""

    def __init__(self, directory: Path, *, state_dir: Path | None = None, terminal_id: str = "T0001",
                 control: Path | None = None) -> None:
        self.dir = Path(directory)
        self.state_dir = Path(state_dir) if state_dir else self.dir / "state"
        self.terminal_id = terminal_id
        self.control_path = control
        self.config_path = self.dir / "terminal.toml"
        self.receipts = self.dir / "receipts"
        self.transcript = self.dir / "mqtt.jsonl"
        self._parts: list = []

    def start(self) -> Bench:
        from sim.bench_gnss import LiveGnss
        from sim.broker import Broker
        from sim.platform import PlatformEmulator
        from sim.printer_emulator import PrinterEmulator
        from sim.pty import PtyDevice
        from sim.sign_emulator import SignEmulator
        from terminal.trust import keys

        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            if not keys.DeviceState(self.state_dir).provisioned:
                from sim.provision import provision_state
                provision_state(self.state_dir, device_id=f"BENCH-{self.terminal_id}")
            self.broker = self._keep(Broker().start(), "close")
            self.platform = self._keep(PlatformEmulator(self.broker.host, self.broker.port,
                                                        transcript=self.transcript,
                                                        **self.broker.client_options("platform-emulator")).start(),
                                       "stop")
            self.sign = self._keep(SignEmulator().start(), "close")
            self.printer_pty = PtyDevice()
            self.printer = PrinterEmulator(out_dir=self.receipts)
            self.printer.serve_pty(self.printer_pty)
            self._keep(self.printer_pty, "close")
            self._keep(self.printer, "close")     # closed first: its thread reads the pty
            self.gnss = self._keep(LiveGnss().start(), "close")
            self.config_path.write_text(config_text(self.state_dir, self.terminal_id, self.broker.port,
                                                    self.sign.path, self.printer_pty.path, self.gnss.path,
                                                    _account(self.broker.link_config(self.terminal_id))),
                                        encoding="utf-8")
            if self.control_path is not None:
                self.control = self._keep(JsonLineServer(self.control_path, self.handle, "bench-devices").start(),
                                          "close")
        except Exception:
            self.close()
            raise
        return self

    def _keep(self, part, closer: str):
        self._parts.append(getattr(part, closer))
        return part

    def handle(self, request: dict) -> dict:
        action = request.get("action")
        if action == "gnss_drive":
            try:
                return {"detail": self.gnss.drive(float(request.get("kmh", 0)), float(request.get("seconds", 0)))}
            except (TypeError, ValueError) as exc:
                raise BenchError(str(exc)) from None
        if action == "printer":
            state, value = request.get("state"), request.get("on", True)
            if state not in PRINTER_STATES or not isinstance(value, bool):
                raise BenchError(f"printer state must be one of {', '.join(PRINTER_STATES)} with on true/false")
            self.printer.set_state(**{state: value})
            return {"detail": f"printer {state} {'on' if value else 'off'}"}
        if action == "sign":
            mode = request.get("mode")
            if mode not in ("silent", "garbage", "normal"):
                raise BenchError("sign mode must be silent, garbage or normal")
            self.sign.silent, self.sign.garbage = mode == "silent", mode == "garbage"
            return {"detail": f"sign {mode}"}
        if action == "status":
            return {"sign": self.sign.state, "receipts": len(self.printer.receipts),
                    "gnss": {"lat": round(self.gnss.lat, 6), "lon": round(self.gnss.lon, 6),
                             "speed_kmh": round(self.gnss.speed_kmh, 1), "distance_m": round(self.gnss.distance_m)},
                    "mqtt_messages": len(self.platform.messages)}
        raise BenchError(f"unknown action {action!r}; known: gnss_drive, printer, sign, status")

    def describe(self) -> str:
        return "\n".join([
            f"config:    {self.config_path}",
            f"state:     {self.state_dir}",
            f"sign:      {self.sign.path}",
            f"printer:   {self.printer_pty.path} (receipts in {self.receipts})",
            f"gnss:      {self.gnss.path}",
            f"broker:    127.0.0.1:{self.broker.port} (platform transcript {self.transcript})",
            f"control:   {self.control_path}" if self.control_path else "control:   none",
        ])

    def close(self) -> None:
        while self._parts:
            closer = self._parts.pop()
            try:
                closer()
            except Exception:      # take the rest down even if one part is already gone
                pass
