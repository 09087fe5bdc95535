"""The meter port (application room): one way for the loop to reach "the meter", two meters behind it.

``[meter] kind`` chooses (docs/config.md): ``internal`` is today's in-process
``meter.taximeter.Taximeter``; ``link`` is a sealed taximeter on the JT/T 905.2 link, mirrored by
``terminal.app.link_meter.LinkMeter`` and reached through the ``MeterLinkDriver`` the board hands
over as ``devices.meter_link``. Both answer the same calls (state, fault, trip, totals, view,
snapshot; closed trips come back as records), and ``Metering`` stores a closed trip the same way
whichever meter closed it, so reports, receipts, the sign and the platform never know which.

What only the link needs lives here: operation data is stored, then acknowledged; a repeated
record (the meter did not hear our acknowledgement) is acknowledged again and changes nothing; a
gap in trip numbers asks the meter to resend; a silent or garbling meter is a meter fault.
"""

from __future__ import annotations

import json
import logging

from drivers import meter_link_codec as ml
from meter.errors import MeterError
from terminal.app import meter_link_faults
from terminal.storage.database import StorageError

log = logging.getLogger("taxiterm")

KINDS = ("internal", "link")
_RECORDS = (ml.CMD_TRIP_END, ml.CMD_RESEND)
# what makes a resent record the same trip (the tariff id may have been read in between)
_SAME_TRIP = ("board_ms", "alight_ms", "distance_m", "empty_m", "waiting_ms", "fare_fen", "extras_fen")


class PulseLineElsewhere:
    """The speed sensor is wired to the fitted meter only (the terminal's own line is not
    calibrated): the terminal's pulse watch stays quiet, the meter judges its own sensor."""

    def on_pulses(self, now: int, count: int):
        return None

    def on_speed(self, now: int, kmh):
        return None


def is_link(config: dict) -> bool:
    return config["meter"].get("kind", "internal") == "link"


def load_link(blob: bytes | None, utc_offset_min: int, now: int):
    from terminal.app.link_meter import LinkMeter
    return LinkMeter.restore(json.loads(blob.decode("utf-8")) if blob else None, utc_offset_min, now)


def _send(metering, frames) -> None:
    link = getattr(metering.term.devices, "meter_link", None)
    if link is None:
        return
    for frame in frames:
        link.send(frame)


