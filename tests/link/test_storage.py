"""Storage: trips with their totalisers, idempotent on trip_no; shifts; receipt queue; schema."""

import hashlib
import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terminal.storage.database import SCHEMA_VERSION, Storage, StorageError


def trip(no: int, fare: int = 1300, **extra) -> dict:
    record = {"trip_no": no, "order_id": "0", "fare_fen": fare, "total_fen": fare, "flags": [], **extra}
    body = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return {**record, "digest": hashlib.sha256(body).hexdigest()}


@pytest.fixture
def storage(tmp_path):
    with Storage(tmp_path / "terminal.db", clock=lambda: 1_795_000_000_000) as s:
        yield s


def test_trip_and_totalisers_are_stored_together(storage):
    record = trip(1, extras=[{"label": "燃油附加费", "amount_fen": 100}])
    assert storage.store_trip(record, {"hirings": 1, "fares_fen": 1300}) is True
    assert storage.trips() == [record]
    assert storage.totalisers() == {"hirings": 1, "fares_fen": 1300}
    # Stored exactly as emitted: key order and the Chinese label survive.
    stored_text = storage.query("SELECT record FROM trips")[0][0]
    assert list(json.loads(stored_text)) == list(record)
    assert "燃油附加费" in stored_text


def test_a_replayed_trip_is_detected_and_changes_nothing(storage):
    assert storage.store_trip(trip(1), {"hirings": 1})
    assert storage.store_trip(trip(1), {"hirings": 2}) is False
    assert storage.totalisers() == {"hirings": 1}
    assert len(storage.trips()) == 1


def test_a_different_record_under_a_stored_trip_no_is_refused(storage):
    storage.store_trip(trip(1, fare=1300), {"hirings": 1})
    with pytest.raises(StorageError, match="different digest"):
        storage.store_trip(trip(1, fare=9900), {"hirings": 1, "fares_fen": 9900})
    assert storage.trips()[0]["fare_fen"] == 1300
    assert storage.totalisers() == {"hirings": 1}


@pytest.mark.parametrize(
    "record, totalisers, message",
    [
        ({"trip_no": 0, "digest": "a" * 64}, {"hirings": 1}, "trip_no must be >= 1"),
        ({"trip_no": "3", "digest": "a" * 64}, {"hirings": 1}, "trip_no must be an integer"),
        ({"trip_no": 3, "digest": "A" * 64}, {"hirings": 1}, "digest"),
        ({"trip_no": 3}, {"hirings": 1}, "digest"),
        ({"trip_no": 3, "digest": "a" * 64}, {}, "totalisers"),
        ({"trip_no": 3, "digest": "a" * 64}, {"hirings": -1}, "totaliser hirings"),
        ({"trip_no": 3, "digest": "a" * 64}, {"hirings": 1.5}, "totaliser hirings"),
        ({"trip_no": 3, "digest": "a" * 64, "x": float("nan")}, {"hirings": 1}, "not plain JSON"),
    ],
)
def test_bad_trips_are_refused_and_nothing_is_written(storage, record, totalisers, message):
    with pytest.raises(StorageError, match=message):
        storage.store_trip(record, totalisers)
    assert storage.trips() == [] and storage.totalisers() is None


def test_a_failure_inside_a_shared_transaction_undoes_the_trip_and_its_totalisers(storage):
    storage.store_trip(trip(1), {"hirings": 1})
    with pytest.raises(StorageError):
        with storage.transaction():
            storage.store_trip(trip(2), {"hirings": 2})
            storage.receipt_queue.add({"receipt": 2}, trip_no=2)
            storage.receipt_queue.add({"receipt": "x"}, trip_no=99)  # no such trip: refused
    assert [t["trip_no"] for t in storage.trips()] == [1]
    assert storage.totalisers() == {"hirings": 1}
    assert len(storage.receipt_queue) == 0


