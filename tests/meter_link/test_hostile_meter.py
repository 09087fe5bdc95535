"""A faulty or tampered meter on the 905.2 link, against the terminal: legal data is never changed
by what the meter says, a conflicting or impossible record is a meter fault (alarm bit 10) on the
display and the sign, audited once however often the meter repeats it, and the next good record
clears it."""

import queue

import pytest

from drivers import meter_link_codec as ml
from meter.tariff import Schedule, parse_tariff
from terminal.app import config as config_mod
from terminal.app.loop import Devices, Terminal
from terminal.storage.database import Storage
from tests.meter.support import tariff_data
from tests.meter_link.test_meter_port import T0, Clock, FakeLink, frame_in, operation

TARIFF = {"valid_from": (2026, 1, 1, 0), "return_day_fen": 0, "return_night_fen": 0, "oneway_day_fen": 260,
          "oneway_night_fen": 300, "empty_back_day_fen": 0, "empty_back_night_fen": 0, "start_day_fen": 1300,
          "start_night_fen": 1500, "step_10m": 100, "start_10m": 300, "oneway_10m": 0, "empty_back_10m": 0,
          "wait_day_fen": 50, "wait_night_fen": 60, "free_wait": (0, 0), "wait_unit": (5, 0),
          "night_start": (23, 0), "night_end": (5, 0), "reserved": bytes(22), "vendor_area": b""}


STATUS = {"vendor_id": 0, "device_type": 2, "serial": b"\x00\x00\x01", "hw_version": 1, "sw_major": 1,
          "sw_minor": 0, "device_state": 0, "work_state": 0, "plate": "AD1234", "licence": "L-1",
          "driver": "D-1", "trips": 0}


def build(tmp_path, clock, link, storage=None):
    storage = storage or Storage(tmp_path / "terminal.db", clock)
    config = config_mod.from_dict({"meter": {"kind": "link"}})
    term = Terminal(config, storage=storage, schedule=Schedule([parse_tariff(tariff_data())]),
                    events=queue.Queue(), clock=clock, devices=Devices(meter_link=link), software_id="0" * 64)
    audits = []
    term.audit_event = lambda event, p, old, new, actor="terminal": audits.append((event, p, old, new))
    term.start()
    return term, storage, audits


@pytest.fixture
def car(tmp_path):
    clock = Clock()
    clock.t = T0 + 40 * 60000        # 2026-11-20 10:40 in Beijing; the test trips ran on 2026-11-18
    link = FakeLink()
    term, storage, audits = build(tmp_path, clock, link)
    frame_in(term, clock, ml.CMD_STATUS, STATUS)            # the meter answers: no start-up fault
    yield term, link, storage, clock, audits
    storage.close()


def acks(link, command):
    return [ml.parse(f, ml.DOWN)[1]["result"] for f in link.sent if f.command == command]


def faulted(term):
    return (term.meter.fault is not None and "meter_fault" in term.alarm_flags
            and term.reporting.sign_state == "out_of_service")


def test_a_stored_trip_number_with_another_amount_is_a_meter_fault_audited_once(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    before = storage.trip(1)
    for _ in range(5):                                     # the meter insists
        frame_in(term, clock, ml.CMD_RESEND, operation(1, fare_jiao=999))
    assert storage.trip(1) == before and len(storage.trips()) == 1
    assert [a[0] for a in audits].count("meter_record_conflict") == 1
    assert faulted(term) and "1" in term.meter.view()["fault"]
    frame_in(term, clock, ml.CMD_TRIP_END, operation(2))    # the next good record clears it
    assert storage.trip(2) is not None and term.meter.fault is None
    assert term.reporting.sign_state == "vacant" and "meter_fault" not in term.alarm_flags


@pytest.mark.parametrize("change, why", [
    ({"board": (2026, 11, 20, 10, 20), "alight": (11, 30)}, "future"),         # alights after now
    ({"board": (2023, 11, 18, 9, 12)}, "past"),                                # three years ago
    ({"board": (2026, 11, 20, 10, 12), "alight": (10, 5)}, "future"),   # alight before board: tomorrow
    ({"board": (2026, 11, 18, 10, 12), "alight": (10, 5)}, "12 h"),     # ... or a day-long trip
    ({"fare_jiao": 999999}, "tariff"),                     # 99999.9 yuan for 5.2 km
    ({"waiting": (1, 30)}, "waiting"),                     # 90 min waiting in a 19 min trip
    ({"distance_100m": 9999}, "speed"),                    # 999.9 km in 19 minutes
])
def test_an_impossible_record_is_refused_as_a_meter_fault_and_stores_nothing(car, change, why):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TARIFF_QUERY, TARIFF)
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    values = dict(operation(2), **change)
    for _ in range(3):
        frame_in(term, clock, ml.CMD_TRIP_END, values)
    assert storage.trip(2) is None and len(storage.trips()) == 1 and term.meter.totals.hirings == 1
    assert acks(link, ml.CMD_TRIP_END) == [ml.RESULT_OK] + [ml.RESULT_FAIL] * 3
    assert [a[0] for a in audits].count("meter_record_refused") == 1
    assert faulted(term) and why in term.meter.view()["fault"]
    frame_in(term, clock, ml.CMD_TRIP_END, operation(2))
    assert storage.trip(2) is not None and term.meter.fault is None


