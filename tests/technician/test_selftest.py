"""``taxiterm selftest`` on the sim board with the emulators on real pseudo-terminals and a real broker."""

import json
import socket

import pytest

from sim.gnss_emulator import GnssPtyServer, nmea_epochs
from sim.gnss_route import drive, urban_route
from sim.printer_emulator import PrinterEmulator
from sim.pty import PtyDevice
from sim.sign_emulator import SignEmulator
from terminal.cli import main
from terminal.cli.commands.selftest import CHECKS

FAST = ["--display-s", "0", "--sign-timeout", "1", "--gnss-timeout", "2", "--mqtt-timeout", "2"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bench:
    """The devices a sim-board terminal talks to, and its configuration file."""

    def __init__(self, tmp_path, broker) -> None:
        self.tmp = tmp_path
        self.sign = SignEmulator().start()
        self.printer_pty = PtyDevice()
        self.printer = PrinterEmulator()
        self.printer.serve_pty(self.printer_pty)
        self.gnss = GnssPtyServer(nmea_epochs(drive(urban_route(3000))), speed=20.0).start()
        self.host, self.port = broker.host, broker.port
        self.credentials = {k: v for k, v in broker.link_config("T0042").items()
                            if k in ("username", "password", "tls_ca")}
        self.board: dict = {}

    def config(self, **mqtt) -> str:
        path = self.tmp / "terminal.toml"
        serial = {"sign": self.sign.path, "printer": self.printer_pty.path, "gnss": self.gnss.path}
        mqtt = {"host": self.host, "port": self.port} | self.credentials | mqtt
        lines = ['[terminal]\nid = "T0042"', "[mqtt]"] + [f"{k} = {json.dumps(v)}" for k, v in mqtt.items()]
        lines += ["[board]"] + [f"{k} = {json.dumps(v)}" for k, v in self.board.items() if not isinstance(v, dict)]
        lines += ["[board.serial]"] + [f"{k} = {json.dumps(v)}" for k, v in serial.items()]
        for section, table in ((k, v) for k, v in self.board.items() if isinstance(v, dict)):
            lines += [f"[board.{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in table.items()]
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def selftest(self, *args, **mqtt) -> int:
        return main(["selftest", "--board", "sim", "--config", self.config(**mqtt), *FAST, *args])

    def close(self) -> None:
        self.gnss.close()
        self.printer.close()
        self.printer_pty.close()
        self.sign.close()


@pytest.fixture
def bench(tmp_path, mosquitto_session):
    b = Bench(tmp_path, mosquitto_session)
    yield b
    b.close()


def report(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_every_device_answers_and_the_test_page_prints(bench, capsys):
    assert bench.selftest() == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "self-test on board sim"
    assert [line.split()[1] for line in lines[1:-1]] == list(CHECKS)
    assert all(line.startswith("[PASS]") for line in lines[1:-1]), text
    assert lines[-1] == "RESULT: all devices passed"
    assert "all 16384 pixels lit on the dummy 256x64" in text
    assert "shows vacant" in text and "accepted MQTT 5" in text and "3D fix" in text
    assert bench.printer.wait_for_receipts(1, timeout_s=5)
    page = bench.printer.text(0)
    assert "自检 SELF-TEST" in page and "T0042" in page and "出租汽车计价器 打印正常" in page


def test_a_sign_that_went_silent_fails_the_sign_check_only(bench, capsys):
    bench.sign.silent = True
    assert bench.selftest("--json") == 1
    body = report(capsys)
    assert body["ok"] is False and body["failed"] == ["sign"]
    sign = next(c for c in body["checks"] if c["name"] == "sign")
    assert sign["detail"] == f"no answer to a status query on {bench.sign.path} within 1 s"


def test_a_sign_answering_garbage_fails_and_says_so(bench, capsys):
    bench.sign.garbage = True
    assert bench.selftest("--json") == 1
    sign = next(c for c in report(capsys)["checks"] if c["name"] == "sign")
    assert not sign["ok"] and "malformed answers" in sign["detail"]


def test_a_printer_out_of_paper_fails_and_gets_no_test_page(bench, capsys):
    bench.printer.set_state(paper_out=True)
    assert bench.selftest("--json") == 1
    body = report(capsys)
    assert body["failed"] == ["printer"]
    printer = next(c for c in body["checks"] if c["name"] == "printer")
    assert printer["detail"].startswith(f"not ready on {bench.printer_pty.path}: paper_out")
    assert bench.printer.receipts == []


def test_a_silent_receiver_fails_the_gnss_check(bench, capsys):
    bench.gnss.stop()
    assert bench.selftest("--json", "--skip", "sign") == 1
    body = report(capsys)
    assert body["failed"] == ["gnss"]
    gnss = next(c for c in body["checks"] if c["name"] == "gnss")
    assert gnss["detail"].startswith(f"no valid NMEA on {bench.gnss.path} within 2 s")


def test_an_unreachable_broker_fails_the_mqtt_check(bench, capsys):
    assert bench.selftest("--json", port=free_port()) == 1
    body = report(capsys)
    assert body["failed"] == ["mqtt"]
    assert "cannot reach the broker at 127.0.0.1:" in body["checks"][-1]["detail"]


def test_a_missing_kernel_pulse_counter_fails_the_pulse_check(bench, capsys, tmp_path):
    path = tmp_path / "no-such-counter"
    bench.board = {"pulse_counter": str(path)}
    assert bench.selftest("--json") == 1
    body = report(capsys)
    assert body["failed"] == ["pulse"]
    assert str(path) in next(c for c in body["checks"] if c["name"] == "pulse")["detail"]


def test_a_readable_kernel_pulse_counter_passes(bench, capsys, tmp_path):
    path = tmp_path / "count"
    path.write_text("123456\n")
    bench.board = {"pulse_counter": str(path)}
    assert bench.selftest("--json", "--skip", "gnss", "--skip", "mqtt") == 0
    pulse = next(c for c in report(capsys)["checks"] if c["name"] == "pulse")
    assert pulse["detail"] == f"kernel counter {path} readable (count 0)"


def test_a_display_that_cannot_be_opened_fails_the_display_check(bench, capsys):
    bench.board = {"display": {"kind": "ssd1306", "bus": "i2c", "port": 1, "address": 0x3C, "width": 128,
                               "height": 64}}
    assert bench.selftest("--json") == 1
    body = report(capsys)
    assert body["failed"] == ["display"]
    assert "ssd1306" in body["checks"][0]["detail"]


def test_skipped_checks_are_not_run_and_the_status_only_printer_check_prints_nothing(bench, capsys):
    assert bench.selftest("--json", "--skip", "mqtt", "--skip", "gnss", "--no-test-page") == 0
    body = report(capsys)
    assert [c["name"] for c in body["checks"]] == ["display", "sign", "printer", "pulse"]
    assert bench.printer.receipts == []


@pytest.mark.parametrize("content,why", [("[nonsense]\n", "unknown section [nonsense]"),
                                         ("[board.serial]\nfoo = 1\n", "unknown board setting 'serial.foo'")])
def test_a_bad_configuration_is_one_line_and_exit_status_2(tmp_path, capsys, content, why):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    assert main(["selftest", "--board", "sim", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert why in err and err.count("\n") == 1
