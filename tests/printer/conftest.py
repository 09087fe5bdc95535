"""Shared fixtures of the receipt printer tests: the sample trip, vehicle and emulator on a pty."""

import json
from pathlib import Path

import pytest

from printer.receipt import Vehicle
from sim.printer_emulator import PrinterEmulator
from sim.pty import PtyDevice

DATA = Path(__file__).resolve().parent.parent / "data" / "receipts"
SOFTWARE_ID = "taxiterm 0.1.0 meter:3f2a9c1b"


@pytest.fixture
def trip() -> dict:
    return json.loads((DATA / "trip_12.json").read_text(encoding="utf-8"))


@pytest.fixture
def vehicle() -> Vehicle:
    return Vehicle(plate="粤A·D12345", company="广州市白云出租汽车有限公司", driver_cert="440100201912345678")


@pytest.fixture
def pty_printer():
    """A printer emulator serving a real pseudo-terminal: (emulator, pty)."""
    pty = PtyDevice()
    emulator = PrinterEmulator()
    emulator.serve_pty(pty)
    yield emulator, pty
    emulator.close()
    pty.close()
