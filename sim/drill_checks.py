"""The power-fail drill's invariants: what must hold in the stored state after every kill and restart.

In the simulator room; pure checks over what ``read_state`` reads from a state directory (no
target may be running): no trip lost, changed or duplicated, every trip's digest, the totalisers
equal to the sums of the stored trips, the meter's saved state and shift in step with storage,
the audit chain and every signature; and after a restart, that an interrupted trip resumed after
a short dip or was closed with the flag ``power_loss`` after a long one. A broken invariant raises
``Broken`` naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sim.drill_target import CLOCK_FILE, DIP_MS, START_MS


class Broken(Exception):
    """An invariant does not hold; ``name`` says which, the message says how."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail


@dataclass
class StoredState:
    trips: list
    totalisers: dict | None
    snapshot: dict | None
    open_shift: dict | None
    clock_ms: int
    audit_ok: bool
    audit_reason: str
    power_ons: int


def read_state(state_dir: Path) -> StoredState:
    """Everything the invariants look at, read from the state directory (no target may be running)."""
    from terminal.storage.database import Storage
    from terminal.trust import keys
    from terminal.trust.audit import AuditTrail

    state = keys.DeviceState(state_dir)
    with Storage(state.database) as storage:
        integrity = storage.query("PRAGMA integrity_check")
        if integrity != [("ok",)]:
            raise Broken("database integrity", str(integrity))
        trips = storage.trips()
        totalisers = storage.totalisers()
        blob = storage.load_meter_state()
        open_shift = storage.open_shift()
    audit = AuditTrail(state.database, state.device_key(), "killpoints-checker", capacity=state.audit_capacity())
    try:
        verdict = audit.verify(state.device_public())
        power_ons = sum(1 for r in audit.records() if r["event"] == "power_on")
    finally:
        audit.close()
    try:
        clock_ms = int((state_dir / CLOCK_FILE).read_text(encoding="ascii"))
    except FileNotFoundError:
        clock_ms = START_MS
    return StoredState(trips, totalisers, json.loads(blob) if blob else None, open_shift, clock_ms, verdict.ok,
                       verdict.reason, power_ons)


def check_stored(s: StoredState, known: dict[int, str]) -> None:
    """No trip lost, changed or duplicated; totalisers = sums of the trips; the meter's saved state in step.

    ``known`` maps every trip number seen stored or reported so far to its digest; it grows here.
    """
    from meter.trip import verify_record

    numbers = [t["trip_no"] for t in s.trips]
    if numbers != list(range(1, len(numbers) + 1)):
        raise Broken("trip numbers contiguous", f"stored trip numbers are {numbers[:5]}...{numbers[-5:]}")
    by_no = {t["trip_no"]: t for t in s.trips}
    for no, digest in sorted(known.items()):
        if no not in by_no:
            raise Broken("no trip lost", f"trip {no} was committed and is gone")
        if by_no[no]["digest"] != digest:
            raise Broken("no trip changed", f"trip {no} was stored as {digest[:12]} and is now {by_no[no]['digest'][:12]}")
    previous = None
    for trip in s.trips:
        if not verify_record(trip):
            raise Broken("trip digests", f"trip {trip['trip_no']} does not match its digest")
        if previous is not None and trip["board_ms"] < previous["end_ms"]:
            raise Broken("no trip duplicated", f"trip {trip['trip_no']} boards at {trip['board_ms']}, before trip "
                                               f"{previous['trip_no']} ended at {previous['end_ms']}")
        previous = trip
        known[trip["trip_no"]] = trip["digest"]
    check_totalisers(s.trips, s.totalisers)
    check_snapshot(s.trips, s.snapshot)
    check_shift(s.snapshot, s.open_shift)
    if not s.audit_ok:
        raise Broken("audit chain verifies", s.audit_reason)


def trip_sums(trips: list) -> dict:
    return {
        "hirings": len(trips),
        "fares_fen": sum(t["fare_fen"] for t in trips),
        "extras_fen": sum(t["extras_fen"] for t in trips),
        "waiting_ms": sum(t["waiting_ms"] for t in trips),
        "power_losses": sum(1 for t in trips if "power_loss" in t["flags"]),
        "hired_m": sum(t["distance_m"] for t in trips),
        "paused_m": sum(t["paused_m"] for t in trips),
        "empty_m": sum(t["empty_m"] for t in trips),
    }


