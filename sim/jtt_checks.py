"""The shift's invariants on a JT/T link (``taxiterm sim SCENARIO --link jt808|jt905``).

In the simulator room, beside summary.py. ``gather(runner)`` reads the JT/T platform
emulator's record and the link's outbox state; ``check(data)`` is pure:

  jt_one_record_per_trip  every stored trip reached the JT/T platform as one record (905:
                          0x0B05 operation data by operation id; 808: the 0x0900 trip by
                          trip number) with the stored amount (905 carries 1/10 yuan: the
                          fen below it cannot travel and are not compared)
  jt_no_report_lost       every location and alarm report the MQTT platform received also
                          reached the JT/T platform (by position and time), and nothing is
                          left undelivered on the JT/T link at the end
  jt_commands_answered    every platform command the scenario sent over the JT/T link
                          (sim/jtt_commands.py) was answered on it with result 0 (0x0001 for
                          that serial and message id, or the 0x0104 / 0x0201 the standard asks for)
  jt_commands_took_effect each of those commands did what it says, through the JT/T link: the
                          alarm's confirmation and release are the audited steps of its lifecycle
                          (their cmd_id names the JT/T message), an order offered by 0x8B00
                          reached an end and its accept / completion went back as 0x0B01 /
                          0x0B07, a centre's cancel (0x8B09) cancelled the order and was not
                          echoed as a driver's 0x0B08, parameters are in effect
"""

from __future__ import annotations

from terminal.link.jtt import e6_to_905


def gather(runner) -> dict | None:
    car = runner.car
    platform = getattr(car, "jt_platform", None)
    if platform is None:
        return None
    protocol = platform.protocol
    if protocol == "jt905":
        trips = [{"trip_no": m["body"]["operation_id"], "amount": int(m["body"]["meter"]["fare"]) * 10}
                 for m in platform.messages(0x0B05) if "meter" in m["body"]]
    else:
        trips = [{"trip_no": r["record"]["trip_no"], "amount": r["record"]["total_fen"]}
                 for r in platform.taxi_data() if r.get("type") == "trip"]
    links = car.terminal.outbox.stats().get("links", {})
    loop = getattr(runner, "loop", None)
    replies = {}
    for m in platform.messages():
        mid = m["header"]["msg_id"]
        if mid in (0x0001, 0x0104, 0x0201) and "seq" in m["body"]:
            replies[m["body"]["seq"]] = [m["body"].get("id", {0x0104: 0x8104, 0x0201: 0x8201}.get(mid)),
                                         m["body"].get("result", 0)]
    audit = [[r["event"], _cmd_id(r["new"])] for r in car.audit.records()
             if r["event"] in ("alarm_confirmed", "alarm_released")]
    return {
        "commands": [dict(c) for c in getattr(loop, "sent", [])],
        "order_numbers": dict(getattr(loop, "order_ids", {})),
        "replies": {str(sn): v for sn, v in replies.items()},
        "audit_commands": audit,
        "order_steps": {str(i): [m["body"]["order_id"] for m in platform.messages(i)]
                        for i in (0x0B01, 0x0B07, 0x0B08)},
        "params_now": dict(car.terminal.platform.params),
        "protocol": protocol,
        "locations": [[loc["latitude"], loc["longitude"], loc["time"]] for loc in platform.locations()],
        "trips": trips,
        "pending": links.get(protocol, {}).get("pending", 0),
        "registrations": platform.registrations,
        "connections": platform.connections,
    }


def _cmd_id(detail) -> str | None:
    import json
    try:
        return json.loads(detail).get("cmd_id")
    except (TypeError, ValueError, AttributeError):
        return None


def _key(payload: dict, protocol: str) -> tuple:
    lat, lon = payload["latitude"], payload["longitude"]
    if protocol == "jt905":
        lat, lon = e6_to_905(lat), e6_to_905(lon)
    return lat, lon, payload["time"]


