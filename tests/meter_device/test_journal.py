"""The firmware's flash journal: a power cut at every byte of every write leaves the last complete
state readable, and the device carries on from it. Runs under CPython and MicroPython."""

from meter.device.flash import PowerCut, RamFlash
from meter.device.journal import Journal
from tests.meter_device.support import device, run, state_of, trip_ops

SIZE = 5120     # small, so the scenario fills a half and compacts into the other


def _images():
    """Flash image and logical state before and after each op of an uncut run."""
    flash = RamFlash(SIZE)
    dev = device(flash, boot=False)
    ops = trip_ops(km=8) + trip_ops(start=1795140000000 + 3600000, km=8, base=8000)
    steps = []
    for op in ops:
        before = (bytes(flash.mem), state_of(dev))
        run(dev, op)
        steps.append((op, before, state_of(dev)))
    return steps, flash


def test_the_scenario_compacts_at_least_once():
    steps, flash = _images()
    assert Journal(flash).gen >= 2
    assert device(flash, boot=False).meter.totals.hirings == 2


def test_a_power_cut_at_every_byte_of_every_write_keeps_the_last_complete_state():
    steps, _ = _images()
    cuts = 0
    for op, (image, state_before), state_after in steps:
        budget = 0
        while True:
            flash = RamFlash(SIZE, image, budget=budget)
            dev = device(flash, boot=False)
            try:
                run(dev, op)
            except PowerCut:
                cuts += 1
                flash.budget = None
                again = device(flash, boot=False)
                got = state_of(again)
                assert got == state_before or got == state_after, (op, budget)
                if budget % 8 == 0:     # and it carries on from there (a sample: each costs two opens)
                    run(again, ("pulses", (op[1][0] + 10, again.meter.odometer.reading or 0)))
                    assert device(flash, boot=False).meter.t == op[1][0] + 10
                budget += 1
                continue
            assert state_of(device(RamFlash(SIZE, flash.mem), boot=False)) == state_after
            break
    assert cuts > 1000


def test_a_torn_tail_is_not_read_and_not_written_over():
    flash = RamFlash(SIZE)
    dev = device(flash, boot=False)
    for op in trip_ops()[:3]:
        run(dev, op)
    j = Journal(flash)
    end = j.end
    flash.mem[j.region * j.half + end] = 0x5A         # a record's first byte, then the cut
    j2 = Journal(flash)
    assert j2.torn and j2.end == end
    dev = device(flash, boot=False)
    run(dev, ("pulses", (dev.meter.t + 1000, dev.meter.odometer.reading + 5)))
    j3 = Journal(flash)
    assert not j3.torn and j3.region != j.region and j3.gen == j.gen + 1


def test_a_changed_byte_breaks_the_chain_there():
    flash = RamFlash(SIZE)
    dev = device(flash, boot=False)
    for op in trip_ops()[:4]:
        run(dev, op)
    j = Journal(flash)
    n = len(j.events)
    flash.mem[j.region * j.half + j.end - 40] ^= 0x01       # inside the last record's payload
    assert len(Journal(flash).events) == n - 1


def test_a_cut_during_the_very_first_start_leaves_a_new_meter_or_the_first_state():
    whole = RamFlash(SIZE)
    device(whole, boot=False)
    first = state_of(device(RamFlash(SIZE, whole.mem), boot=False))
    # every byte of the record's header and head, every 16th of its JSON (each cut there is alike)
    n = whole.written
    for budget in sorted(set(range(0, 8)) | set(range(8, n - 40, 16)) | set(range(n - 40, n))):
        flash = RamFlash(SIZE, budget=budget)
        try:
            device(flash, boot=False)
        except PowerCut:
            pass
        flash.budget = None
        again = device(flash, boot=False)
        assert state_of(again) == first           # a new meter, the same as the one first written
        assert Journal(flash).state is not None   # and it is in flash now
