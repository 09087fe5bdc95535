"""The manipulations of the tamper suite: what a dishonest driver or technician does with ``sqlite3``
and a text editor to a stopped terminal's state directory. Each returns the name the
terminal and the inspector must give the altered record."""

import hashlib
import json
import sqlite3

from meter import canonical
from terminal.trust import keys, signing
from terminal.trust.audit import head_message, record_hash


def db(state):
    return sqlite3.connect(str(state / "terminal.db"), isolation_level=None)


def _snapshot(conn) -> dict:
    return json.loads(conn.execute("SELECT blob FROM meter_state").fetchone()[0])


def _put_snapshot(conn, snap: dict) -> None:
    conn.execute("UPDATE meter_state SET blob = ?", (canonical.encode(snap),))


def k_in_calibration_row(state):
    with db(state) as c:
        c.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('calibration', ?)",
                  (json.dumps({"k": 500, "calibrated_ms": 1795140000000, "distance_m": 2000, "pulses": 1000}),))
    return "calibration"


def k_in_snapshot_params(state):
    with db(state) as c:
        snap = _snapshot(c)
        snap["params"]["k"] = 500
        _put_snapshot(c, snap)
    return "meter_state"


def k_in_snapshot_odometer(state):
    with db(state) as c:
        snap = _snapshot(c)
        snap["odometer"]["k"] = 500
        _put_snapshot(c, snap)
    return "meter_state"


def k_in_snapshot_resigned_head_kept(state):
    """Both K fields, the rest untouched (the signature block left as it was)."""
    with db(state) as c:
        snap = _snapshot(c)
        snap["params"]["k"] = snap["odometer"]["k"] = 500
        _put_snapshot(c, snap)
    return "meter_state"


def tariff_index_edited(state):
    path = state / "tariffs" / "index.json"
    index = json.loads(path.read_text())
    index["installed"][0]["first_effective_ms"] += 86_400_000
    path.write_text(json.dumps(index, indent=1) + "\n")
    return "index.json"


def tariff_index_entry_dropped(state):
    path = state / "tariffs" / "index.json"
    path.write_text(json.dumps({"installed": []}) + "\n")
    return "tariff"


def tariff_file_damaged(state):
    path = next((state / "tariffs").glob("*.toml"))
    path.write_bytes(path.read_bytes().replace(b"per_km_fen = ", b"per_km_fen = 1"))
    return "tariff"


def audit_capacity_raised(state):
    path = state / "device.json"
    info = json.loads(path.read_text())
    info["audit_capacity"] = 10**9
    path.write_text(json.dumps(info) + "\n")
    return "audit_capacity"


def _fix_totals(c, delta: dict) -> None:
    totals = json.loads(c.execute("SELECT data FROM totalisers").fetchone()[0])
    for k, v in delta.items():
        totals[k] += v
    c.execute("UPDATE totalisers SET data = ?", (json.dumps(totals, separators=(",", ":")),))


def trip_fare_lowered_redigested(state):
    with db(state) as c:
        rec = json.loads(c.execute("SELECT record FROM trips WHERE trip_no = 2").fetchone()[0])
        rec["fare_fen"] -= 500
        rec["total_fen"] -= 500
        del rec["digest"]
        rec["digest"] = canonical.digest(rec)
        c.execute("UPDATE trips SET record = ?, digest = ? WHERE trip_no = 2",
                  (json.dumps(rec, ensure_ascii=False, separators=(",", ":")), rec["digest"]))
        _fix_totals(c, {"fares_fen": -500})
    return "trip #2"


def trip_row_altered(state):
    with db(state) as c:
        text = c.execute("SELECT record FROM trips WHERE trip_no = 2").fetchone()[0]
        c.execute("UPDATE trips SET record = ? WHERE trip_no = 2", (text.replace('"distance_m":', '"distance_m":1', 1),))
    return "trip #2"


def last_trip_deleted(state):
    with db(state) as c:
        rec = json.loads(c.execute("SELECT record FROM trips WHERE trip_no = 3").fetchone()[0])
        c.execute("DELETE FROM receipt_queue WHERE trip_no = 3")
        c.execute("UPDATE totalisers SET trip_no = 2")
        c.execute("DELETE FROM trips WHERE trip_no = 3")
        _fix_totals(c, {"hirings": -1, "fares_fen": -rec["fare_fen"], "extras_fen": -rec["extras_fen"],
                        "waiting_ms": -rec["waiting_ms"], "hired_m": -rec["distance_m"],
                        "total_m": -rec["distance_m"]})
    return "trip #3"


