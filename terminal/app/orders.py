"""On-call (95128) orders: the pure state machine from offer to completed trip.

The dispatch desk of the house. ``OrderDesk`` is fed the platform's commands, the
driver's keys, the meter's state and ticks, each with its time; it answers with
plain effects and never touches the world:

  ("report", "ack", ack_body)            acknowledgement of a downlink command
  ("report", "order", body)              an order step for up/order (the loop adds "place")
  ("display", screen, data)              driver display: "order_offer", "order_on_call",
                                         "order_closed", "no_order"
  ("sign_on_call", bool)                 the rooftop sign's on-call mark on/off

States: idle -> offered -> on_call -> in_trip -> idle. Assigned orders skip the
driver's answer. Offers are refused while the vehicle is occupied or out of service
(orders are not pushed to a vehicle carrying passengers) and while another order is
open. docs/mqtt.md lists the sequence step by step.
"""

from __future__ import annotations

from terminal.link.downlink import Command
from terminal.link.payloads import RESULT_FAILED, RESULT_OK, RESULT_REFUSED

IDLE, OFFERED, ON_CALL, IN_TRIP = "idle", "offered", "on_call", "in_trip"
STATES = (IDLE, OFFERED, ON_CALL, IN_TRIP)
OCCUPIED_STATES = ("hired", "stopped", "settle")
METER_STATES = ("for_hire", "hired", "stopped", "settle", "out_of_service")
STREET_HAIL = "0"
DEFAULT_ANSWER_MS = 20_000


class OrderError(ValueError):
    """A call that makes no sense for the order desk (a programming error in the caller)."""


