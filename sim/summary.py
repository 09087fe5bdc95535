"""What a simulated shift left behind, and the invariants it must satisfy (summary.json).

The auditor's desk of the simulator. ``gather(runner)`` takes plain data out of a
finished run (stored trips and totalisers, printed receipts, platform messages, sign
history, audit trail, the meter journal); ``check(data)`` is pure and returns one result
per invariant; ``write_outputs`` writes the run's folder. The invariants:

  one_receipt_per_trip        every trip has exactly one printed receipt (QR: trip, total, digest)
  one_platform_record_per_trip  every trip reached the platform exactly once (by seq) with equal amounts
  totalisers_equal_sums       hirings, fares, extras, distance hired equal the sums over the trips
  no_report_lost              outbox empty at the end, every seq 1..last received
  platform_messages_valid     every uplink passed its schema
  alarm_lifecycle_complete    every alarm pressed was pre-alarmed, confirmed and released, the
                              sign showed it and went back, the audit trail holds each step
  fares_equal_reference       each trip's fare and waiting time equal an independent calculation
                              (tests/meter/reference.py) over the meter inputs the terminal applied
  orders_answered             every order offered reached an end the platform heard of

and those of what people see (sim/visible_checks.py): display_equals_meter,
settle_total_equals_receipt, sign_follows_state, device_faults_agree, alarm_bits_cleared,
payload_fields_typed.
"""

from __future__ import annotations

import datetime
import json
import tomllib
from pathlib import Path

from printer.receipt import parse_qr_payload
from sim import jtt_checks, recorder_checks
from sim.visible_checks import VISIBLE, check_visible

INVARIANTS = ("one_receipt_per_trip", "one_platform_record_per_trip", "totalisers_equal_sums", "no_report_lost",
              "platform_messages_valid", "alarm_lifecycle_complete", "fares_equal_reference", "orders_answered")
INVARIANTS += recorder_checks.NAMES     # the driving record against the vehicle (sim/recorder_checks.py)
INVARIANTS += VISIBLE               # what people see (sim/visible_checks.py)


def hhmm(t_ms: int, offset_min: int) -> str:
    moment = datetime.datetime.fromtimestamp(t_ms / 1000, datetime.timezone(datetime.timedelta(minutes=offset_min)))
    return moment.strftime("%H:%M:%S")


def missing_seqs(platform, terminal_id: str, last_seq: int) -> list[int]:
    seen = {m.payload.get("seq") for m in platform.received(terminal_id=terminal_id)
            if m.kind != "status" and isinstance(m.payload, dict)}
    return [seq for seq in range(1, last_seq + 1) if seq not in seen]


# -- gathering -------------------------------------------------------------------------------------------

def gather(runner) -> dict:
    tid = runner.scenario.vehicle.terminal_id
    uplinks = [{"kind": m.kind, "valid": m.valid, "errors": m.errors, "payload": m.payload, "rx_ms": m.rx_ms}
               for m in runner.car.platform.received(terminal_id=tid)]
    receipts = []
    for i, printed in enumerate(runner.car.printer.receipts):
        qrs = printed.qr_payloads
        receipts.append({"index": i, "qr": [parse_qr_payload(q) for q in qrs]})
    return {
        "scenario": runner.scenario.name,
        "terminal_id": tid,
        "k": runner.scenario.vehicle.k,
        "dip_ms": runner.car.config["meter"]["dip_ms"],
        "trips": runner.car.storage.trips(),
        "totalisers": runner.car.storage.totalisers(),
        "receipts": receipts,
        "uplinks": uplinks,
        "outbox_pending": runner.car.terminal.outbox.pending(),
        "outbox_dropped": runner.car.terminal.outbox.dropped(),
        "last_seq": runner.car.terminal.outbox.last_seq(),
        "sign_history": [[t, s] for t, s in runner.car.sign_emulator.history],
        "audit_events": [r["event"] for r in runner.car.audit.records()],
        "alarms_pressed": [dict(a) for a in runner.incidents.alarms],
        "journal": [[name, list(args), kw] for name, args, kw in runner.car.journal],
        "tariffs": tariffs_by_id(runner.scenario.tariff),
        "notes": list(runner.notes),
        "jtt": jtt_checks.gather(runner),
        "recorder": recorder_checks.gather(runner),
        **seen(runner),
    }


