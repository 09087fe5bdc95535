"""Fixtures for the seal tests: test keys, a provisioned state directory, signed tariffs, stored trips."""

import os
import time
from pathlib import Path

import pytest

from meter import trip as meter_trip
from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit, running_identity
from terminal.trust import identity, keys, seal, signing
from terminal.trust.tariff_store import sign_tariff

TARIFF_TOML = """\
[[tariff]]
id = "GZ-2026A"
name = "测试市出租汽车运价"
effective_from = "2026-01-01 00:00"
utc_offset_min = 480
mode = "CN"
start_fare_fen = 1300
start_distance_m = 3000
per_km_fen = 260
step_fen = 10

[tariff.waiting]
below_kmh = 12
fen_per_unit = 50
unit_s = 60
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def tariff_toml(tariff_id="GZ-2026A", effective="2026-01-01 00:00", per_km=260) -> bytes:
    return (TARIFF_TOML.replace("GZ-2026A", tariff_id).replace("2026-01-01 00:00", effective)
            .replace("per_km_fen = 260", f"per_km_fen = {per_km}")).encode("utf-8")


class Keys:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.vendor = keys.generate()
        self.authority = keys.generate()
        self.other = keys.generate()
        for name, key in (("vendor", self.vendor), ("authority", self.authority), ("other", self.other)):
            keys.write_private(directory / f"{name}.key", key)
            keys.write_public(directory / f"{name}.pub", key.public_key())

    def path(self, name: str) -> str:
        return str(self.dir / name)


@pytest.fixture
def test_keys(tmp_path) -> Keys:
    d = tmp_path / "keys"
    d.mkdir()
    return Keys(d)


@pytest.fixture
def state(tmp_path, test_keys) -> keys.DeviceState:
    """A terminal provisioned through the CLI, with a manifest sealed over the real meter/ code."""
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(identity.seal_manifest(
        test_keys.vendor, identity.make_manifest(identity.default_code_root(), "0.1.0", now_ms())))
    st = tmp_path / "state"
    assert main(["provision", "device", "--state", str(st), "--device-id", "TX-0001",
                 "--vendor-key", test_keys.path("vendor.pub"), "--authority-key", test_keys.path("authority.pub"),
                 "--manifest", str(manifest)]) == 0
    return keys.DeviceState(st)


def signed_tariff(directory: Path, key, data: bytes | None = None, name="tariff.toml") -> Path:
    path = directory / name
    path.write_bytes(data if data is not None else tariff_toml())
    path.with_name(name + ".sig").write_bytes(sign_tariff(key, path.read_bytes()))
    return path


def authorisation(key, directory: Path, actions=("install_tariff",), device_id="TX-0001", technician="T-17",
                  start=None, hours=1.0, single_use=True, name="auth.json") -> Path:
    start = now_ms() - 60_000 if start is None else start
    path = directory / name
    path.write_bytes(seal.make_authorisation(key, device_id, technician, list(actions), start,
                                             start + int(hours * 3600_000), single_use))
    return path


def set_switch(st: keys.DeviceState, closed: bool) -> None:
    """What the running terminal does on a seal GPIO event."""
    audit = open_audit(st, running_identity(st, now_ms()).software_id)
    try:
        s = seal.Seal(st.device_id(), st.role_key("authority"), seal.switch_closed_from_audit(audit))
        seal.record_switch(s, audit, closed, now_ms())
    finally:
        audit.close()


def make_trips(count: int, tariff_id: str, tariff_digest: str, first_no: int = 1) -> tuple[list[dict], dict]:
    """Closed trips as the meter issues them, and the totalisers after the last one."""
    trips = []
    totals = {"total_m": 0, "hired_m": 0, "empty_m": 0, "paused_m": 0, "hirings": first_no - 1,
              "fares_fen": 0, "extras_fen": 0, "waiting_ms": 0, "power_losses": 0}
    t0 = 1795000000000
    for i in range(count):
        no = first_no + i
        distance = 3000 + 137 * i
        fare = 1300 + 10 * i
        rec = {
            "trip_no": no, "order_id": "0", "tariff_id": tariff_id, "tariff_digest": tariff_digest,
            "utc_offset_min": 480, "board_ms": t0 + i * 3600_000, "alight_ms": t0 + i * 3600_000 + 900_000,
            "end_ms": t0 + i * 3600_000 + 960_000, "distance_m": distance, "empty_m": 500, "paused_m": 0,
            "waiting_ms": 60_000, "paused_ms": 0, "price_per_km_fen": 260, "waiting_fen_per_unit": 50,
            "waiting_unit_s": 60, "night": False,
            "fare": {"start_fen": 1300, "distance_fen": fare - 1350, "long_distance_fen": 0, "night_fen": 0,
                     "peak_fen": 0, "waiting_fen": 50, "rounding_fen": 0},
            "fare_fen": fare, "extras": [{"label": "燃油附加费", "amount_fen": 100}], "extras_fen": 100,
            "total_fen": fare + 100, "flags": ["power_loss"] if i == 2 else [],
        }
        meter_trip.seal_record(rec)
        trips.append(rec)
        totals["total_m"] += distance + 500
        totals["hired_m"] += distance
        totals["empty_m"] += 500
        totals["hirings"] = no
        totals["fares_fen"] += fare
        totals["extras_fen"] += 100
        totals["waiting_ms"] += 60_000
        totals["power_losses"] += 1 if i == 2 else 0
    return trips, totals


def key_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


__all__ = ["signing"]