class OrderDesk:
    def __init__(self, answer_ms: int = DEFAULT_ANSWER_MS) -> None:
        self.set_answer_ms(answer_ms)
        self.state = IDLE
        self.order: dict | None = None
        self.meter_state = "for_hire"

    # --- configuration -------------------------------------------------------------

    def set_answer_ms(self, answer_ms: int) -> None:
        """How long the driver has to answer an offer that does not say (params order_answer_s)."""
        if isinstance(answer_ms, bool) or not isinstance(answer_ms, int) or answer_ms <= 0:
            raise OrderError(f"answer time must be a positive integer of ms, got {answer_ms!r}")
        self.answer_ms = answer_ms

    # --- queries -------------------------------------------------------------------

    @property
    def on_call(self) -> bool:
        """The sign's on-call mark: an accepted order the driver is on the way to."""
        return self.state == ON_CALL

    @property
    def order_id(self) -> str:
        """The open order's id, or "0" (street hail) when there is none."""
        return self.order["order_id"] if self.order else STREET_HAIL

    # --- platform commands ------------------------------------------------------------

    def offer(self, cmd: Command, now_ms: int) -> list:
        """The centre offers an order (a checked ``order_offer`` command)."""
        _expect(cmd, "order_offer")
        body = cmd.body
        order_id = body["order_id"]
        if self.order and self.order["order_id"] == order_id and self.state in (OFFERED, ON_CALL):
            return [("report", "ack", cmd.ack(RESULT_OK, f"order {order_id} already {self.state}"))]
        if self.meter_state in OCCUPIED_STATES:
            return [("report", "ack", cmd.ack(RESULT_REFUSED, "occupied: no orders while carrying passengers"))]
        if self.meter_state == "out_of_service":
            return [("report", "ack", cmd.ack(RESULT_REFUSED, "out of service"))]
        if self.state != IDLE:
            return [("report", "ack", cmd.ack(RESULT_REFUSED, f"busy with order {self.order_id} ({self.state})"))]

        answer_ms = body["answer_s"] * 1000 if "answer_s" in body else self.answer_ms
        self.order = {
            "order_id": order_id, "order_type": body["order_type"], "pickup_ms": body["pickup_ms"],
            "pickup": dict(body["pickup"]), "text": body["text"], "offered_ms": now_ms,
            "answer_by_ms": now_ms + answer_ms,
        }
        effects: list = [("report", "ack", cmd.ack(RESULT_OK, ""))]
        if body["order_type"] == "assigned":
            # The centre designated this vehicle: no answer is asked for.
            return effects + self._accept(now_ms, "assigned")
        self.state = OFFERED
        return effects + [("display", "order_offer", self._shown())]

    def centre_cancel(self, cmd: Command, now_ms: int) -> list:
        """The centre cancels an order (a checked ``order_cancel`` command)."""
        _expect(cmd, "order_cancel")
        order_id = cmd.body["order_id"]
        reason = cmd.body.get("reason", "")
        if not self.order or self.order["order_id"] != order_id:
            return [("report", "ack", cmd.ack(RESULT_FAILED, f"no open order {order_id}"))]
        if self.state == IN_TRIP:
            return [("report", "ack", cmd.ack(RESULT_REFUSED, "passenger on board: the trip runs to its end"))]
        effects = [("report", "ack", cmd.ack(RESULT_OK, "")),
                   ("report", "order", _step(order_id, "cancelled", f"centre: {reason}".rstrip(": ")))]
        return effects + self._close(now_ms, "cancelled_by_centre")

    # --- driver keys -------------------------------------------------------------------

    def answer(self, accept: bool, now_ms: int) -> list:
        """The driver pressed accept (True) or reject (False)."""
        if self.state != OFFERED:
            return [("display", "no_order", {})]
        if accept:
            return self._accept(now_ms, "")
        order_id = self.order_id
        return [("report", "order", _step(order_id, "rejected", "driver"))] + self._close(now_ms, "rejected")

    def driver_cancel(self, reason: str, now_ms: int) -> list:
        """The driver gives up an accepted order, saying why (e.g. "passenger not found")."""
        if not isinstance(reason, str) or not reason.strip():
            raise OrderError("a driver's cancel needs a reason")
        if self.state == OFFERED:
            order_id = self.order_id
            return [("report", "order", _step(order_id, "rejected", reason))] + self._close(now_ms, "rejected")
        if self.state != ON_CALL:
            return [("display", "no_order", {})]
        order_id = self.order_id
        return [("report", "order", _step(order_id, "cancelled", f"driver: {reason}"))] + \
            self._close(now_ms, "cancelled_by_driver")

    # --- meter and time ----------------------------------------------------------------

    def boarding(self, now_ms: int) -> tuple[str, list]:
        """The meter is being hired: returns the order id the trip carries ("0" = street hail).

        The on-call order the driver was heading to becomes the trip's order; an
        unanswered offer is withdrawn because the vehicle is now occupied.
        """
        effects = self._enter_meter_state("hired", now_ms)
        return (self.order_id if self.state == IN_TRIP else STREET_HAIL), effects

    def meter(self, state: str, now_ms: int) -> list:
        """The meter changed state (for_hire, hired, stopped, settle, out_of_service)."""
        return self._enter_meter_state(state, now_ms)

    def trip_closed(self, order_id: str, trip_no: int, total_fen: int, now_ms: int) -> list:
        """The meter closed a trip; an on-call trip completes its order."""
        if order_id == STREET_HAIL:
            return []
        if self.state != IN_TRIP or self.order_id != order_id:
            raise OrderError(f"trip for order {order_id} closed, but the desk is {self.state} "
                             f"with order {self.order_id}")
        step = dict(_step(order_id, "completed", ""), trip_no=trip_no, total_fen=total_fen)
        self.state, self.order = IDLE, None
        return [("report", "order", step), ("display", "order_closed", {"order_id": order_id, "why": "completed"})]

    def tick(self, now_ms: int) -> list:
        """Time passes: an offer left unanswered past its answer time lapses."""
        if self.state == OFFERED and now_ms >= self.order["answer_by_ms"]:
            order_id = self.order_id
            return [("report", "order", _step(order_id, "timeout", "no answer from the driver"))] + \
                self._close(now_ms, "timeout")
        return []

    # --- persistence -------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {"state": self.state, "order": dict(self.order) if self.order else None,
                "meter_state": self.meter_state, "answer_ms": self.answer_ms}

    def restore(self, snap: dict) -> None:
        """Take back a snapshot (after a power loss); a lapsed offer times out at the next tick."""
        if set(snap) != {"state", "order", "meter_state", "answer_ms"}:
            raise OrderError(f"not an order desk snapshot: keys {sorted(snap)}")
        if snap["state"] not in STATES or snap["meter_state"] not in METER_STATES:
            raise OrderError(f"bad snapshot state {snap['state']!r} / {snap['meter_state']!r}")
        if (snap["state"] == IDLE) != (snap["order"] is None):
            raise OrderError("snapshot: an order belongs to every state but idle")
        self.set_answer_ms(snap["answer_ms"])
        self.state = snap["state"]
        self.order = dict(snap["order"]) if snap["order"] else None
        self.meter_state = snap["meter_state"]

    # --- inside --------------------------------------------------------------------------

    def _enter_meter_state(self, state: str, now_ms: int) -> list:
        if state not in METER_STATES:
            raise OrderError(f"unknown meter state {state!r}")
        was_occupied = self.meter_state in OCCUPIED_STATES
        self.meter_state = state
        if state in OCCUPIED_STATES and not was_occupied:
            if self.state == ON_CALL:
                self.state = IN_TRIP
                return [("report", "order", _step(self.order_id, "boarded", "")), ("sign_on_call", False)]
            if self.state == OFFERED:
                order_id = self.order_id
                return [("report", "order", _step(order_id, "rejected", "occupied"))] + \
                    self._close(now_ms, "occupied")
        if state == "out_of_service" and self.state == OFFERED:
            order_id = self.order_id
            return [("report", "order", _step(order_id, "rejected", "out of service"))] + \
                self._close(now_ms, "out_of_service")
        return []

    def _accept(self, now_ms: int, reason: str) -> list:
        self.state = ON_CALL
        return [("report", "order", _step(self.order_id, "accepted", reason)), ("sign_on_call", True),
                ("display", "order_on_call", self._shown())]

    def _close(self, now_ms: int, why: str) -> list:
        was_on_call = self.state == ON_CALL
        order_id = self.order_id
        self.state, self.order = IDLE, None
        effects: list = [("sign_on_call", False)] if was_on_call else []
        return effects + [("display", "order_closed", {"order_id": order_id, "why": why})]

    def _shown(self) -> dict:
        o = self.order
        return {"order_id": o["order_id"], "order_type": o["order_type"], "pickup_ms": o["pickup_ms"],
                "pickup": dict(o["pickup"]), "text": o["text"], "answer_by_ms": o["answer_by_ms"]}


def _step(order_id: str, event: str, reason: str) -> dict:
    return {"order_id": order_id, "event": event, "reason": reason}


def _expect(cmd: Command, name: str) -> None:
    if not isinstance(cmd, Command) or cmd.name != name:
        raise OrderError(f"expected a checked {name} command, got {cmd!r}")

