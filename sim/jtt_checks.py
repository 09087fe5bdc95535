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
    return {
        "protocol": protocol,
        "locations": [[loc["latitude"], loc["longitude"], loc["time"]] for loc in platform.locations()],
        "trips": trips,
        "pending": links.get(protocol, {}).get("pending", 0),
        "registrations": platform.registrations,
        "connections": platform.connections,
    }


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
    return results
