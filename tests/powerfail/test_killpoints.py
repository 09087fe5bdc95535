"""SIGKILL at random moments and at chosen commits of a simulated shift: nothing committed is lost or
duplicated, the totalisers and the audit chain hold, and an interrupted trip resumes or is closed."""

import json
import random
import signal
import sqlite3

import pytest

from sim import killpoints as kp
from sim.provision import provision_state

KILLS = 40


@pytest.fixture
def state_dir(tmp_path):
    state = tmp_path / "state"
    provision_state(state, device_id="KP-0001")
    return state


def run_to_end(state_dir, down_ms=0, trips=1) -> kp.Target:
    target = kp.Target(state_dir, seed=5, down_ms=down_ms, trips=trips)
    assert target.wait(60) == 0, target.stderr
    return target


def kill_at(state_dir, point: str, down_ms=0) -> kp.Target:
    target = kp.Target(state_dir, seed=5, down_ms=down_ms, kill_after=point)
    assert target.wait(60) == -signal.SIGKILL, target.stderr
    assert target.first("killpoint") == {"killpoint": point.replace(":", "#")}
    return target


def test_forty_random_kills_of_a_shift_break_no_invariant(tmp_path):
    """Every assertion here holds however fast the machine is. How many trips a round completes
    before its kill, whether a kill lands in a trip (resume or close at the restart) and whether
    a kill point is reached in the time a round allows all depend on the machine's speed, so they
    are reported, not asserted (29 trips for 40 kills under load, every kill survived, once failed
    ``trips > KILLS``); the restart paths have deterministic tests of their own below."""
    report = kp.drill(KILLS, seed=3, directory=tmp_path)
    assert report.ok, report.summary()
    assert report.survived == KILLS and len(report.rounds) == KILLS
    # what the drill planned (from its seed alone): kills at chosen commits, short dips and long losses
    rng = random.Random(3)
    plan = [kp.plan_kill(rng) for _ in range(KILLS)]
    assert [str(k) for k in plan] == report.rounds
    assert any(k.point for k in plan) and any(not k.point for k in plan)
    assert any(k.down_ms < 6000 for k in plan) and any(k.down_ms >= 20_000 for k in plan)
    # the clean run after the last kill closes two trips, so trips were stored and checked
    assert report.trips >= 2


def test_a_trip_killed_just_after_its_commit_is_kept_and_never_closed_twice(state_dir):
    target = kill_at(state_dir, "store_trip:2")
    committed = {m["stored"]: m["digest"] for m in target.all("stored")}
    assert sorted(committed) == [1, 2]
    known = dict(committed)
    before = kp.read_state(state_dir)
    kp.check_stored(before, known)
    again = run_to_end(state_dir, down_ms=3_600_000)
    after = kp.read_state(state_dir)
    kp.check_stored(after, known)
    assert [t["digest"] for t in after.trips[:2]] == [committed[1], committed[2]]
    kp.check_restart(before, again.first("ready"), again.closed_at_start(), after)


def test_a_kill_inside_the_trip_transaction_leaves_no_trace_of_the_trip(state_dir):
    target = kill_at(state_dir, "store_trip_open:1")
    assert target.all("stored") == []
    state = kp.read_state(state_dir)
    assert state.trips == [] and state.totalisers is None
    kp.check_stored(state, {})


def test_sign_in_and_the_meter_state_commit_together(state_dir):
    """The shift row and the meter's saved shift must not part: the first sign-in, killed right after its commit."""
    kill_at(state_dir, "sign_in:1")
    kp.check_shift(kp.read_state(state_dir).snapshot, kp.read_state(state_dir).open_shift)


def test_an_open_trip_resumes_after_a_short_dip(state_dir):
    kill_at(state_dir, "trip_snapshot:3")           # well into the first trip
    before = kp.read_state(state_dir)
    assert before.snapshot["trip"] is not None
    target = run_to_end(state_dir, down_ms=1000)
    ready = target.first("ready")
    assert kp.expected_restart(before.snapshot, ready["ready"])[0] == "resume"
    assert ready["trip_no"] == before.snapshot["trip"]["trip_no"] and target.closed_at_start() == []
    kp.check_restart(before, ready, target.closed_at_start(), kp.read_state(state_dir))


