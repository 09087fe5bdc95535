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


DEVICE_ID = "SIM-0001"
VERIFY_URL = "https://verify.taxiterm.invalid/r"


def device_key():
    """A fixed device key, so the signed e-receipt link (Ed25519 is deterministic) can be in golden files."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def link_of(trip: dict, plate: str) -> str:
    from terminal.trust.receipt_signing import receipt_link
    return receipt_link(device_key(), DEVICE_ID, VERIFY_URL, trip, plate)


@pytest.fixture
def signed_link(trip, vehicle) -> str:
    return link_of(trip, vehicle.plate)


@pytest.fixture
def device_state(tmp_path):
    """A state directory with just the device's identity and key (what signing and verifying read)."""
    from terminal.trust import keys
    root = tmp_path / "device-state"
    (root / "keys").mkdir(parents=True)
    (root / "device.json").write_text(json.dumps({"device_id": DEVICE_ID}), encoding="utf-8")
    keys.write_private(root / "keys" / "device.key", device_key())
    keys.write_public(root / "keys" / "device.pub", device_key().public_key())
    return root


@pytest.fixture
def pty_printer():
    """A printer emulator serving a real pseudo-terminal: (emulator, pty)."""
    pty = PtyDevice()
    emulator = PrinterEmulator()
    emulator.serve_pty(pty)
    yield emulator, pty
    emulator.close()
    pty.close()
