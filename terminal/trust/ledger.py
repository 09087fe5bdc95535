"""The chain of legal record (trust room): what the audit trail says the meter's legal state is.

The audit trail (``terminal.trust.audit``) is the one append-only, hash-chained, signed log.
This module reads it as the *ledger* of the meter's legal state and holds everything else
against it. ``fold`` turns records into facts: the last trip closed (number, digest,
totalisers after it), the K applied and calibrated, the tariff files installed, the audit
capacity, the chain head. ``check`` compares what is stored (trip rows, totaliser row,
meter snapshot, tariff index, calibration row, device.json) with those facts and returns
every disagreement, each naming the record. Pure: plain data in, problems out; the
terminal at start (``terminal.trust.startcheck``) and the inspector (``inspect_report``) run
the same function. See docs/audit.md ("The chain of legal record").

Records this module reads (event, parameter, new):

- ``meter_commissioned`` / ``ledger_checkpoint``, "meter", JSON of the base facts (first start,
  and after an inspector archived the older records);
- ``trip_closed``, trip number, JSON {"trip_no", "digest", "totals"};
- ``k_applied`` (new K on the meter), ``k_calibrated`` (K stored by calibration);
- ``tariff_indexed``, the file, JSON of its index entry's file, sha256, schedule digest, first date.

The meter snapshot carries the chain head it was saved after and a device signature
(``snapshot_blob``/``open_snapshot``), so a cut tail or an edited snapshot shows.
"""

import json

from meter import trip as meter_trip
from meter.totalisers import FIELDS as TOTAL_FIELDS
from terminal.trust import signing

BASE_EVENTS = ("meter_commissioned", "ledger_checkpoint")
TRIP_EVENT = "trip_closed"
BASE_KEYS = ("k", "calibration_k", "tariffs", "audit_capacity", "trip_no", "totals")


class Problem:
    """One disagreement with the chain: which record, and what is wrong."""

    def __init__(self, record: str, detail: str) -> None:
        self.record = record
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.record}: {self.detail}"

    def as_dict(self) -> dict:
        return {"record": self.record, "detail": self.detail}


def text(value) -> str:
    """The canonical text a record field carries for a structured value."""
    return signing.canonical_json(value).decode("utf-8")


def tariff_core(entry: dict) -> dict:
    """What the chain fixes of one tariff index entry: file, bytes, schedule and first date."""
    return {key: entry.get(key) for key in ("file", "sha256", "schedule_digest", "first_effective_ms")}


def base_facts(k, calibration_k, tariffs, audit_capacity, trip_no=0, totals=None) -> dict:
    return {"k": k, "calibration_k": calibration_k, "tariffs": list(tariffs), "audit_capacity": audit_capacity,
            "trip_no": trip_no, "totals": totals}


def fold(records: list) -> dict:
    """The legal facts the chain states (records in counter order, already verified)."""
    facts = {"commissioned": False, "base_counter": None, "trips": {}, "trip_counter": {},
             "head": None, "k_history": []}
    facts.update(base_facts(None, None, [], None))
    for rec in records:
        event, new = rec.get("event"), rec.get("new")
        facts["head"] = (rec.get("counter"), rec.get("hash"))
        try:
            if event in BASE_EVENTS:
                base = json.loads(new)
                facts.update({key: base[key] for key in BASE_KEYS})
                facts["commissioned"] = True
                facts["base_counter"] = rec["counter"]
                facts["k_history"] = [(rec["counter"], base["k"])]
            elif event == TRIP_EVENT:
                closed = json.loads(new)
                facts["trip_no"] = closed["trip_no"]
                facts["totals"] = closed["totals"]
                facts["trips"][closed["trip_no"]] = closed["digest"]
                facts["trip_counter"][closed["trip_no"]] = rec["counter"]
            elif event == "k_applied":
                facts["k"] = int(new)
                facts["k_history"].append((rec["counter"], facts["k"]))
            elif event == "k_calibrated":
                facts["calibration_k"] = int(new)
            elif event == "tariff_indexed" and facts["commissioned"]:
                facts["tariffs"].append(json.loads(new))
        except (ValueError, KeyError, TypeError) as exc:
            facts.setdefault("unreadable", f"audit record #{rec.get('counter')}: {event} unreadable ({exc})")
    return facts


