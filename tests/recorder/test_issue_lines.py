"""The issue's remaining lines, each checked: external power on/off across a terminal that was off,
parameter changes read from the audit trail (not copied), and the documented retention."""

import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.event import Event
from terminal.app.recorder import Recorder
from terminal.recorder import export, ring, store
from terminal.trust.audit import AuditTrail
from tests.recorder.test_desk import T0, drive, make_term


def test_a_terminal_that_was_off_leaves_power_off_and_on_records(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    t, _ = drive(rec, T0, 12, 36)
    rec.flush(t)                                   # the last batch before the supply was cut
    term.clock = lambda: t + 600_000               # ten minutes later the terminal starts again
    Recorder(term)
    powers = store.events(term.storage, "power", 0, t + 600_000)
    assert [(p["t_ms"], p["on"]) for p in powers] == [(t, False), (t + 600_000, True)]
    # a supply that was switched off before (and recorded) is not recorded off twice
    rec = Recorder(term)
    rec.on_event(Event("power", t + 600_500, {"on": False}))
    term.meter.powered = False
    term.clock = lambda: t + 900_000
    Recorder(term)
    powers = store.events(term.storage, "power", 0, t + 900_000)
    assert [p["on"] for p in powers][-2:] == [True, False]


def test_parameter_changes_are_read_from_the_audit_trail_not_copied(tmp_path):
    term = make_term(tmp_path)
    Recorder(term)
    db = sqlite3.connect(str(tmp_path / "t.db"), isolation_level=None)
    audit = AuditTrail(db, Ed25519PrivateKey.generate(), "sid", lambda: T0 + 5000, capacity=100)
    audit.append("k_applied", "k", 1000, 1020, actor="seal_switch")
    audit.append("parameter", "report_vacant_s", 30, 15, actor="platform")
    lines = list(export.records(term.storage, "parameter", T0, T0 + 10_000))
    assert [(p["event"], p["parameter"], p["old"], p["new"], p["counter"]) for p in lines] == \
        [("k_applied", "k", "1000", "1020", 1), ("parameter", "report_vacant_s", "30", "15", 2)]
    tables = [name for (name,) in term.storage.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in (t for t in tables if t.startswith("rec_")):
        assert not any("report_vacant_s" in str(row) for row in term.storage.query(f"SELECT * FROM {table}"))


def test_the_documented_retention():
    # docs/recorder.md: at least 48 h of seconds, 360 h of positions, the stops the standard asks for
    assert ring.SPEED_MINUTES * 60_000 >= 48 * 3600_000
    assert ring.POSITION_MINUTES * 60_000 >= 360 * 3600_000
    assert ring.EVENT_CAPACITY == {"stop": 100, "overtime": 100, "overspeed": 100, "driver": 200, "power": 100,
                                   "speed_status": 10}
