"""The meter port with a meter on the 905.2 link: trips reach storage, receipts and the platform as
the internal meter's do; each record is stored once and acknowledged only after it is stored."""

import queue

import pytest

from drivers import meter_link_codec as ml
from drivers.event import Event
from drivers.peripheral_frame import DEVICE_METER, Frame, decode
from meter.tariff import Schedule, parse_tariff
from meter.trip import verify_record
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.link import payloads
from terminal.storage.database import Storage
from tests.meter.support import tariff_data

T0 = 1795140000000   # 2026-11-18 ... UTC


class FakeLink:
    def __init__(self):
        self.sent = []

    def send(self, frame):
        self.sent.append(frame)

    def query_tariff(self):
        self.sent.append(ml.meter_frame(ml.CMD_TARIFF_QUERY, ml.DOWN, {}))

    def set_clock(self):
        self.sent.append(Frame(DEVICE_METER, 0, ml.CMD_CLOCK, bytes(7)))


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t


def operation(trip_no, fare_jiao=235, distance_100m=52, extras_jiao=0):
    return {"plate": "AD1234", "licence": "L-1", "driver": "440100123456", "board": (2026, 11, 18, 9, 12),
            "alight": (9, 31), "distance_100m": distance_100m, "empty_100m": 31, "extras_jiao": extras_jiao,
            "waiting": (0, 3), "fare_jiao": fare_jiao, "trip_no": trip_no, "trade": 0, "card": b""}


@pytest.fixture
def car(tmp_path):
    clock = Clock()
    storage = Storage(tmp_path / "terminal.db", clock)
    config = config_mod.from_dict({"meter": {"kind": "link"}})
    link = FakeLink()
    term = Terminal(config, storage=storage, schedule=Schedule([parse_tariff(tariff_data())]),
                    events=queue.Queue(), clock=clock, devices=Devices(meter_link=link), software_id="0" * 64)
    term.start()
    yield term, link, storage, clock
    storage.close()


def frame_in(term, clock, command, values):
    clock.t += 1000
    term.handle(Event("meter_link", clock.t, {"command": command, "values": values}))


def test_a_trip_on_the_link_is_stored_reported_and_then_acknowledged(car):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_START, {"board": (2026, 11, 18, 9, 12, 0)})
    assert term.meter.state == "hired" and term.reporting.sign_state == "occupied"
    assert link.sent[-1] == ml.ack(ml.CMD_TRIP_START)
    sent_before = len(link.sent)
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1, extras_jiao=50))
    record = storage.trip(1)
    assert record is not None and verify_record(record)
    assert record["total_fen"] == 2350 + 500 and record["distance_m"] == 5200 and record["empty_m"] == 3100
    assert record["waiting_ms"] == 3 * 60000 and record["alight_ms"] - record["board_ms"] == 19 * 60000
    assert "link" in record["flags"]
    payloads.trip(seq=1, ts_ms=clock.t, record=record, board_pos=term.reporting.position(clock.t),
                  alight_pos=term.reporting.position(clock.t), track={"points": 0, "gnss_m": 0, "max_speed": 0,
                                                                      "polyline": []})
    assert link.sent[sent_before:] == [ml.ack(ml.CMD_TRIP_END), ml.meter_frame(ml.CMD_DEVICE_ID, ml.DOWN, {})]
    assert term.meter.state == "for_hire" and term.reporting.sign_state == "vacant"
    assert term.meter.totals.hirings == 1 and term.meter.totals.fares_fen == 2350


def test_a_record_heard_twice_is_stored_once_and_acknowledged_twice(car):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    queued = storage.query("SELECT COUNT(*) FROM outbox")[0][0]
    frame_in(term, clock, ml.CMD_RESEND, operation(1))      # the meter missed our acknowledgement
    assert storage.query("SELECT COUNT(*) FROM outbox")[0][0] == queued
    assert [f for f in link.sent if f.command in (ml.CMD_TRIP_END, ml.CMD_RESEND)] == [
        ml.ack(ml.CMD_TRIP_END), ml.ack(ml.CMD_RESEND)]
    assert len(storage.trips()) == 1 and term.meter.totals.hirings == 1


def test_a_gap_in_trip_numbers_asks_the_meter_to_resend(car):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    frame_in(term, clock, ml.CMD_TRIP_END, operation(4))
    asks = [ml.parse(f, ml.DOWN)[1]["trip_no"] for f in link.sent if f.command == ml.CMD_RESEND_REQUEST]
    assert asks == [2, 3]
    frame_in(term, clock, ml.CMD_RESEND, operation(2))
    assert [t["trip_no"] for t in storage.trips()] == [1, 2, 4]


def test_a_record_that_cannot_be_stored_is_not_acknowledged(car, monkeypatch):
    term, link, storage, clock = car
    from terminal.storage.database import StorageError

    def refuse(*a, **k):
        raise StorageError("disk full")
    monkeypatch.setattr(storage, "store_trip", refuse)
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    assert not [f for f in link.sent if f.command == ml.CMD_TRIP_END]
    monkeypatch.undo()
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))     # the meter sends it again
    assert storage.trip(1) is not None and link.sent[-2] == ml.ack(ml.CMD_TRIP_END)