def database_reset(state):
    with db(state) as c:
        for table in ("receipt_queue", "totalisers", "trips", "shifts", "meter_state", "outbox"):
            c.execute(f"DELETE FROM {table}")
    return "trip #1"


def snapshot_deleted(state):
    with db(state) as c:
        c.execute("DELETE FROM meter_state")
    return "meter_state"


def empty_m_negative(state):
    with db(state) as c:
        _fix_totals(c, {"empty_m": -10_000, "total_m": -10_000})
        totals = json.loads(c.execute("SELECT data FROM totalisers").fetchone()[0])
        assert totals["empty_m"] < 0
    return "totalisers"


def _drop_triggers(c) -> None:
    c.execute("DROP TRIGGER IF EXISTS audit_record_no_delete")
    c.execute("DROP TRIGGER IF EXISTS audit_record_no_update")


def audit_tail_cut(state):
    with db(state) as c:
        _drop_triggers(c)
        last = c.execute("SELECT MAX(counter) FROM audit_record").fetchone()[0]
        c.execute("DELETE FROM audit_record WHERE counter > ?", (last - 3,))
    return "record #"


def audit_fake_anchor(state):
    """Archive the older records without an inspector: a made-up anchor, the records below it deleted."""
    with db(state) as c:
        _drop_triggers(c)
        last = c.execute("SELECT MAX(counter) FROM audit_record").fetchone()[0]
        cut = last - 4
        h = c.execute("SELECT hash FROM audit_record WHERE counter = ?", (cut,)).fetchone()[0]
        c.execute("INSERT OR REPLACE INTO audit_anchor (id, counter, hash) VALUES (1, ?, ?)", (cut, h))
        c.execute("DELETE FROM audit_record WHERE counter <= ?", (cut,))
    return "audit"


def _forge_seal_closed(state, key):
    with db(state) as c:
        counter, prev, sid = c.execute(
            "SELECT counter, hash, software_id FROM audit_record ORDER BY counter DESC LIMIT 1").fetchone()
        rec = {"counter": counter + 1, "t_ms": 1795150000000, "event": "seal_switch", "parameter": "seal",
               "old": "open", "new": "closed", "actor": "seal_switch", "software_id": sid, "prev": prev}
        rec["hash"] = record_hash(rec)
        rec["signature"] = signing.encode_signature(signing.sign(key, "audit", bytes.fromhex(rec["hash"])))
        c.execute("INSERT INTO audit_record VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                  tuple(rec[k] for k in ("counter", "t_ms", "event", "parameter", "old", "new", "actor",
                                         "software_id", "prev", "hash", "signature")))
        # a thorough forger moves the signed head witness as well
        c.execute("UPDATE audit_head SET counter = ?, hash = ?, signature = ?",
                  (rec["counter"], rec["hash"], signing.encode_signature(
                      signing.sign(key, "audit", head_message(rec["counter"], rec["hash"])))))
    return f"record #{counter + 1}"


def seal_closed_forged_other_key(state):
    return _forge_seal_closed(state, keys.generate())


def seal_closed_forged_device_key_file(state):
    """The issue's own attack: sign a "seal closed" record with the key file on the device. With the
    key in the token there is no file and the token will not give the key out: the forger is left
    with a key of his own."""
    path = state / "keys" / "device.key"
    if path.exists():
        return _forge_seal_closed(state, keys.load_private(path))
    from pkcs11 import Attribute
    from pkcs11.exceptions import AttributeSensitive

    signer = keys.DeviceState(state).device_key()
    signer.public_key()
    try:
        signer._private[Attribute.VALUE]
    except AttributeSensitive:
        pass
    else:
        raise AssertionError("the token gave out the device key")
    return _forge_seal_closed(state, keys.generate())


def device_key_damaged(state):
    path = state / "keys" / "device.key"
    if path.exists():
        path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
    else:
        (state / "keys" / "token.json").write_text("{broken")
    return "device"


CASES = {f.__name__: f for f in (
    k_in_calibration_row, k_in_snapshot_params, k_in_snapshot_odometer, k_in_snapshot_resigned_head_kept,
    tariff_index_edited, tariff_index_entry_dropped, tariff_file_damaged, audit_capacity_raised,
    trip_fare_lowered_redigested, trip_row_altered, last_trip_deleted, database_reset, snapshot_deleted,
    empty_m_negative, audit_tail_cut, audit_fake_anchor, seal_closed_forged_other_key,
    seal_closed_forged_device_key_file, device_key_damaged)}

__all__ = ["CASES", "hashlib"]
