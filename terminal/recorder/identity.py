"""What the recorder says about itself (recorder room): its parameters and the values of blocks 00H-07H.

The recorder's own parameters (GB/T 19056 setting commands 82H vehicle information, 83H
first installation time, 84H status signal configuration) live in ``rec_param`` (created
here, ``CREATE TABLE IF NOT EXISTS``): one row per name, the value as JSON, written when a
technician or the platform sets them (each change is audited by the caller). The live facts
(driver, K, total distance) come from the terminal (``facts``) or, for an export without a
running terminal, from the last batch the desk wrote (``rec_state``'s ``facts``).

``header_values(params, facts, now_ms)`` gives the values of the collection blocks 00H-07H
(terminal/recorder/header_blocks.py); what the terminal does not know is sent empty (zero
bytes), never invented: the CCC certification code and the production date.
"""

import json

from terminal.recorder.header_blocks import fit

STANDARD_YEAR = 12             # GB/T 19056-2012
AMENDMENT = 0                  # no amendment sheet
MODEL = "TAXITERM"
# this terminal's status byte (docs/recorder.md): D0 ignition, D1 occupied, D2 door, D7 brake
STATUS_NAMES = ("点火", "重车", "车门", "近光", "远光", "右转向", "左转向", "制动")
STATUS_SIGNALS = 0x03          # the signals the supported boards have: D0 ignition, D1 occupied
PARAM_NAMES = ("vin", "plate", "plate_class", "first_install_ms", "status_signals", "status_names")

SCHEMA = """CREATE TABLE IF NOT EXISTS rec_param (
               name  TEXT PRIMARY KEY,
               value TEXT NOT NULL)"""


def create_table(storage):
    with storage.transaction() as db:
        db.execute(SCHEMA)


def params(storage):
    """The recorder's parameters as set ({} where none was)."""
    create_table(storage)
    return {name: json.loads(value) for name, value in storage.query("SELECT name, value FROM rec_param")}


def set_params(storage, values):
    """Write parameters (names from PARAM_NAMES) in one transaction."""
    unknown = [name for name in values if name not in PARAM_NAMES]
    if unknown:
        raise ValueError("unknown recorder parameter(s): {}".format(", ".join(unknown)))
    create_table(storage)
    with storage.transaction() as db:
        db.executemany("INSERT OR REPLACE INTO rec_param (name, value) VALUES (?, ?)",
                       [(name, json.dumps(value, ensure_ascii=False)) for name, value in values.items()])


def first_provisioned_ms(storage):
    """When the terminal was provisioned (the audit trail's first ``provisioned`` record), or None."""
    if not storage.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_record'"):
        return None
    rows = storage.query("SELECT MIN(t_ms) FROM audit_record WHERE event = 'provisioned'")
    return rows[0][0] if rows and rows[0][0] is not None else None


def header_values(params, facts, now_ms):
    """{command word: values} for blocks 00H-07H.

    ``facts``: ``driver`` (qualification certificate or ""), ``k`` (pulses per km),
    ``total_m`` (distance since installation), ``plate`` (the configured plate),
    ``device_id``, ``first_install_ms`` (fallback: the provisioning time).
    """
    names = list(params.get("status_names") or STATUS_NAMES)[:8]
    names += [""] * (8 - len(names))
    total_01km = max(0, facts.get("total_m") or 0) // 100
    serial = "".join(ch for ch in (facts.get("device_id") or "") if ch.isascii() and ch.isalnum())[-4:]
    status = {"now": now_ms, "signals": params.get("status_signals", STATUS_SIGNALS) & 0xFF}
    status.update((f"d{i}", fit(name, 10)) for i, name in enumerate(names))
    return {
        0x00: {"year": STANDARD_YEAR, "amendment": AMENDMENT},
        0x01: {"licence": fit(facts.get("driver") or "", 18, "ascii")},
        0x02: {"now": now_ms},
        0x03: {"now": now_ms, "first_install": params.get("first_install_ms", facts.get("first_install_ms")),
               "initial_01km": 0, "total_01km": min(total_01km, 99_999_999)},
        0x04: {"now": now_ms, "k": min(max(0, facts.get("k") or 0), 0xFFFF)},
        0x05: {"vin": fit(params.get("vin", ""), 17, "ascii"), "plate": fit(params.get("plate", facts.get("plate", "")), 12),
               "plate_class": fit(params.get("plate_class", ""), 12)},
        0x06: status,
        0x07: {"ccc": "", "model": MODEL, "production_date": None, "serial": serial, "reserved": b""},
    }