def seen(runner) -> dict:
    """What the witness saw and what the checks of what people see need (sim/visible_checks.py)."""
    car = runner.car
    reporting = car.terminal.reporting
    witness = getattr(runner, "witness", None)
    causes = set(reporting.flags) if _causes_real(runner) else set()
    return {
        "witness": {"checked": dict(witness.checked), "problems": dict(witness.problems)} if witness else None,
        "frames": list(car.display.shown),
        "device_alarm_edges": [[r["t_ms"], r["parameter"], r["old"], r["new"]] for r in car.audit.records()
                               if r["event"] == "device_alarm"],
        "final_flags": sorted(reporting.flags),
        "causes_at_end": sorted(causes),
    }


def _causes_real(runner) -> bool:
    """Is any device trouble really going on at the end (an incident not over)?"""
    car = runner.car
    stepper = getattr(runner, "stepper", None)
    return bool(car.printer.hold_reason() or car.sign_emulator.silent or car.terminal.meter.fault
                or (stepper is not None and stepper.gnss_mode != "ok"))


def tariffs_by_id(path: Path) -> dict:
    """The raw tariff tables of a tariff file, by id (what the reference calculation reads)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return {t["id"]: t for t in data.get("tariff", [])}


# -- the reference calculation ---------------------------------------------------------------------------------

def reference_trips(journal: list, tariffs: dict, k: int, dip_ms: int = 10_000) -> dict[int, dict]:
    """Each trip's fare and waiting time, computed apart from the meter from the inputs it was given.

    Replays the accepted meter calls (pulse readings, keys, power) with the independent
    reference of tests/meter/reference.py, which prices every piece of every minute on
    its own. Returns ``{trip_no: {"fare_fen", "waiting_ms"}}``.
    """
    from tests.meter.reference import Reference

    out: dict[int, dict] = {}
    trip_no = 0
    ref = None
    state = "for_hire"
    last_t = last_p = None
    below = 0
    frozen = None
    off_at = None
    dip_from = None    # after a dip, the first interval is classed from the power-off (docs/meter.md)
    for name, args, _kw in journal:
        t = args[0]
        since = last_t if dip_from is None else dip_from
        dip_from = None
        if name == "reading":
            value = args[1]
            if state == "hired" and ref is not None and last_p is not None:
                dm = value * 1000 // k - last_p * 1000 // k
                low = (value - last_p) * 3_600_000 < below * k * (t - since)
                ref.interval(last_t, t, dm, low)
            last_t, last_p = t, value
            continue
        if name == "power":
            on = args[1]
            if not on:
                if state == "hired" and ref is not None:
                    ref.interval(last_t, t, 0, below > 0 and t > since)
                off_at = t
            else:
                if state in ("hired", "stopped", "settling") and t - off_at > dip_ms:
                    fare = frozen if frozen is not None else ref.fare()
                    out[trip_no] = {"fare_fen": fare, "waiting_ms": ref.waiting_ms}
                    state, ref, frozen = "for_hire", None, None
                dip_from, off_at = off_at, None
            last_t = t
            continue
        key = args[1]
        if state == "hired" and ref is not None:
            ref.interval(last_t, t, 0, below > 0 and t > since)
        last_t = t
        if key == "hire":
            trip_no += 1
            tariff = _tariff_at(tariffs, t)
            ref = Reference(tariff, t)
            below = ref.below
            state, frozen = "hired", None
        elif key == "pause":
            state = "stopped"
        elif key == "resume":
            state = "hired"
        elif key == "settle":
            frozen = ref.fare()
            state = "settling"
        elif key == "clear":
            out[trip_no] = {"fare_fen": frozen, "waiting_ms": ref.waiting_ms}
            state, ref, frozen = "for_hire", None, None
        elif key == "out_of_service":
            state = "out_of_service"
        elif key == "in_service":
            state = "for_hire"
    return out


def _tariff_at(tariffs: dict, t_ms: int) -> dict:
    from sim.scenario import local_ms
    best = None
    for tariff in tariffs.values():
        start = local_ms(tariff["effective_from"], tariff.get("utc_offset_min", 480), "effective_from")
        if start <= t_ms and (best is None or start >= best[0]):
            best = (start, tariff)
    if best is None:
        raise ValueError(f"no tariff in force at {t_ms}")
    return best[1]


# -- the invariants -------------------------------------------------------------------------------------

def _result(name: str, problems: list[str], checked: int) -> dict:
    return {"invariant": name, "ok": not problems, "checked": checked, "problems": problems[:20]}


def check(data: dict) -> list[dict]:
    trips = data["trips"]
    by_no = {t["trip_no"]: t for t in trips}
    results = []

    problems = []
    printed: dict[int, list] = {}
    for r in data["receipts"]:
        for qr in r["qr"]:
            printed.setdefault(int(qr["trip_no"]), []).append(qr)
    for no, trip in by_no.items():
        copies = printed.get(no, [])
        if len(copies) != 1:
            problems.append(f"trip {no}: {len(copies)} receipts")
        elif int(copies[0]["total_fen"]) != trip["total_fen"] or copies[0]["digest"] != trip["digest"]:
            problems.append(f"trip {no}: receipt total {copies[0]['total_fen']} != stored {trip['total_fen']}")
    problems += [f"receipt for unknown trip {no}" for no in printed if no not in by_no]
    results.append(_result("one_receipt_per_trip", problems, len(trips)))

    problems = []
    reported: dict[int, dict] = {}
    for m in data["uplinks"]:
        if m["kind"] == "trip" and isinstance(m["payload"], dict):
            rec = m["payload"]["record"]
            reported.setdefault(rec["trip_no"], {})[m["payload"]["seq"]] = rec
    for no, trip in by_no.items():
        records = list(reported.get(no, {}).values())
        if len(records) != 1:
            problems.append(f"trip {no}: {len(records)} platform records")
        elif records[0]["total_fen"] != trip["total_fen"] or records[0]["digest"] != trip["digest"]:
            problems.append(f"trip {no}: platform total {records[0]['total_fen']} != stored {trip['total_fen']}")
    problems += [f"platform record of unknown trip {no}" for no in reported if no not in by_no]
    results.append(_result("one_platform_record_per_trip", problems, len(trips)))

    problems = []
    tot = data["totalisers"] or {}
    sums = {"hirings": len(trips), "fares_fen": sum(t["fare_fen"] for t in trips),
            "extras_fen": sum(t["extras_fen"] for t in trips), "hired_m": sum(t["distance_m"] for t in trips)}
    for key, value in sums.items():
        if tot.get(key) != value:
            problems.append(f"totaliser {key} = {tot.get(key)}, sum over trips = {value}")
    results.append(_result("totalisers_equal_sums", problems, len(sums)))

    problems = []
    if data["outbox_pending"]:
        problems.append(f"{data['outbox_pending']} reports still in the outbox")
    seen = {m["payload"].get("seq") for m in data["uplinks"] if m["kind"] != "status" and isinstance(m["payload"], dict)}
    missing = [s for s in range(1, data["last_seq"] + 1) if s not in seen]
    if missing:
        problems.append(f"{len(missing)} seqs never received, first {missing[:10]}")
    dropped = sum(data["outbox_dropped"].values())
    if dropped:
        problems.append(f"{dropped} reports dropped by a full outbox")
    results.append(_result("no_report_lost", problems, data["last_seq"]))

    invalid = [m for m in data["uplinks"] if not m["valid"]]
    results.append(_result("platform_messages_valid", [f"{m['kind']}: {m['errors'][:2]}" for m in invalid],
                           len(data["uplinks"])))

    problems = []
    stages: dict[str, list] = {}
    for m in data["uplinks"]:
        if m["kind"] == "alarm" and isinstance(m["payload"], dict):
            extra = m["payload"]["extra"]
            stages.setdefault(extra["alarm_id"], []).append(extra["stage"])
    for pressed in data["alarms_pressed"]:
        if pressed["alarm_id"] is None and not pressed.get("brush"):
            problems.append(f"alarm pressed at {pressed['pressed_ms']}: never reported")
    brushes = [p for p in data["alarms_pressed"] if p.get("brush")]
    if brushes and len(stages) > len(data["alarms_pressed"]) - len(brushes):
        problems.append(f"{len(brushes)} brush(es) of the button, yet {len(stages)} alarms reported")
    for alarm_id, seen_stages in stages.items():
        for stage in ("pre_alarm", "confirmed", "released"):
            if stage not in seen_stages:
                problems.append(f"alarm {alarm_id}: no {stage} at the platform")
    signs = [s for _, s in data["sign_history"]]
    if stages:
        shown = [i for i, s in enumerate(signs) if s == "alarm"]
        if not shown:
            problems.append("the sign never showed the alarm")
        elif shown[-1] == len(signs) - 1:
            problems.append("the sign still shows the alarm at the end")
    events = data["audit_events"]
    for step in ("alarm_pressed", "alarm_confirmed", "alarm_released"):
        if events.count(step) < len(stages):
            problems.append(f"audit trail holds {events.count(step)} {step} for {len(stages)} alarms")
    results.append(_result("alarm_lifecycle_complete", problems, len(stages)))

    problems = []
    reference = reference_trips(data["journal"], data["tariffs"], data["k"], data.get("dip_ms", 10_000))
    for no, trip in by_no.items():
        ref = reference.get(no)
        if ref is None:
            problems.append(f"trip {no}: no reference (its inputs were not journalled)")
        elif not _same_at_resolution(ref, trip):
            problems.append(f"trip {no}: fare {trip['fare_fen']} / waiting {trip['waiting_ms']} ms, "
                            f"reference {ref['fare_fen']} / {ref['waiting_ms']} ms")
    results.append(_result("fares_equal_reference", problems, len(trips)))

    problems = []
    steps: dict[str, list] = {}
    for m in data["uplinks"]:
        if m["kind"] == "order" and isinstance(m["payload"], dict):
            steps.setdefault(m["payload"]["order_id"], []).append(m["payload"]["event"])
    ends = ("completed", "rejected", "timeout", "cancelled")
    for order_id, events_seen in steps.items():
        if not any(e in ends for e in events_seen):
            problems.append(f"order {order_id}: {events_seen} has no end")
        if "completed" in events_seen and not any(t["order_id"] == order_id for t in trips):
            problems.append(f"order {order_id}: completed but no trip carries it")
    results.append(_result("orders_answered", problems, len(steps)))
    results += [_result(name, problems, n) for name, problems, n in recorder_checks.check(data.get("recorder"))]
    return results + jtt_checks.check(data) + check_visible(data)


def _same_at_resolution(ref: dict, trip: dict) -> bool:
    """A record from the 905.2 link (flag ``link``) carries the fare in 0.1 yuan and the waiting
    time in whole minutes (docs/meter-link.md, "Resolution"): the reference is compared at that."""
    fare, waiting = ref["fare_fen"], ref["waiting_ms"]
    if "link" in trip.get("flags", ()):
        fare, waiting = fare // 10 * 10, waiting // 60000 * 60000
    return fare == trip["fare_fen"] and waiting == trip["waiting_ms"]


def broken(results: list[dict]) -> list[str]:
    return [r["invariant"] for r in results if not r["ok"]]


# -- the folder ----------------------------------------------------------------------------------------------

def write_outputs(runner, data: dict) -> dict:
    out = runner.out
    results = check(data)
    (out / "trips.json").write_text(json.dumps(data["trips"], ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "sign-history.json").write_text(json.dumps(
        [{"t_ms": t, "local": hhmm(t, runner.scenario.utc_offset_min), "state": s} for t, s in data["sign_history"]],
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "display-frames.json").write_text(json.dumps(
        [dict(f, local=hhmm(f["t_ms"], runner.scenario.utc_offset_min)) for f in runner.car.display.shown],
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    export_file = write_export(runner)
    tot = data["totalisers"] or {}
    orders: dict[str, str] = {}
    for m in data["uplinks"]:
        if m["kind"] == "order" and isinstance(m["payload"], dict):
            orders[m["payload"]["order_id"]] = m["payload"]["event"]
    kinds: dict[str, int] = {}
    for m in data["uplinks"]:
        kinds[m["kind"]] = kinds.get(m["kind"], 0) + 1
    summary = {
        "scenario": runner.scenario.name,
        "terminal_id": data["terminal_id"],
        "simulated_s": (runner.now - runner.scenario.start_ms) / 1000,
        "wall_s": round(runner.wall_s, 3),
        "speed": runner.speed,
        "trips": len(data["trips"]),
        "fares_fen": tot.get("fares_fen"), "extras_fen": tot.get("extras_fen"),
        "distance_m": tot.get("total_m"), "hired_m": tot.get("hired_m"),
        "receipts": len(data["receipts"]),
        "uplinks": kinds,
        "last_seq": data["last_seq"],
        "orders": orders,
        "sign_states": len(data["sign_history"]),
        "display_frames": len(runner.car.display.frames),
        "audit_records": len(data["audit_events"]),
        "export": export_file.name,
        "notes": data["notes"],
        "invariants": results,
        "broken": broken(results),
        "ok": not broken(results),
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return summary


def write_export(runner) -> Path:
    """The signed inspector export of the simulated terminal (terminal/export.py, docs/inspector.md)."""
    from terminal.trust import export as export_mod
    from terminal.trust.seal import switch_closed_from_audit

    data = export_mod.collect(runner.car.state, runner.car.storage, runner.car.audit, runner.now,
                              switch_closed=switch_closed_from_audit(runner.car.audit))
    path = runner.out / "audit-export.json"
    path.write_bytes(export_mod.export(data, runner.car.state.device_key()))
    return path