def test_a_silent_meter_is_a_meter_fault_on_the_display_the_sign_and_alarm_bit_10(car):
    term, link, storage, clock = car
    term.handle(Event("meter_fault", clock.t, {"active": True, "reason": "no answer (3 attempts)"}))
    assert "meter_fault" in term.alarm_flags and payloads.ALARM_BITS["meter_fault"] == 10
    assert "no answer" in term.meter.view()["fault"]
    assert term.reporting.sign_state == "out_of_service"
    term.handle(Event("meter_fault", clock.t, {"active": False, "reason": "answering again"}))
    assert "meter_fault" not in term.alarm_flags and term.meter.fault is None
    assert term.reporting.sign_state == "vacant"
    assert {ml.CMD_TARIFF_QUERY, ml.CMD_CLOCK} <= {f.command for f in link.sent}


def test_the_mirror_survives_a_restart(car, tmp_path):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    frame_in(term, clock, ml.CMD_TRIP_START, {"board": (2026, 11, 18, 10, 0, 0)})
    term.metering.save(clock.t, force=True)
    again = Terminal(term.config, storage=storage, schedule=term.metering.schedule, events=queue.Queue(),
                     clock=clock, devices=Devices(meter_link=link), software_id="0" * 64)
    assert again.meter.state == "hired" and again.meter.last_trip_no == 1 and again.meter.totals.hirings == 1


def test_the_terminal_keys_do_not_run_a_fitted_meter(car):
    term, link, storage, clock = car
    assert term.metering.key(clock.t, "hire") is False
    assert term.meter.state == "for_hire"


def test_the_driver_acknowledges_nothing_but_the_heartbeat_by_itself():
    from drivers.meter_link import MeterLinkDriver
    from drivers.peripheral_frame import encode
    events = queue.Queue()
    driver = MeterLinkDriver("loop://", events, lambda: T0)
    written = []
    driver._port = type("P", (), {"write": lambda self, b: written.append(b)})()
    driver.received(encode(ml.meter_frame(ml.CMD_TRIP_END, ml.UP, operation(1))) + b"\x00\x55garbage"
                    + encode(ml.meter_frame(ml.CMD_HEARTBEAT, ml.UP, {"state": 1, "licence": "", "driver": ""})))
    kinds = []
    while not events.empty():
        kinds.append(events.get().data.get("command"))
    assert kinds == [ml.CMD_TRIP_END, ml.CMD_HEARTBEAT]
    assert [decode(w).command for w in written] == [ml.CMD_HEARTBEAT]
    assert driver.rejected >= 1


def test_gnss_motion_without_pulses_is_no_fault_when_the_meter_has_the_speed_sensor(car):
    from gps.fix import Fix
    term, link, storage, clock = car
    for i in range(300):      # the internal meter calls this a silent pulse line (a meter fault)
        clock.t += 1000
        term.handle(Event("pulses", clock.t, {"count": 0}))
        fix = Fix(time_ms=clock.t, lat=23.1 + i * 0.0001, lon=113.3, speed_mps=15.0, quality=1, mode=3, sats=8, hdop=1.0, valid=True)
        term.handle(Event("fix", clock.t, {"fix": fix}))
    assert "meter_fault" not in term.alarm_flags


def test_another_trip_under_a_stored_number_is_not_acknowledged_away(car):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    sent = len(link.sent)
    frame_in(term, clock, ml.CMD_RESEND, operation(1, fare_jiao=999))     # a reset meter counting again
    assert link.sent[sent:] == [] and storage.trip(1)["fare_fen"] == 2350


def test_an_on_call_passengers_trip_from_the_link_carries_the_order(car):
    from terminal.app.orders import IN_TRIP
    term, link, storage, clock = car
    term.orders.order, term.orders.state = {"order_id": "95128-7"}, IN_TRIP   # the passenger of the order boarded
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    assert storage.trip(1)["order_id"] == "95128-7" and verify_record(storage.trip(1))


def test_the_sign_says_meter_fault_until_the_meter_answers_even_when_a_record_arrives(car):
    term, link, storage, clock = car
    frame_in(term, clock, ml.CMD_TRIP_START, {"board": (2026, 11, 18, 9, 12, 0)})
    term.handle(Event("meter_fault", clock.t, {"active": True, "reason": "no answer (3 attempts)"}))
    assert term.reporting.sign_state == "out_of_service"
    frame_in(term, clock, ml.CMD_RESEND, operation(1))      # the meter, booting again, resends first
    assert storage.trip(1) is not None and term.reporting.sign_state == "out_of_service"
    term.handle(Event("meter_fault", clock.t, {"active": False, "reason": "answering again"}))
    assert term.reporting.sign_state == "vacant"
