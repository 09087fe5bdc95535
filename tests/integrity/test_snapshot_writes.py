"""A parked meter's snapshot is not written again: the terminal compares what it would sign, not
the signed bytes. With the device key in a token (P-256 ECDSA), every signature of the same bytes
differs, so comparing signed blobs committed (and signed in the token) every five seconds for
nothing."""

from tests.integrity.conftest import StepClock, open_runtime


def test_an_unchanged_meter_is_neither_signed_nor_stored_again(vehicle):
    state, t_ms = vehicle
    rt = open_runtime(state, StepClock(t_ms + 1000))
    metering = rt.terminal.metering
    writes = []
    save_meter_state = rt.storage.save_meter_state
    rt.storage.save_meter_state = lambda blob: (writes.append(blob), save_meter_state(blob))
    now = t_ms + 10_000
    metering.save(now, force=True)
    for i in range(1, 6):
        metering.save(now + i * 5_000)       # every snapshot interval, nothing changed
    assert len(writes) == 1
    rt.storage.close()
