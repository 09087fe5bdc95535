"""Fixtures for the seal tests: test keys, a provisioned state directory, signed tariffs, stored trips."""

import itertools
import json
import os
import time
from pathlib import Path

import pytest

from meter import trip as meter_trip
from terminal.cli import main
from terminal.cli.commands._seal_common import open_audit, running_identity
from terminal.trust import identity, keys, seal, signing
from terminal.trust.tariff_store import sign_tariff
from tests.integrity import softhsm

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


_SEQUENCE = itertools.count(1)


def tariff_toml(tariff_id="GZ-2026A", effective="2026-01-01 00:00", per_km=260, sequence=None) -> bytes:
    """A tariff file; each one the authority issues gets the next sequence number unless given."""
    sequence = next(_SEQUENCE) if sequence is None else sequence
    return (f"sequence = {sequence}\n\n" + TARIFF_TOML.replace("GZ-2026A", tariff_id)
            .replace("2026-01-01 00:00", effective)
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
                 "--manifest", str(manifest), "--certify-with", test_keys.path("vendor.key")]
                + softhsm.new_token(tmp_path)) == 0
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


def store_through_chain(st: keys.DeviceState, trips: list, totals: dict, k: int = 6200) -> None:
    """Store trips as the terminal does: each trip row with its chain record, after a commissioning
    record; a calibration under the seal; the meter's signed snapshot last."""
    from meter.taximeter import Taximeter
    from terminal.storage.database import Storage
    from terminal.trust import ledger, startcheck

    audit = open_audit(st, running_identity(st, now_ms()).software_id)
    try:
        with Storage(st.database) as storage:
            assert startcheck.commission(audit, storage, st, 1000, now_ms()) is not None
            audit.append("k_calibrated", "K", 1000, k, actor="technician")
            storage.kv_set("calibration", json.dumps({"k": k, "calibrated_ms": 1794000000000}))
            audit.append("k_applied", "K", 1000, k)
            running = {name: 0 for name in totals}
            for rec in trips:
                running["hirings"] = rec["trip_no"]
                running["hired_m"] += rec["distance_m"]
                running["empty_m"] += rec["empty_m"]
                running["total_m"] += rec["distance_m"] + rec["empty_m"]
                running["fares_fen"] += rec["fare_fen"]
                running["extras_fen"] += rec["extras_fen"]
                running["waiting_ms"] += rec["waiting_ms"]
                running["power_losses"] += "power_loss" in rec["flags"]
                with storage.transaction() as db:
                    storage.store_trip(rec, dict(running))
                    audit.append_in(db, ledger.TRIP_EVENT, str(rec["trip_no"]), None, ledger.text(
                        {"trip_no": rec["trip_no"], "digest": rec["digest"], "totals": dict(running)}))
            meter = Taximeter(None, {"k": k}, trips[-1]["end_ms"] if trips else 0)
            snap = meter.snapshot()
            snap["totals"] = dict(running)
            storage.save_meter_state(ledger.snapshot_blob(snap, audit.head(), audit.signer))
    finally:
        audit.close()


def key_mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


__all__ = ["signing"]