def test_an_open_trip_is_closed_with_power_loss_after_a_long_loss(state_dir):
    kill_at(state_dir, "trip_snapshot:3")
    before = kp.read_state(state_dir)
    open_no = before.snapshot["trip"]["trip_no"]
    target = run_to_end(state_dir, down_ms=600_000)
    after = kp.read_state(state_dir)
    assert target.closed_at_start() == [open_no]
    assert "power_loss" in after.trips[open_no - 1]["flags"]
    assert after.totalisers["power_losses"] >= 1
    kp.check_restart(before, target.first("ready"), target.closed_at_start(), after)


# -- the checker finds what it is there to find ------------------------------------------------------

@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    state = tmp_path_factory.mktemp("shift") / "state"
    provision_state(state, device_id="KP-0001")
    target = run_to_end(state, trips=3)
    return state, {m["stored"]: m["digest"] for m in target.all("stored")}


def fresh(shift):
    state_dir, known = shift
    return kp.read_state(state_dir), dict(known)


def test_the_clean_shift_passes_every_check(shift):
    state, known = fresh(shift)
    kp.check_stored(state, known)
    assert len(state.trips) == 3


def test_a_lost_trip_is_named(shift):
    state, known = fresh(shift)
    state.trips.pop()
    with pytest.raises(kp.Broken, match="no trip lost: trip 3 was committed and is gone"):
        kp.check_stored(state, known)


def test_a_changed_trip_is_named(shift):
    state, known = fresh(shift)
    state.trips[1]["fare_fen"] += 10
    with pytest.raises(kp.Broken, match="trip digests: trip 2"):
        kp.check_stored(state, known)


def test_a_trip_stored_twice_under_two_numbers_is_named(shift):
    state, known = fresh(shift)
    from meter.trip import seal_record

    copy = dict(state.trips[1], trip_no=4)
    copy.pop("digest")
    state.trips.append(seal_record(copy))
    state.totalisers = None   # the duplicate is found before the totalisers are looked at
    with pytest.raises(kp.Broken, match="no trip duplicated: trip 4"):
        kp.check_stored(state, known)


def test_totalisers_that_do_not_add_up_are_named(shift):
    state, known = fresh(shift)
    state.totalisers["fares_fen"] += 1
    with pytest.raises(kp.Broken, match="totalisers = sum of trips: fares_fen stored"):
        kp.check_stored(state, known)


def test_a_saved_meter_state_behind_storage_is_named(shift):
    state, known = fresh(shift)
    state.snapshot["trip"] = {"trip_no": 3}
    state.snapshot["state"] = "settling"
    with pytest.raises(kp.Broken, match="trip 3 is stored, but the saved meter state still has it open"):
        kp.check_stored(state, known)


def test_an_altered_audit_record_is_named(tmp_path):
    state_dir = tmp_path / "state"
    provision_state(state_dir, device_id="KP-0001")
    run_to_end(state_dir)
    db = sqlite3.connect(state_dir / "terminal.db")
    db.execute("DROP TRIGGER audit_record_no_update")
    db.execute("UPDATE audit_record SET new = 'tampered' WHERE counter = 1")
    db.commit()
    db.close()
    with pytest.raises(kp.Broken, match=r"audit chain verifies: record #1 .*altered"):
        kp.check_stored(kp.read_state(state_dir), {})


def test_a_short_dip_that_closed_the_trip_is_named():
    snapshot = {"trip": {"trip_no": 7}, "state": "hired", "t": 1000, "powered": True, "off_ms": None}
    before = kp.StoredState([], None, snapshot, None, 1000, True, "", 1)
    ready = {"ready": 1000 + kp.DIP_MS, "state": "for_hire", "trip_no": None}
    with pytest.raises(kp.Broken, match="resumes after a short dip: trip 7 was closed"):
        kp.check_restart(before, ready, [7], before)
    long_ready = dict(ready, ready=1001 + kp.DIP_MS)
    with pytest.raises(kp.Broken, match="closed after a long loss: trip 7 was open; the start closed nothing"):
        kp.check_restart(before, long_ready, [], before)


def test_the_target_refuses_a_malformed_kill_point(state_dir, capsys):
    with pytest.raises(SystemExit):
        kp.main(["target", "--state", str(state_dir), "--kill-after", "nowhere:1"])
    assert "POINT one of store_trip" in capsys.readouterr().err


def test_the_target_speaks_one_json_object_a_line(state_dir):
    target = run_to_end(state_dir, trips=1)
    kinds = [next(iter(set(m) & {"ready", "stored", "done"})) for m in target.lines]
    assert kinds[0] == "ready" and kinds[-1] == "done" and "stored" in kinds
    assert json.loads(json.dumps(target.lines)) == target.lines
