"""The passenger's evaluation of the service (application room): asked at settling, kept per trip.

When a trip reaches settling the loop asks the service evaluator (drivers/evaluator.py) for the
passenger's rating; the rating that comes back is stored in this desk's own table, once per trip
(a repeat changes nothing), and the trip report carries it (``evaluation`` in up/trip,
docs/mqtt.md) when it arrived before the trip closed — "0 no evaluation" is then not sent, the
field is just absent.

With a meter on the 905.2 link the settling is on the meter and the terminal first hears of it
when the trip's record arrives. The record is then *held*: the passenger is asked (bus evaluator)
or the meter's own relayed rating (0x00F5) is awaited, and the record is stored — with the
rating — when the rating comes or the evaluator's timeout has passed. While held the record is
not acknowledged, so the meter keeps it and sends it again: a power cut loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("taxiterm")

DEFAULT_TIMEOUT_S = 30      # a meter that relays ratings: how long its passenger may take
ASKED_KEPT = 16             # trip numbers asked about that a rating may still answer

_TABLE = """CREATE TABLE IF NOT EXISTS trip_evaluations (
    trip_no INTEGER PRIMARY KEY, evaluation_id INTEGER NOT NULL, rating INTEGER NOT NULL,
    extended INTEGER NOT NULL, stored_ms INTEGER NOT NULL)"""


class EvaluationDesk:
    def __init__(self, term) -> None:
        self.term = term
        self.storage = term.storage
        self.held: dict[int, tuple[int, Callable[[int], None]]] = {}   # trip_no -> (deadline, resume)
        self.asked: list[int] = []      # trips the passenger was asked to rate, newest last (bounded)
        self.refused = 0                # ratings of trips nobody asked about
        with self.storage.transaction() as db:
            db.execute(_TABLE)

    def on_state(self, state: str, trip_no: int | None) -> None:
        if state == "settling" and trip_no is not None:
            self._ask(trip_no)

    def _ask(self, trip_no: int) -> None:
        evaluator = getattr(self.term.devices, "evaluator", None)
        if evaluator is None:
            return
        self.asked = ([n for n in self.asked if n != trip_no] + [trip_no])[-ASKED_KEPT:]
        try:
            evaluator.ask(trip_no)
        except Exception as exc:  # noqa: BLE001 - a broken evaluator never stops metering
            log.warning("service evaluator not asked: %s", exc)

    def hold(self, trip_no: int, now: int, resume: Callable[[int], None], meter_rates: bool) -> bool:
        """A link meter's record of ``trip_no`` arrived: True while it should wait for the rating.

        ``resume(now)`` handles the record again once the rating is stored; a record heard again
        after the deadline goes on without one."""
        if self.for_trip(trip_no) is not None:
            self.held.pop(trip_no, None)
            return False
        evaluator = getattr(self.term.devices, "evaluator", None)
        if evaluator is None and not meter_rates:
            return False
        held = self.held.get(trip_no)
        if held is None:
            timeout_s = getattr(evaluator, "timeout_s", DEFAULT_TIMEOUT_S) if evaluator else DEFAULT_TIMEOUT_S
            self.held[trip_no] = (now + timeout_s * 1000, resume)
            self._ask(trip_no)
            return True
        if now < held[0]:
            self.held[trip_no] = (held[0], resume)     # answer the frame heard last (0x00E8 or 0x00F2)
            return True
        del self.held[trip_no]
        log.info("no rating for trip %s within the evaluator's time; it is reported without one", trip_no)
        return False

    def on_rating(self, now: int, values: dict) -> None:
        """A rating from the bus evaluator: only of a trip the passenger was asked about (a rating
        stored ahead for a trip number not yet driven would ride on that trip's report)."""
        if values["trip_no"] not in self.asked and values["trip_no"] not in self.held:
            self.refused += 1
            log.warning("a rating of trip %s, which the evaluator was not asked about, is ignored", values["trip_no"])
            return
        self.store(now, values)
        held = self.held.pop(values["trip_no"], None)
        if held is not None:
            held[1](now)

    def store(self, now: int, values: dict) -> None:
        with self.storage.transaction() as db:
            db.execute("INSERT OR IGNORE INTO trip_evaluations VALUES (?, ?, ?, ?, ?)",
                       (values["trip_no"], values["evaluation_id"], values["rating"], values["extended"], now))

    def for_trip(self, trip_no: int) -> dict | None:
        rows = self.storage.query("SELECT evaluation_id, rating, extended FROM trip_evaluations WHERE trip_no = ?",
                                  (trip_no,))
        if not rows:
            return None
        return {"id": rows[0][0], "rating": rows[0][1], "extended": rows[0][2]}