def check(data: dict) -> list[dict]:
    jt = data.get("jtt")
    if not jt:
        return []
    protocol = jt["protocol"]
    results = []
    by_trip: dict[int, set] = {}
    for record in jt["trips"]:
        by_trip.setdefault(record["trip_no"], set()).add(record["amount"])
    problems = []
    for trip in data["trips"]:
        amounts = by_trip.get(trip["trip_no"])
        expected = trip["total_fen"] - trip["total_fen"] % 10 if protocol == "jt905" else trip["total_fen"]
        if not amounts:
            problems.append(f"trip {trip['trip_no']}: no {protocol} record")
        elif amounts != {expected}:
            problems.append(f"trip {trip['trip_no']}: {protocol} amounts {sorted(amounts)} != stored {expected}")
    stored = {t["trip_no"] for t in data["trips"]}
    problems += [f"{protocol} record of unknown trip {no}" for no in by_trip if no not in stored]
    results.append({"invariant": "jt_one_record_per_trip", "ok": not problems, "checked": len(data["trips"]),
                    "problems": problems[:20]})
    seen = {tuple(k) for k in jt["locations"]}
    reports = [u["payload"] for u in data["uplinks"] if u["kind"] in ("location", "alarm")
               and isinstance(u["payload"], dict)]
    problems = [f"{u['type']} seq {u['seq']} ({u['time']}) not at the {protocol} platform"
                for u in reports if _key(u, protocol) not in seen]
    if jt["pending"]:
        problems.append(f"{jt['pending']} message(s) never acknowledged on {protocol}")
    results.append({"invariant": "jt_no_report_lost", "ok": not problems, "checked": len(reports),
                    "problems": problems[:20]})
    return results + check_commands(data, jt)


PARAM_NAMES = {0x0025: "report_vacant_s", 0x0026: "report_occupied_s", 0x0028: "report_alarm_s",
               0x0029: "report_vacant_s", 0x0055: "speed_limit_kmh", 0x0056: "overspeed_s"}


def check_commands(data: dict, jt: dict) -> list[dict]:
    protocol = jt["protocol"]
    commands = jt.get("commands", [])
    unanswered = []
    for c in commands:
        reply = jt["replies"].get(str(c["sn"]))
        if reply is None:
            unanswered.append(f"{c['command']} (0x{c['msg_id']:04X} serial {c['sn']}): no answer on {protocol}")
        elif reply != [c["msg_id"], 0]:
            unanswered.append(f"{c['command']} (0x{c['msg_id']:04X} serial {c['sn']}): answered {reply}")
    steps: dict[str, list] = {}
    for u in data["uplinks"]:
        if u["kind"] == "order" and isinstance(u["payload"], dict):
            steps.setdefault(str(u["payload"]["order_id"]), []).append(u["payload"])
    audit = [tuple(a) for a in jt.get("audit_commands", [])]
    sent_params: dict = {}
    problems = []
    for c in commands:
        cmd_id = f"{protocol}:{c['sn']}"
        what = f"{c['command']} 0x{c['msg_id']:04X} (serial {c['sn']})"
        if c["command"] == "alarm_confirm" and ("alarm_confirmed", cmd_id) not in audit:
            problems.append(f"{what}: no alarm confirmed by it in the audit trail")
        elif c["command"] == "alarm_release" and ("alarm_released", cmd_id) not in audit:
            problems.append(f"{what}: the alarm was not ended by the centre's release")
        elif c["command"] == "order_offer":
            number = c["body"]["order_id"]
            events = [p["event"] for p in steps.get(str(number), [])]
            if not events:
                problems.append(f"{what}: order {number} reached no end")
            if "accepted" in events and number not in jt["order_steps"][str(0x0B01)]:
                problems.append(f"{what}: order {number} accepted, but no 0x0B01 at the {protocol} platform")
            if "completed" in events and number not in jt["order_steps"][str(0x0B07)]:
                problems.append(f"{what}: order {number} completed, but no 0x0B07 at the {protocol} platform")
        elif c["command"] == "order_cancel":
            number = c["body"]["order_id"]
            cancels = [p for p in steps.get(str(number), []) if p["event"] == "cancelled"]
            if not any(str(p.get("reason", "")).startswith("centre") for p in cancels):
                problems.append(f"{what}: order {number} was not cancelled by the centre")
            if number in jt["order_steps"][str(0x0B08)]:
                problems.append(f"{what}: the centre's cancel of order {number} came back as a driver's 0x0B08")
        elif c["command"] == "params":
            for item in c["body"]["params"]:
                if item["id"] in PARAM_NAMES:
                    sent_params[PARAM_NAMES[item["id"]]] = item["value"]
    now = jt.get("params_now", {})
    problems += [f"parameter {name} = {now.get(name)!r}, the last {protocol} 0x8103 set {value!r}"
                 for name, value in sent_params.items() if now.get(name) != value]
    return [{"invariant": "jt_commands_answered", "ok": not unanswered, "checked": len(commands),
             "problems": unanswered[:20]},
            {"invariant": "jt_commands_took_effect", "ok": not problems, "checked": len(commands),
             "problems": problems[:20]}]
