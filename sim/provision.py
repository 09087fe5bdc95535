"""A provisioned state directory for the bench: development keys, sealed manifest, signed tariff.

What a technician does once per vehicle (``taxiterm provision device``, ``taxiterm tariff
install``), done in one call with freshly generated development vendor and authority
keys, so that the simulator and the tests run the real start-up checks: the software
identity against a vendor-sealed manifest, and only an authority-signed tariff.
"""

from __future__ import annotations

import time
from pathlib import Path

import terminal
from terminal.trust import identity, keys
from terminal.trust.tariff_store import TariffStore, sign_tariff, verify_tariff

DEMO_TARIFF = Path(__file__).resolve().parent / "data" / "tariff-demo.toml"


def provision_state(root: Path, device_id: str = "SIM-0001", tariff: Path = DEMO_TARIFF,
                    code_root: Path | None = None) -> keys.DeviceState:
    """Provision ``root`` (must not be provisioned yet); the dev private keys go to root/dev-keys."""
    root = Path(root)
    state = keys.DeviceState(root)
    now = time.time_ns() // 1_000_000
    vendor = keys.generate()
    authority = keys.generate()
    dev = root / "dev-keys"
    dev.mkdir(parents=True, exist_ok=True)
    keys.write_private(dev / "vendor.key", vendor)
    keys.write_private(dev / "authority.key", authority)
    state.provision(device_id, vendor.public_key(), authority.public_key(), now)
    from sim.platform import SIM_PLATFORM_KEY
    state.install_platform_key(SIM_PLATFORM_KEY.public_key())   # the emulated platform signs commands
    manifest = identity.make_manifest(code_root or identity.default_code_root(), terminal.__version__, now)
    state.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    state.manifest_path.write_bytes(identity.seal_manifest(vendor, manifest))
    data = Path(tariff).read_bytes()
    sig = sign_tariff(authority, data)
    TariffStore(state.tariffs).install(verify_tariff(data, sig, authority.public_key()), sig, now, "provisioning")
    return state
