"""A terminal that only closes trips, as fast as it can, until it is killed (SIGKILL).

Run as ``python -m tests.link.crash_child DB``. Each step is what the terminal's loop does
when a trip closes: one transaction stores the trip, its totalisers, the meter snapshot,
the receipt job and the trip uplink; then location reports, a printed receipt removed,
acknowledged uplinks deleted. After each commit it prints what is now durable, so the
parent can check that nothing reported is ever lost.
"""

import hashlib
import json
import sys

from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

CAPACITY = 40


def digest_of(record: dict) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class AckingPublisher:
    """Stands in for the broker: every publish is acknowledged before publish() returns."""

    def __init__(self) -> None:
        self.outbox = None
        self.mid = 0

    def publish(self, topic: str, payload: bytes) -> int:
        self.mid += 1
        self.outbox.on_puback(self.mid)
        return self.mid


def main(path: str) -> None:
    storage = Storage(path)
    publisher = AckingPublisher()
    outbox = Outbox(storage, publisher, capacity=CAPACITY, window=5)
    publisher.outbox = outbox
    print("ready", flush=True)
    while True:
        totals = storage.totalisers() or {"hirings": 0, "fares_fen": 0}
        no = totals["hirings"] + 1
        record = {"trip_no": no, "fare_fen": 1300 + no, "order_id": "0"}
        record["digest"] = digest_of(record)
        with storage.transaction():
            storage.store_trip(record, {"hirings": no, "fares_fen": totals["fares_fen"] + record["fare_fen"]})
            storage.save_meter_state(f"after {no}".encode())
            storage.receipt_queue.add({"trip_no": no}, trip_no=no)
            seq = outbox.enqueue("taxi/T1/up/trip", {"trip_no": no}, "trip")
        print(f"trip {no} seq {seq}", flush=True)
        for _ in range(3):
            seq = outbox.enqueue("taxi/T1/up/location", {"speed": no}, "location")
            print(f"seq {seq}", flush=True)
        job = storage.receipt_queue.peek()
        if job is not None and no % 2 == 0:
            storage.receipt_queue.remove(job[0])
        if no % 4 == 0:
            outbox.on_link_up()
            outbox.pump()  # publishes up to the window; acks arrive at once
            outbox.pump()  # deletes what was acknowledged
            outbox.on_link_down()


if __name__ == "__main__":
    main(sys.argv[1])