def test_a_record_replayed_after_a_terminal_restart_is_stored_once_and_acknowledged_again(car, tmp_path):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    term2, _, _ = build(tmp_path, clock, link, storage=storage)     # power cut; the meter replays
    for command in (ml.CMD_RESEND, ml.CMD_TRIP_END):
        frame_in(term2, clock, command, operation(1))
    assert len(storage.trips()) == 1 and "meter_record_conflict" not in [a[0] for a in audits]
    assert acks(link, ml.CMD_TRIP_END) == [ml.RESULT_OK, ml.RESULT_OK] and acks(link, ml.CMD_RESEND) == [ml.RESULT_OK]


def test_a_record_the_meter_cannot_resend_is_a_meter_fault(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    frame_in(term, clock, ml.CMD_TRIP_END, operation(3))
    assert [ml.parse(f, ml.DOWN)[1]["trip_no"] for f in link.sent if f.command == ml.CMD_RESEND_REQUEST] == [2]
    for _ in range(3):
        frame_in(term, clock, ml.CMD_RESEND_REQUEST, {"trip_no": 2, "result": ml.RESULT_FAIL})
    assert [a[0] for a in audits].count("meter_record_lost") == 1
    assert faulted(term) and "2" in term.meter.view()["fault"]


def test_a_tariff_that_changes_under_the_terminal_is_audited_once_and_shown(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TARIFF_QUERY, TARIFF)
    assert [a[0] for a in audits].count("meter_tariff_changed") == 0
    changed = dict(TARIFF, oneway_day_fen=520)                          # same valid-from, new price
    for _ in range(3):
        frame_in(term, clock, ml.CMD_TARIFF_QUERY, changed)
    assert [a[0] for a in audits].count("meter_tariff_changed") == 1
    assert term.cabin.notice and "tariff" in term.cabin.notice[0]


def test_a_heartbeat_saying_hired_moves_the_mirror_and_the_sign_follows_the_meter(car):
    term, link, storage, clock, audits = car
    assert term.reporting.sign_state == "vacant"
    frame_in(term, clock, ml.CMD_HEARTBEAT, {"state": ml.STATE_HIRED, "licence": "L-1", "driver": "D-1"})
    assert term.meter.state == "hired" and term.reporting.sign_state == "occupied"
    assert storage.trips() == []                                        # nothing legal changes


def test_a_device_id_claiming_a_far_trip_number_asks_a_bounded_number_of_resends(car, monkeypatch):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    looked_up = []
    real = storage.trip
    monkeypatch.setattr(storage, "trip", lambda n: looked_up.append(n) or real(n))
    frame_in(term, clock, ml.CMD_DEVICE_ID, {"software_id": bytes(32), "log_head": bytes(32), "log_seq": 1,
                                             "trip_no": 200_000})     # one frame must not stall the loop
    asks = [f for f in link.sent if f.command == ml.CMD_RESEND_REQUEST]
    assert len(asks) <= 16 and len(looked_up) <= 64


def test_a_record_far_past_the_last_trip_number_asks_a_bounded_number_of_resends(car):
    import tracemalloc
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    tracemalloc.start()
    asks = term.meter.missing_before(3_000_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert asks == list(range(2, 18)) and peak < 1_000_000     # not a list of every number in between


def test_a_missing_record_the_meter_never_sends_again_is_a_meter_fault(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_TRIP_END, operation(1))
    frame_in(term, clock, ml.CMD_TRIP_END, operation(3))          # 2 is missing: asked for
    for _ in range(3):
        clock.t += 30000
        frame_in(term, clock, ml.CMD_STATUS, STATUS)              # the meter answers, but never with 2
    assert faulted(term) and "2" in term.meter.view()["fault"]
    assert [a[0] for a in audits].count("meter_record_lost") == 1
    frame_in(term, clock, ml.CMD_RESEND, operation(2))            # it comes after all: stored, fault over
    assert storage.trip(2) is not None and term.meter.fault is None


def shift(total_100m, hired_100m, k=6000):
    return {"licence": "L-1", "driver": "D-1", "plate": "AD1234", "k": k, "on_at": (2026, 11, 20, 6, 0),
            "off_at": (2026, 11, 20, 10, 0), "shift_100m": 100, "shift_hired_100m": 50, "shift_trips": 1,
            "shift_waiting": 0, "shift_fares_jiao": 235, "card_jiao": 0, "card_trips": 0,
            "between_shifts_100m": 0, "total_100m": total_100m, "total_hired_100m": hired_100m,
            "price_fen": 260, "trips": 1, "off_mode": 0}


def test_a_totaliser_going_backwards_is_a_meter_fault_audited_once(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_POWER_OFF_DONE, shift(50000, 20000))
    assert term.meter.fault is None
    for _ in range(3):
        frame_in(term, clock, ml.CMD_RESEND_AT_OFF, shift(40000, 20000))    # 1000 km fewer
    assert faulted(term) and "totaliser" in term.meter.view()["fault"]
    assert [a[0] for a in audits].count("meter_totaliser_backwards") == 1


def test_a_k_that_changes_is_audited_once_and_shown(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_POWER_OFF_DONE, shift(50000, 20000, k=6000))
    for _ in range(3):
        frame_in(term, clock, ml.CMD_RESEND_AT_OFF, shift(50100, 20000, k=5400))
    assert [a[0] for a in audits].count("meter_k_changed") == 1
    assert term.cabin.notice and "K" in term.cabin.notice[0]


def test_a_status_answer_claiming_hired_while_vacant_changes_neither_mirror_nor_sign(car):
    term, link, storage, clock, audits = car
    frame_in(term, clock, ml.CMD_STATUS, dict(STATUS, work_state=1))
    assert term.meter.state == "for_hire" and term.reporting.sign_state == "vacant"
    assert term.meter.status["work_state"] == 1 and storage.trips() == []      # kept for diagnostics only
