"""Fixtures for the technician tools: a provisioned terminal, its seal switch, authorisations."""

import time

import pytest

from sim.provision import provision_state
from terminal.cli.commands._seal_common import open_audit
from terminal.trust import keys, seal


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def state(tmp_path) -> keys.DeviceState:
    """A provisioned terminal; the development authority key is in state/dev-keys/authority.key."""
    return provision_state(tmp_path / "state", device_id="TX-0042")


def authority_key(state: keys.DeviceState):
    return keys.load_private(state.root / "dev-keys" / "authority.key")


def write_authorisation(state, path, actions=("set_k",), device_id="TX-0042", key=None, start=None, hours=1.0,
                        single_use=True):
    start = now_ms() - 60_000 if start is None else start
    path.write_bytes(seal.make_authorisation(key or authority_key(state), device_id, "T-17", list(actions), start,
                                             start + int(hours * 3600_000), single_use))
    return str(path)


def set_switch(state: keys.DeviceState, closed: bool) -> None:
    """What the running terminal records when the seal switch input changes."""
    audit = open_audit(state, "taxiterm test")
    try:
        s = seal.Seal(state.device_id(), state.role_key("authority"), seal.switch_closed_from_audit(audit))
        seal.record_switch(s, audit, closed, now_ms())
    finally:
        audit.close()


def audit_records(state: keys.DeviceState) -> list[dict]:
    audit = open_audit(state, "taxiterm test")
    try:
        assert audit.verify(state.device_public()).ok
        return audit.records()
    finally:
        audit.close()