# --- the signed meter snapshot ---------------------------------------------------------------------------

def _snapshot_message(snapshot_bytes: bytes, counter, head_hash) -> bytes:
    return snapshot_bytes + b"\nchain:" + str(counter).encode("ascii") + b":" + str(head_hash).encode("ascii")


def snapshot_blob(snapshot: dict, head: tuple, signer, body: bytes | None = None) -> bytes:
    """The meter_state row: the meter snapshot's canonical JSON with one more member, ``ledger``:
    the chain head it follows and the device's signature over both. (One canonical encoding per
    save, as before: the member is appended, so the row itself need not be canonical.) ``body``:
    the snapshot's canonical bytes where the caller already made them."""
    counter, head_hash = head
    if body is None:
        body = signing.canonical_json(snapshot)
    sig = signing.encode_signature(signing.sign(signer, "meter_state", _snapshot_message(body, counter, head_hash)))
    seal = json.dumps({"chain_counter": counter, "chain_hash": head_hash, "signature": sig}, separators=(",", ":"))
    return body[:-1] + b',"ledger":' + seal.encode("ascii") + b"}"


def open_snapshot(blob, public_key):
    """(snapshot, (counter, hash), problem or None) from a meter_state row; snapshot None when unreadable."""
    try:
        body = json.loads(bytes(blob).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, None, "meter snapshot is not JSON"
    if not isinstance(body, dict):
        return None, None, "meter snapshot is not an object"
    seal = body.pop("ledger", None)
    if not isinstance(seal, dict):
        return body, None, None     # an unsigned snapshot: its values are still held against the chain
    head = (seal.get("chain_counter"), seal.get("chain_hash"))
    try:
        signing.verify(public_key, "meter_state", _snapshot_message(signing.canonical_json(body), head[0], head[1]),
                       signing.decode_signature(seal.get("signature"), "meter snapshot"), "meter snapshot")
    except (signing.SignatureError, TypeError) as exc:
        return body, head, f"{exc} (altered outside the meter)"
    return body, head, None


# --- the comparison --------------------------------------------------------------------------------------

def _totals_problem(where: str, totals) -> str | None:
    if not isinstance(totals, dict) or set(totals) != set(TOTAL_FIELDS):
        return f"{where}: totalisers malformed"
    bad = [k for k in TOTAL_FIELDS if not isinstance(totals[k], int) or isinstance(totals[k], bool) or totals[k] < 0]
    if bad:
        return f"{where}: {', '.join(bad)} negative or not an integer"
    if totals["total_m"] != totals["hired_m"] + totals["empty_m"] + totals["paused_m"]:
        return (f"{where}: total_m {totals['total_m']} is not hired_m + empty_m + paused_m "
                f"({totals['hired_m']} + {totals['empty_m']} + {totals['paused_m']})")
    return None


def head_problem(facts: dict, witness, public_key) -> Problem | None:
    """The signed head witness (audit_head) against the chain's end: a cut tail names the first missing record."""
    from terminal.trust.audit import head_message
    end = facts["head"][0] if facts["head"] else 0
    if witness is None:
        return Problem("audit_head", "the signed chain head is missing (deleted)") if end else None
    try:
        signing.verify(public_key, "audit", head_message(witness["counter"], witness["hash"]),
                       signing.decode_signature(witness["signature"], "audit head"), "audit head")
    except (signing.SignatureError, TypeError, KeyError, AttributeError) as exc:
        return Problem("audit_head", str(exc))
    if witness["counter"] > end:
        return Problem(f"audit record #{end + 1}", f"missing: the signed chain head is record "
                                                   f"#{witness['counter']}, the chain ends at #{end} (tail cut)")
    if witness["counter"] < end:
        return Problem(f"audit record #{witness['counter'] + 1}", "written without moving the signed chain head")
    if facts["head"] and witness["hash"] != facts["head"][1]:
        return Problem(f"audit record #{end}", "differs from the signed chain head (rewritten)")
    return None


def check(facts: dict, stored: dict, public_key=None, records_by_counter: dict | None = None) -> list:
    """Every disagreement between ``stored`` and the chain's ``facts``.

    ``stored``: trips (list, oldest first; may be only the newest part), complete (bool: every
    trip since #1 is there), totalisers (dict or None), snapshot_blob (bytes or None) or
    snapshot (dict with its "ledger" head), tariffs (schedule digests of the index, in order),
    calibration_k (int or None), audit_capacity (int). ``records_by_counter`` maps counter ->
    hash of the records held, to place the snapshot's head on the chain.
    """
    problems = []
    add = lambda record, detail: problems.append(Problem(record, detail))  # noqa: E731
    if "unreadable" in facts:
        add("audit trail", facts["unreadable"])
    if "audit_head" in stored and public_key is not None:
        problem = head_problem(facts, stored["audit_head"], public_key)
        if problem:
            problems.append(problem)
    trips = stored.get("trips") or []
    if not facts["commissioned"]:
        if trips or stored.get("totalisers") is not None:
            add(f"trip #{trips[0]['trip_no']}" if trips else "totalisers",
                "legal data is stored but the chain holds no commissioning record")
        return problems
    chain_no = facts["trip_no"]
    # trips: each stored row against its chain record; none missing, none unrecorded
    for trip in trips:
        no = trip.get("trip_no")
        where = f"trip #{no}"
        if not meter_trip.verify_record(trip):
            add(where, "contents do not match the trip's digest (altered)")
        elif no in facts["trips"] and facts["trips"][no] != trip["digest"]:
            add(where, f"digest differs from the signed chain record #{facts['trip_counter'][no]} "
                       "(altered and re-digested)")
        elif no > chain_no:
            add(where, f"is not in the chain (the chain's last trip is #{chain_no})")
    numbers = [t.get("trip_no") for t in trips]
    first = 1 if stored.get("complete", True) else (numbers[0] if numbers else chain_no + 1)
    for no in range(first, chain_no + 1):
        if no not in numbers and (no in facts["trips"] or facts.get("base_counter") is not None):
            counter = facts["trip_counter"].get(no)
            add(f"trip #{no}", "is missing from storage (deleted)" +
                (f"; the chain recorded it in record #{counter}" if counter else ""))
            break
    totals = stored.get("totalisers")
    if facts["totals"] is not None or totals is not None:
        problem = _totals_problem("totalisers", totals) if totals is not None else None
        if problem:
            add("totalisers", problem.split(": ", 1)[1])
        elif totals != facts["totals"]:
            diff = sorted(k for k in TOTAL_FIELDS if (totals or {}).get(k) != (facts["totals"] or {}).get(k))
            add("totalisers", ("missing" if totals is None else "differ from the chain in " + ", ".join(diff)) +
                f" (chain: after trip #{chain_no})")
    _check_snapshot(facts, stored, public_key, records_by_counter, add)
    tariffs = stored.get("tariffs")
    if tariffs is not None and list(tariffs) != list(facts["tariffs"]):
        wrong = next((i for i, (a, b) in enumerate(zip(tariffs, facts["tariffs"], strict=False)) if a != b),
                     min(len(tariffs), len(facts["tariffs"])))
        add("tariffs/index.json", f"entry {wrong + 1}: lists {len(tariffs)} tariff files, differing from the "
                                  f"{len(facts['tariffs'])} the chain installed")
    if "calibration_k" in stored and stored["calibration_k"] != facts["calibration_k"]:
        add("calibration", f"stored K {stored['calibration_k']} is not the K the chain calibrated "
                           f"({facts['calibration_k']})")
    if stored.get("audit_capacity") is not None and facts["audit_capacity"] is not None \
            and stored["audit_capacity"] != facts["audit_capacity"]:
        add("device.json audit_capacity", f"{stored['audit_capacity']} records, the chain fixed "
                                          f"{facts['audit_capacity']}")
    return problems


def _check_snapshot(facts, stored, public_key, records_by_counter, add) -> None:
    if "snapshot_blob" in stored:
        blob = stored["snapshot_blob"]
        if blob is None:
            if facts["trip_no"] or facts["totals"] is not None:
                add("meter_state", "the meter snapshot is missing (deleted) though the chain has closed trips")
            return          # commissioned, nothing metered yet: the snapshot is written next
        snap, head, problem = open_snapshot(blob, public_key)
    else:
        snap = stored.get("snapshot")
        if snap is None:
            return
        snap = dict(snap)
        seal = snap.pop("ledger", None) or {}
        head, problem = (seal.get("chain_counter"), seal.get("chain_hash")), None
        if public_key is not None:
            _, head, problem = open_snapshot(json.dumps(dict(snap, ledger=seal)).encode("utf-8"), public_key)
    if problem:
        add("meter_state", problem)
    if snap is None:
        return
    if head and isinstance(head[0], int) and facts["head"] is not None:
        counter, head_hash = head
        if counter > facts["head"][0]:
            add(f"audit record #{facts['head'][0] + 1}",
                f"missing: the meter snapshot follows record #{counter}, the chain ends at #{facts['head'][0]} "
                "(tail cut)")
        elif records_by_counter is not None and counter in records_by_counter \
                and records_by_counter[counter] != head_hash:
            add(f"audit record #{counter}", "differs from the record the meter snapshot follows (chain rewritten)")
    params, odo = snap.get("params") or {}, snap.get("odometer") or {}
    # the K in force when the snapshot was saved (a K applied after it is re-applied at start)
    at = head[0] if head and isinstance(head[0], int) else None
    k_then = [k for counter, k in facts["k_history"] if at is None or counter <= at]
    expected_k = k_then[-1] if k_then else facts["k"]
    if expected_k is not None:
        for where, k in (("params.k", params.get("k")), ("odometer.k", odo.get("k"))):
            if k != expected_k:
                add("meter_state", f"{where} = {k}, the chain's K is {expected_k}")
    problem = _totals_problem("meter_state totals", snap.get("totals"))
    if problem:
        add("meter_state", problem.split(": ", 1)[1])
        return
    totals, chain = snap["totals"], facts["totals"]
    open_trip = 1 if snap.get("trip") else 0
    if totals["hirings"] != facts["trip_no"] + open_trip:
        add("meter_state", f"counts {totals['hirings']} hirings, the chain closed {facts['trip_no']} trips"
                           f"{' and one is open' if open_trip else ''}")
    if chain is not None:
        for name in ("fares_fen", "extras_fen", "waiting_ms", "power_losses"):
            if totals[name] != chain[name]:
                add("meter_state", f"totaliser {name} = {totals[name]}, the chain's is {chain[name]}")
                break
        for name in ("total_m", "hired_m", "empty_m", "paused_m"):
            if totals[name] < chain[name]:
                add("meter_state", f"totaliser {name} = {totals[name]} is below the chain's {chain[name]}")
                break


# --- witnesses outside the device ------------------------------------------------------------------------

def sign_trip_witness(signer, record: dict, head: tuple) -> dict:
    """A trip's witness for a receipt QR or a platform report: the trip's digest bound to the chain
    head (counter, hash) of its ``trip_closed`` record, signed by the device (purpose "witness").
    Verifiable offline with the device's public key (``verify_trip_witness``)."""
    counter, head_hash = head
    body = {"trip_no": record["trip_no"], "digest": record["digest"], "chain_counter": counter,
            "chain_hash": head_hash}
    body["signature"] = signing.encode_signature(signing.sign(signer, "witness", signing.canonical_json(
        {k: body[k] for k in ("trip_no", "digest", "chain_counter", "chain_hash")})))
    return body


def verify_trip_witness(public_key, witness: dict, record: dict | None = None) -> None:
    """Raise ``signing.SignatureError`` unless ``witness`` is the device's, and (given) for ``record``."""
    if not isinstance(witness, dict) or set(witness) != {"trip_no", "digest", "chain_counter", "chain_hash",
                                                         "signature"}:
        raise signing.SignatureError("trip witness: needs trip_no, digest, chain_counter, chain_hash, signature")
    if record is not None and (record.get("trip_no") != witness["trip_no"]
                               or record.get("digest") != witness["digest"]):
        raise signing.SignatureError(f"trip witness is for trip #{witness['trip_no']}, not this record")
    body = {k: witness[k] for k in ("trip_no", "digest", "chain_counter", "chain_hash")}
    signing.verify(public_key, "witness", signing.canonical_json(body),
                   signing.decode_signature(witness["signature"], "trip witness"), "trip witness")
