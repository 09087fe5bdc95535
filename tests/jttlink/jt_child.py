"""A terminal with an MQTT-less outbox and one JT/T link, closing trips and reporting positions
until it is killed (SIGKILL) or has stored ``COUNT`` messages and seen them all acknowledged.

Run as ``python -m tests.jttlink.jt_child DB PROTOCOL PORT AUTH_FILE COUNT``. After each
commit it prints ``seq N`` so the parent knows what is durable; ``drained`` when the JT/T
link has everything acknowledged. Location n carries latitude ``LAT0 + 10 * n`` so the
platform's record names the stored message it came from; trip n is trip_no n.
"""

import queue
import sys
import threading
import time

from terminal.link.jtt_link import tcp_link
from terminal.link.jtt_link.links import LinkOutbox
from terminal.link.link_loop import run_link_loop
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage

LAT0 = 22_000_000


def location(n: int) -> dict:
    return {"alarm": 0, "status": 2, "latitude": LAT0 + 10 * n, "longitude": 114_000_000, "altitude": 10,
            "speed": 300, "direction": 90, "time": "261129080000", "south": False, "west": False,
            "extra": {"mileage": n, "operating": "hired", "order_id": "0", "overspeed": False}}


def trip(no: int) -> dict:
    place = {"latitude": LAT0, "longitude": 114_000_000, "south": False, "west": False, "time": "261129080000"}
    record = {"trip_no": no, "order_id": "0", "board_ms": 1_795_000_000_000, "alight_ms": 1_795_000_600_000,
              "distance_m": 5000 + no, "empty_m": 1000, "waiting_ms": 120_000, "extras_fen": 0,
              "fare_fen": 1300 + 10 * no, "total_fen": 1300 + 10 * no}
    return {"record": record, "board": place, "alight": place, "track": {}, "discount_fen": 0}


def main(path: str, protocol: str, port: str, auth_file: str, count: str) -> None:
    storage = Storage(path)
    events: queue.Queue = queue.Queue()
    cfg = tcp_link.link_config(protocol, {"port": int(port), "auth_file": auth_file, "reconnect_min_s": 0.02,
                                          "reconnect_max_s": 0.1}, {"id": "T0001"})
    link = tcp_link.JttLink(protocol, protocol, cfg, events, tcp_link.wall_ms)
    outbox = Outbox(storage)
    view = LinkOutbox(storage, link, link=protocol, window=200)
    outbox.add_links([view], own=None)
    stop = threading.Event()
    threading.Thread(target=run_link_loop, args=(outbox, events, stop), daemon=True).start()
    link.start()
    print("ready", flush=True)
    while outbox.last_seq() < int(count):
        n = outbox.last_seq() + 1
        if n % 10 == 0:
            no = n // 10
            seq = outbox.enqueue("taxi/T0001/up/trip", lambda s, no=no: dict(trip(no), type="trip", seq=s,
                                                                                 ts=1, resent=False), "trip")
        else:
            seq = outbox.enqueue("taxi/T0001/up/location", location(n), "location")
        print(f"seq {seq}", flush=True)
        time.sleep(0.001)
    while view.pending():
        time.sleep(0.01)
    print("drained", flush=True)
    time.sleep(30)


if __name__ == "__main__":
    main(*sys.argv[1:6])