def test_trips_last_n_gives_the_newest_in_order(storage):
    for no in range(1, 8):
        storage.store_trip(trip(no), {"hirings": no})
    assert [t["trip_no"] for t in storage.trips(last=3)] == [5, 6, 7]
    assert storage.trip(4)["trip_no"] == 4 and storage.trip(40) is None


def test_meter_state_snapshot_round_trips(storage):
    assert storage.load_meter_state() is None
    storage.save_meter_state(b"\x00hired\xff")
    storage.save_meter_state(b"\x01stopped")
    assert storage.load_meter_state() == b"\x01stopped"
    with pytest.raises(StorageError):
        storage.save_meter_state(b"")
    assert storage.load_meter_state() == b"\x01stopped"


def test_one_shift_at_a_time(storage):
    shift_id = storage.sign_in("440100123456", 1000, {"plate": "粤A12345"})
    assert storage.open_shift()["driver_cert"] == "440100123456"
    with pytest.raises(StorageError, match="still open"):
        storage.sign_in("440100999999", 2000)
    with pytest.raises(StorageError, match="before the sign-in"):
        storage.sign_out(500)
    closed = storage.sign_out(9000, {"trips": 3, "fares_fen": 9300})
    assert closed["shift_id"] == shift_id and closed["sign_out"] == {"trips": 3, "fares_fen": 9300}
    assert storage.open_shift() is None
    with pytest.raises(StorageError, match="no shift is open"):
        storage.sign_out(9500)
    storage.sign_in("440100999999", 10000)
    assert [s["driver_cert"] for s in storage.shifts()] == ["440100123456", "440100999999"]
    assert [s["driver_cert"] for s in storage.shifts(last=1)] == ["440100999999"]
    with pytest.raises(StorageError, match="certificate"):
        storage.sign_in("  ", 1)


def test_receipt_queue_is_first_in_first_out_until_removed(storage):
    storage.store_trip(trip(1), {"hirings": 1})
    first = storage.receipt_queue.add({"label": "receipt 1"}, trip_no=1)
    second = storage.receipt_queue.add({"label": "shift report"})
    assert storage.receipt_queue.peek() == (first, {"label": "receipt 1"})
    assert storage.receipt_queue.peek() == (first, {"label": "receipt 1"})  # peek leaves it
    assert storage.receipt_queue.remove(first) is True
    assert storage.receipt_queue.remove(first) is False
    assert storage.receipt_queue.peek() == (second, {"label": "shift report"})
    assert len(storage.receipt_queue) == 1


def test_everything_survives_reopening(tmp_path):
    path = tmp_path / "t.db"
    with Storage(path) as s:
        s.store_trip(trip(1), {"hirings": 1})
        s.sign_in("C1", 5)
        s.next_counter("audit.seq")
    with Storage(path) as s:
        assert s.trips() == [trip(1)] and s.open_shift()["driver_cert"] == "C1"
        assert s.next_counter("audit.seq") == 2
        assert s.schema_version() == SCHEMA_VERSION
        assert s.query("PRAGMA journal_mode")[0][0] == "wal"


def test_a_database_from_newer_software_is_refused_untouched(tmp_path):
    path = tmp_path / "t.db"
    with Storage(path) as s:
        s.store_trip(trip(1), {"hirings": 1})
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="newer than this software"):
        Storage(path)
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM trips").fetchone() == (1,)
    db.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 12), st.integers(0, 2)), max_size=30))
def test_whatever_order_trips_arrive_in_each_is_stored_once(tmp_path_factory, arrivals):
    path = tmp_path_factory.mktemp("prop") / "t.db"
    with Storage(path) as s:
        first: dict[int, dict] = {}
        for no, variant in arrivals:
            record = trip(no, fare=1300 + 100 * variant)
            if no not in first:
                assert s.store_trip(record, {"hirings": no}) is True
                first[no] = record
            elif record == first[no]:
                assert s.store_trip(record, {"hirings": no}) is False
            else:
                with pytest.raises(StorageError):
                    s.store_trip(record, {"hirings": no})
        assert s.trips() == [first[no] for no in sorted(first)]