def on_link(metering, now: int, command: int, values: dict) -> None:
    """One frame from the meter (a ``meter_link`` event), on the loop's thread."""
    meter = metering.meter
    if not getattr(meter, "external", False):
        log.warning("a meter link frame 0x%04x arrived but [meter] kind is internal; ignored", command)
        return
    before = meter.state
    meter_link_faults.resend_overdue(metering, now)
    if command == ml.CMD_RESEND_REQUEST:
        if values["result"] != ml.RESULT_OK:
            meter_link_faults.lost(metering, now, values["trip_no"])
        return
    if command == ml.CMD_DEVICE_ID:
        # countersign the meter's journal head: the audit trail is signed by the terminal's key
        metering.term.audit_event("meter_log_head", "log_head", None, {
            "head": values["log_head"].hex(), "seq": values["log_seq"], "software_id": values["software_id"].hex(),
            "trip_no": values["trip_no"]})
        # at most 16 numbers looked at: a claimed trip number of 4 billion must not stall the loop
        missing = [n for n in range(meter.last_trip_no + 1, min(values["trip_no"], meter.last_trip_no + 16) + 1)
                   if metering.storage.trip(n) is None] if meter.last_trip_no else []
        meter.on_frame(command, values, now)
        _send(metering, [ml.meter_frame(ml.CMD_RESEND_REQUEST, ml.DOWN, {"trip_no": n}) for n in missing])
        return
    if command == ml.CMD_EVALUATION:
        _relayed_rating(metering, now, values)
        return
    if command == ml.CMD_STATUS and not meter.answered:
        meter.answered = True                   # the meter answers: set its clock, read its tariff
        on_fault(metering, now, False, "answering")
    if command == ml.CMD_TARIFF_QUERY:
        meter_link_faults.tariff_answer(metering, now, values)
    if command in (ml.CMD_POWER_OFF_DONE, ml.CMD_RESEND_AT_OFF):
        meter_link_faults.shift_data(metering, now, values)
    if command not in _RECORDS:
        replies = meter.on_frame(command, values, now)
        metering.after([], now, state_before=before)
        _send(metering, replies)
        return
    try:
        record = meter.record_from(values, now, order_id=_order_aboard(metering))
    except (MeterError, ValueError, KeyError) as exc:
        log.error("meter record %s unusable: %s", values.get("trip_no"), exc)
        _send(metering, [ml.ack(command, ok=False)])
        return
    trip_no = record["trip_no"]
    stored = metering.storage.trip(trip_no)
    if stored is not None:
        if all(stored.get(k) == record[k] for k in _SAME_TRIP):
            _send(metering, [ml.ack(command)])     # stored before; our acknowledgement was lost
            return
        # another trip under a stored number (the meter was replaced, reset or tampered with): never
        # drop it silently by acknowledging it; the meter keeps it and the technician sees why
        meter_link_faults.conflict(metering, now, record, stored)
        return
    problem = meter_link_faults.implausible(meter, record, now)
    if problem:
        _send(metering, meter_link_faults.refused(metering, now, command, record, problem))
        return
    if metering.term.evaluation.hold(trip_no, now, lambda t: on_link(metering, t, command, values),
                                     meter.relays_ratings):
        return                                  # not acknowledged yet: the passenger is rating the trip
    asks = meter.missing_before(trip_no)
    try:
        metering.after(meter.close(record, now), now, state_before=before)
    except StorageError as exc:
        log.error("meter record %s not stored: %s", trip_no, exc)
        metering.term.cabin.say("计价器记录未能保存 (meter record not stored)", now, seconds=5)
        return                                  # not acknowledged: the meter keeps it and sends it again
    _send(metering, [ml.ack(command)])
    meter_link_faults.record_stored(metering, now)
    for missing in asks:
        if metering.storage.trip(missing) is None:
            _send(metering, [ml.meter_frame(ml.CMD_RESEND_REQUEST, ml.DOWN, {"trip_no": missing})])
            meter_link_faults.resend_asked(metering, now, missing)
    _send(metering, [ml.meter_frame(ml.CMD_DEVICE_ID, ml.DOWN, {})])   # its head after the trip, to countersign


def _order_aboard(metering) -> str:
    """The on-call order whose passenger boarded (the 905.2 record has no order field), or "0"."""
    from terminal.app.orders import IN_TRIP
    orders = metering.term.orders
    return orders.order_id if orders.state == IN_TRIP else "0"


def _relayed_rating(metering, now: int, values: dict) -> None:
    """0x00F5: the meter's own evaluator rated a trip. Stored, acknowledged, and the trip's held
    record (if it came first) goes on with it; from now on this meter's records wait for their rating."""
    from drivers.evaluator_codec import RATINGS
    if values["rating"] not in RATINGS:
        _send(metering, [ml.ack(ml.CMD_EVALUATION, ok=False)])
        return
    desk = metering.term.evaluation
    desk.store(now, {"trip_no": values["trip_no"], "evaluation_id": 0, "rating": values["rating"], "extended": 0})
    if not metering.meter.relays_ratings:
        metering.meter.relays_ratings = True
        metering.save(now, force=True)
    _send(metering, [ml.ack(ml.CMD_EVALUATION)])
    desk.on_rating(now, {"trip_no": values["trip_no"], "evaluation_id": 0, "rating": values["rating"],
                         "extended": 0})


def on_fault(metering, now: int, active: bool, reason: str) -> None:
    """The meter stopped answering or answers garbage (alarm bit 10), or is back."""
    meter = metering.meter
    term = metering.term
    meter.fault = f"计价器故障 (meter link): {reason}" if active else None
    term.reporting.flag("meter_fault", active, now)
    term.show_sign(term.follower.meter_fault(active))
    if not active:
        link = getattr(term.devices, "meter_link", None)
        if link is not None:
            link.query_tariff()
            link.set_clock()
    term.cabin.dirty = True
