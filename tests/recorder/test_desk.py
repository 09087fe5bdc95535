"""The recorder desk in the loop: events in, records flushed in batches, fatigue alarms raised, the platform's query."""

from types import SimpleNamespace

from drivers.event import Event
from gps.fix import Fix
from terminal.app.recorder import Recorder
from terminal.link import payloads, schemas
from terminal.link.downlink import parse
from terminal.recorder import store
from terminal.recorder.store import FLUSH_MS
from terminal.storage.database import Storage

T0 = 1_795_000_020_000


class Reporting:
    def __init__(self):
        self.flags = set()
        self.raised = []

    def flag(self, name, active, now):
        (self.flags.add if active else self.flags.discard)(name)
        self.raised.append((name, active))


def make_term(tmp_path, **recorder):
    meter = SimpleNamespace(powered=True, state="hired", shift_info=None, odometer=SimpleNamespace(k=1000))
    return SimpleNamespace(config={"recorder": {"continuous_s": 600, "rest_s": 60, "daily_s": 3600, **recorder}},
                           storage=Storage(tmp_path / "t.db"), clock=lambda: T0, meter=meter, reporting=Reporting(),
                           platform=SimpleNamespace(params={}), daybook=SimpleNamespace(utc_offset_min=480))


def drive(rec, start, seconds, kmh, count=0):
    """10 m/s per 36 km/h, pulses at 5 Hz, a fix every second; returns (end, count)."""
    t = start
    for _ in range(seconds * 5):
        t += 200
        count += kmh * 1000 // 3600 // 5 if kmh else 0
        rec.on_event(Event("pulses", t, {"count": count}))
        if t % 1000 == 0:
            rec.on_event(Event("fix", t, {"fix": Fix(t, 22.543096, 114.057865 + count * 1e-6, 10.0, kmh / 3.6, 0.0,
                                                     1, 3, valid=True)}))
        rec.periodic(t)
    return t, count


def test_seconds_reach_the_database_in_batches(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    t, _ = drive(rec, T0, 5, 36)
    assert term.storage.query("SELECT COUNT(*) FROM rec_speed")[0][0] == 0      # not a commit per second
    t, _ = drive(rec, t, FLUSH_MS // 1000, 36)
    [(minute, data)] = store.speed_minutes(term.storage, T0, t)
    secs = store.seconds(data)
    assert [s for s, _, _ in secs[1:10]] == [360] * 9      # flushed at T0 + 10 s
    assert [s for s, _, _ in secs[10:]] == [0xFFFF] * 50    # the open batch is still in memory
    assert store.seconds(data)[5][1] == 0x03        # ignition and occupied


def test_sign_in_out_and_power_are_recorded_at_once(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    term.meter.shift_info = {"driver": "440100123456", "start_ms": T0}
    rec.on_event(Event("key", T0 + 100, {"key": "sign"}))
    term.meter.shift_info = None
    rec.on_event(Event("key", T0 + 200, {"key": "sign"}))
    rec.on_event(Event("power", T0 + 300, {"on": False}))
    assert [b["event"] for b in store.events(term.storage, "driver", 0, T0 + 1000)] == ["sign_in", "sign_out"]
    assert store.events(term.storage, "power", 0, T0 + 1000) == [{"t_ms": T0 + 300, "on": False}]


def test_continuous_driving_raises_and_clears_the_905_alarm(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    t, count = drive(rec, T0, 602, 36)
    assert ("continuous_driving", True) in term.reporting.raised
    assert payloads.alarm_bits(term.reporting.flags) == 1 << 17
    t, count = drive(rec, t, 62, 0, count)
    assert term.reporting.raised[-1] == ("continuous_driving", False)
    [overtime] = store.events(term.storage, "overtime", 0, t)
    assert overtime["driven_ms"] > 600_000


def test_over_the_platforms_limit(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    term.platform.params.update({"speed_limit_kmh": 60, "overspeed_s": 5})
    t, count = drive(rec, T0, 10, 72)
    assert rec.over_limit()
    t, count = drive(rec, t, 3, 36, count)
    assert not rec.over_limit()
    [record] = store.events(term.storage, "overspeed", 0, t)
    assert record["limit_kmh"] == 60 and record["top_01kmh"] == 720


def test_the_platforms_query_answers_on_up_record(tmp_path):
    term = make_term(tmp_path)
    rec = Recorder(term)
    t, _ = drive(rec, T0, 130, 36)
    cmd = parse("taxi/T1/down/record_query", {"cmd_id": "q1", "what": "position", "from": T0, "to": t},
                prefix="taxi", terminal_id="T1")
    effects = rec.query(cmd, t)
    (_, kind, body), (_, ack_kind, ack) = effects
    assert kind == "record" and ack_kind == "ack" and ack["result"] == 0
    assert [r["t"] for r in body["records"]] == [T0, T0 + 60_000]
    message = {"type": "record", "seq": 1, "ts": t, "resent": False, **body}
    assert schemas.errors("up_record", message) == []


def test_a_malformed_query_is_refused_by_the_front_door():
    refusal = parse("taxi/T1/down/record_query", {"cmd_id": "q2", "what": "everything", "from": 0, "to": 1},
                    prefix="taxi", terminal_id="T1")
    assert refusal.ack["result"] == payloads.RESULT_MALFORMED