def check_totalisers(trips: list, totalisers: dict | None) -> None:
    if not trips:
        if totalisers is not None:
            raise Broken("totalisers = sum of trips", f"totalisers stored without any trip: {totalisers}")
        return
    sums = trip_sums(trips)
    wrong = {k: (totalisers.get(k), v) for k, v in sums.items() if totalisers.get(k) != v}
    if wrong:
        detail = ", ".join(f"{k} stored {a} but the trips sum to {b}" for k, (a, b) in sorted(wrong.items()))
        raise Broken("totalisers = sum of trips", detail)
    if totalisers["total_m"] != totalisers["hired_m"] + totalisers["paused_m"] + totalisers["empty_m"]:
        raise Broken("totalisers = sum of trips", f"total_m {totalisers['total_m']} is not hired+paused+empty")


def check_snapshot(trips: list, snapshot: dict | None) -> None:
    """The meter's saved state must know every stored trip: a restart would otherwise close one again."""
    if snapshot is None:
        if trips:
            raise Broken("meter state saved with the trips", f"{len(trips)} trips stored and no meter state")
        return
    n = len(trips)
    totals = snapshot["totals"]
    open_no = snapshot["trip"]["trip_no"] if snapshot["trip"] else None
    if open_no is not None and open_no <= n:
        raise Broken("meter state saved with the trips",
                     f"trip {open_no} is stored, but the saved meter state still has it open "
                     f"({snapshot['state']}); a restart closes it a second time")
    sums = trip_sums(trips)
    for key in ("fares_fen", "extras_fen", "waiting_ms", "power_losses"):
        if totals[key] != sums[key]:
            raise Broken("meter state saved with the trips",
                         f"saved meter totaliser {key}={totals[key]}, stored trips sum to {sums[key]}")
    expected_hirings = n + (1 if open_no is not None else 0)
    if totals["hirings"] != expected_hirings:
        raise Broken("meter state saved with the trips",
                     f"saved meter counts {totals['hirings']} hirings, storage {n} trips"
                     f"{' and one open' if open_no else ''}")


def check_shift(snapshot: dict | None, open_shift: dict | None) -> None:
    """The meter's saved shift and the stored open shift are the same one (or both absent)."""
    saved = snapshot["shift_info"] if snapshot else None
    if saved is None and open_shift is None:
        return
    if saved is None:
        raise Broken("meter state saved with the shifts",
                     f"shift {open_shift['shift_id']} is open in storage, the saved meter state has no shift; "
                     "the next sign-in is refused by storage")
    if open_shift is None:
        raise Broken("meter state saved with the shifts",
                     f"the saved meter state has a shift since {saved['start_ms']}, storage has none open; "
                     "the next sign-out is refused by storage")
    if open_shift["sign_in_ms"] != saved["start_ms"]:
        raise Broken("meter state saved with the shifts",
                     f"stored open shift signed in at {open_shift['sign_in_ms']}, saved meter shift at "
                     f"{saved['start_ms']}")


def expected_restart(snapshot: dict | None, now: int) -> tuple[str, int | None]:
    """What a start at ``now`` must do with the saved meter: ("none"|"resume"|"close", trip_no)."""
    if snapshot is None or snapshot["trip"] is None:
        return "none", None
    off_ms = snapshot["t"] if snapshot["powered"] else snapshot["off_ms"]
    gap = now - off_ms
    return ("close" if gap > DIP_MS else "resume"), snapshot["trip"]["trip_no"]


def check_restart(before: StoredState, ready: dict, closed_at_start: list[int], after: StoredState) -> None:
    """An interrupted trip resumes after a short dip, or is closed with the flag power_loss after a long loss.

    ``closed_at_start`` are the trips the target committed before it said ready.
    """
    what, trip_no = expected_restart(before.snapshot, ready["ready"])
    if what == "resume":
        if closed_at_start:
            raise Broken("interrupted trip resumes after a short dip", f"trip {trip_no} was closed by a short dip")
        if ready["trip_no"] != trip_no or ready["state"] != before.snapshot["state"]:
            raise Broken("interrupted trip resumes after a short dip",
                         f"trip {trip_no} was {before.snapshot['state']}; after the dip the meter is "
                         f"{ready['state']} with trip {ready['trip_no']}")
    elif what == "close":
        if closed_at_start != [trip_no]:
            raise Broken("interrupted trip closed after a long loss",
                         f"trip {trip_no} was open; the start closed {closed_at_start or 'nothing'}")
        flags = after.trips[trip_no - 1]["flags"]
        if "power_loss" not in flags:
            raise Broken("interrupted trip closed after a long loss", f"trip {trip_no} stored with flags {flags}, "
                                                                      "without power_loss")
        if ready["state"] != "for_hire":
            raise Broken("interrupted trip closed after a long loss", f"meter is {ready['state']} after closing it")
    elif closed_at_start:
        raise Broken("no trip duplicated", f"no trip was open, yet the start closed {closed_at_start}")
