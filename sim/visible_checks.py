"""The invariants of what people see (issue 14): checked over a finished shift, named when broken.

In the simulator room, beside ``sim.summary`` (which gathers the data and calls ``check``):

  display_equals_meter         the display's fare and total equal the meter's after every loop turn
  settle_total_equals_receipt  the last settle screen of each trip shows the receipt's total
  sign_follows_state           the sign shows what the terminal's state calls for, signed-out included
  device_faults_agree          display warnings agree with the faults the terminal holds and with the
                               printer's real condition; every health report agrees with its alarm bits
  alarm_bits_cleared           every device alarm bit raised is cleared once its cause is over, both
                               edges in the audit trail, none left at the end of the shift
  payload_fields_typed         no uplink field carries a null written out as text ("None", "null", "nan")

The first three come from ``sim.witness`` (watched as it happened), the others from the outputs.
"""

from __future__ import annotations

from terminal.link.payloads import ALARM_BITS

VISIBLE = ("display_equals_meter", "settle_total_equals_receipt", "sign_follows_state", "device_faults_agree",
           "alarm_bits_cleared", "payload_fields_typed")

# health device -> the alarm bits that say the same thing
HEALTH_BITS = {"gnss": ("gnss_fault", "antenna_open", "antenna_short"), "meter": ("meter_fault",),
               "sign": ("sign_fault",), "speed_sensor": ("speed_sensor_fault",)}
DEVICE_BITS = ("gnss_fault", "antenna_open", "antenna_short", "meter_fault", "sign_fault", "speed_sensor_fault")
NULL_TEXTS = ("None", "null", "nan", "NaN", "undefined")


def _result(name: str, problems: list[str], checked: int) -> dict:
    return {"invariant": name, "ok": not problems, "checked": checked, "problems": problems[:20]}


def _reports(data: dict) -> list[dict]:
    """Location and health payloads in the order the terminal made them."""
    payloads = [m["payload"] for m in data["uplinks"]
                if m["kind"] in ("location", "health") and isinstance(m["payload"], dict)]
    return sorted(payloads, key=lambda p: (p.get("ts", 0), p.get("seq", 0)))


def check_visible(data: dict) -> list[dict]:
    results = []
    witness = data.get("witness") or {"checked": {}, "problems": {}}
    for name in ("display_equals_meter", "sign_follows_state"):
        results.append(_result(name, list(witness["problems"].get(name, [])), witness["checked"].get(name, 0)))
    results.append(_settle_totals(data))
    results.append(_faults_agree(data, witness))
    results.append(_bits_cleared(data))
    results.append(_typed(data))
    order = {name: i for i, name in enumerate(VISIBLE)}
    return sorted(results, key=lambda r: order[r["invariant"]])


def _settle_totals(data: dict) -> dict:
    problems = []
    frames = data.get("frames") or []
    receipts: dict[int, int] = {}
    for r in data["receipts"]:
        for qr in r["qr"]:
            receipts[int(qr["trip_no"])] = int(qr["total_fen"])
    for trip in data["trips"]:
        settles = [f for f in frames if f["screen"] == "SettleScreen" and f["t_ms"] <= trip.get("end_ms", trip["alight_ms"])
                   and f["t_ms"] >= trip["board_ms"]]
        if not settles:
            # a power loss closes a trip unsettled; a meter on the link settles on its own display
            if not {"power_loss", "link"} & set(trip.get("flags", [])):
                problems.append(f"trip {trip['trip_no']}: no settle screen was shown")
            continue
        shown = settles[-1]["total_fen"]
        if shown != trip["total_fen"]:
            problems.append(f"trip {trip['trip_no']}: settle screen showed {shown} fen, the trip is "
                            f"{trip['total_fen']} fen")
        if trip["trip_no"] in receipts and receipts[trip["trip_no"]] != shown:
            problems.append(f"trip {trip['trip_no']}: receipt {receipts[trip['trip_no']]} fen, settle screen {shown}")
    return _result("settle_total_equals_receipt", problems, len(data["trips"]))


def _faults_agree(data: dict, witness: dict) -> dict:
    problems = list(witness["problems"].get("device_faults_agree", []))
    checked = witness["checked"].get("device_faults_agree", 0)
    for p in _reports(data):
        if "devices" not in p:
            continue
        checked += 1
        alarm = p.get("alarm", 0)
        for device, names in HEALTH_BITS.items():
            entry = p["devices"].get(device)
            if entry is None:
                problems.append(f"health seq {p['seq']}: no {device} entry")
                continue
            bits = [n for n in names if alarm >> ALARM_BITS[n] & 1]
            if entry["ok"] == bool(bits):
                problems.append(f"health seq {p['seq']}: {device} ok={entry['ok']} ({entry['detail']!r}) "
                                f"but alarm bits {bits or 'none'}")
    return _result("device_faults_agree", problems, checked)


def _bits_cleared(data: dict) -> dict:
    problems = []
    reports = [p for p in _reports(data) if "alarm" in p]
    raised: dict[str, int] = {}
    last = 0
    for p in reports:
        alarm = p["alarm"]
        for name in DEVICE_BITS:
            bit = 1 << ALARM_BITS[name]
            if alarm & bit and not last & bit:
                raised[name] = raised.get(name, 0) + 1
        last = alarm
    still = data.get("final_flags", [])
    for name in DEVICE_BITS:
        if last >> ALARM_BITS[name] & 1 and name not in data.get("causes_at_end", []):
            problems.append(f"{name} (bit {ALARM_BITS[name]}) still raised at the end of the shift, its cause is over")
    edges = data.get("device_alarm_edges", [])
    for name in DEVICE_BITS:
        ons = sum(1 for _, param, old, new in edges if param == name and (old, new) == ("off", "on"))
        offs = sum(1 for _, param, old, new in edges if param == name and (old, new) == ("on", "off"))
        if raised.get(name) and not ons:
            problems.append(f"{name} raised {raised[name]} time(s) in reports, no raise in the audit trail")
        if ons != offs + (1 if name in still else 0):
            problems.append(f"{name}: audit trail holds {ons} raise(s) and {offs} clear(s)")
    return _result("alarm_bits_cleared", problems, len(reports))


def _typed(data: dict) -> dict:
    problems = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and value.strip() in NULL_TEXTS:
            problems.append(f"{path} = {value!r}")
        elif isinstance(value, float) and value != value:
            problems.append(f"{path} is NaN")

    for m in data["uplinks"]:
        if isinstance(m["payload"], dict):
            walk(m["payload"], f"{m['kind']} seq {m['payload'].get('seq')}")
    return _result("payload_fields_typed", problems, len(data["uplinks"]))
