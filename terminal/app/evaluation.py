"""The passenger's evaluation of the service (application room): asked at settling, kept per trip.

When a trip reaches settling the loop asks the service evaluator (drivers/evaluator.py) for the
passenger's rating; the rating that comes back is stored in this desk's own table, once per trip
(a repeat changes nothing), and the trip report carries it (``evaluation`` in up/trip,
docs/mqtt.md) when it arrived before the trip closed — "0 no evaluation" is then not sent, the
field is just absent. With a meter on the 905.2 link the settling is on the meter: the terminal asks
when the trip's record arrives, so the rating is stored but reaches no trip report.
"""

from __future__ import annotations

import logging

log = logging.getLogger("taxiterm")

_TABLE = """CREATE TABLE IF NOT EXISTS trip_evaluations (
    trip_no INTEGER PRIMARY KEY, evaluation_id INTEGER NOT NULL, rating INTEGER NOT NULL,
    extended INTEGER NOT NULL, stored_ms INTEGER NOT NULL)"""


class EvaluationDesk:
    def __init__(self, term) -> None:
        self.term = term
        self.storage = term.storage
        with self.storage.transaction() as db:
            db.execute(_TABLE)

    def on_state(self, state: str, trip_no: int | None) -> None:
        evaluator = getattr(self.term.devices, "evaluator", None)
        if evaluator is not None and state == "settling" and trip_no is not None:
            try:
                evaluator.ask(trip_no)
            except Exception as exc:  # noqa: BLE001 - a broken evaluator never stops metering
                log.warning("service evaluator not asked: %s", exc)

    def on_rating(self, now: int, values: dict) -> None:
        with self.storage.transaction() as db:
            db.execute("INSERT OR IGNORE INTO trip_evaluations VALUES (?, ?, ?, ?, ?)",
                       (values["trip_no"], values["evaluation_id"], values["rating"], values["extended"], now))

    def for_trip(self, trip_no: int) -> dict | None:
        rows = self.storage.query("SELECT evaluation_id, rating, extended FROM trip_evaluations WHERE trip_no = ?",
                                  (trip_no,))
        if not rows:
            return None
        return {"id": rows[0][0], "rating": rows[0][1], "extended": rows[0][2]}
