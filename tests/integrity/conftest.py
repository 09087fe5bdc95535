"""A real provisioned terminal with trips, for the tamper suite: provisioned as a vehicle is (the
device key in a SoftHSM token, certified by the vendor), started through ``Runtime`` (no devices
fitted), driven through three trips, stopped."""

import shutil
import time
from pathlib import Path

import pytest

import terminal
from sim.provision import DEMO_TARIFF
from terminal.app import config as config_mod
from terminal.app.loop import Devices
from terminal.app.runtime import Runtime

START_MS = 1795140000000


def provision_vehicle(root: Path, device_id: str = "TX-0042"):
    """What the factory and the workshop do once per vehicle; the dev private keys go to root/dev-keys."""
    from terminal.trust import identity, keys, token
    from terminal.trust.tariff_store import TariffStore, sign_tariff, verify_tariff
    from tests.integrity import softhsm

    root = Path(root)
    state = keys.DeviceState(root)
    now = time.time_ns() // 1_000_000
    vendor, authority = keys.generate(), keys.generate()
    dev = root / "dev-keys"
    dev.mkdir(parents=True)
    keys.write_private(dev / "vendor.key", vendor)
    keys.write_private(dev / "authority.key", authority)
    state.provision(device_id, vendor.public_key(), authority.public_key(), now, token_args=softhsm.token_args(dev))
    state.certificate_path.write_bytes(token.make_certificate(vendor, device_id, state.device_public(),
                                                              state.key_store(), now))
    state.manifest_path.parent.mkdir(parents=True, exist_ok=True)
    state.manifest_path.write_bytes(identity.seal_manifest(
        vendor, identity.make_manifest(identity.default_code_root(), terminal.__version__, now)))
    data = DEMO_TARIFF.read_bytes()
    sig = sign_tariff(authority, data)
    TariffStore(state.tariffs).install(verify_tariff(data, sig, authority.public_key()), sig, now, "provisioning")
    return state


class StepClock:
    """A clock the test moves: every reading advances it by one millisecond."""

    def __init__(self, t_ms: int = START_MS) -> None:
        self.t = t_ms

    def __call__(self) -> int:
        self.t += 1
        return self.t


def make_config(state_dir) -> dict:
    return config_mod.from_dict({"terminal": {"id": "TX0042", "state_dir": str(state_dir), "driver_cert": "4401001"},
                                 "meter": {"k": 1000}})


def open_runtime(state_dir, clock: StepClock | None = None) -> Runtime:
    """The terminal as ``taxiterm run`` opens it, without devices."""
    return Runtime(make_config(state_dir), "sim", clock=clock or StepClock(), devices=Devices())


def drive_trips(rt: Runtime, count: int = 3, metres: int = 4000) -> None:
    term, clock = rt.terminal, rt.clock
    m = term.metering
    pulses = 0
    for _ in range(count):
        assert m.key(clock(), "hire")
        for _ in range(metres // 100):
            clock.t += 10_000
            pulses += 100
            m.on_pulses(clock(), pulses)
        assert m.key(clock(), "settle")
        assert m.key(clock(), "clear")
    clock.t += 60_000
    m.on_pulses(clock(), pulses + 300)      # some empty running after the last trip
    m.save(clock(), force=True)


def stop(rt: Runtime) -> None:
    rt.stop()
    if rt.audit is not None:
        rt.audit.close()


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity-template")
    provision_vehicle(root / "state")
    clock = StepClock()
    rt = open_runtime(root / "state", clock)
    rt.terminal.start()
    drive_trips(rt)
    stop(rt)
    return root / "state", clock.t


@pytest.fixture
def vehicle(template, tmp_path):
    """A copy of the driven terminal's state directory, and the time it stopped at."""
    src, t_ms = template
    dst = tmp_path / "state"
    shutil.copytree(src, dst)
    return dst, t_ms
