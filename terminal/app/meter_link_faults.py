"""What a faulty or tampered meter on the 905.2 link may not do (application room).

The meter on the link is the legal instrument, but the terminal stores what it says, so a record
the meter could not honestly have produced must not reach the trip store. ``implausible`` judges
one new operation-data record against the clock and the meter's own tariff; a refused record, a
stored trip number sent again with other numbers (``conflict``) or a record the meter says it
cannot resend (``lost``) is a meter fault (alarm bit 10): the display and the sign say so, the
audit trail gets one record however often the meter repeats itself, and the next good record
clears it (unless the meter is also silent, which only its answer clears). A tariff that changes
under the terminal is audited once per new tariff and shown to the driver. docs/meter-link.md
("A faulty or hostile device on the bus") lists each case and the terminal's answer.
"""

from __future__ import annotations

import logging

from drivers import meter_link_codec as ml

log = logging.getLogger("taxiterm")

FUTURE_SLACK_MS = 5 * 60000             # the terminal sets the meter's clock; minutes of drift at most
OLDEST_MS = 366 * 86400000              # a record more than a year old is a wrong clock, not a trip
LONGEST_TRIP_MS = 12 * 3600000          # alight more than 12 h after board: board after alight, wrapped
FASTEST_KMH = 200
CEILING_SLACK_FEN = 10000               # fare ceiling: twice the meter's own tariff, plus 100 yuan
MAX_AUDITED = 64                        # distinct faults audited per run; then only logged
RESEND_WAIT_MS = 60000                  # a record asked for again and not come by then is lost


def implausible(meter, record: dict, now: int) -> str | None:
    """Why a new record cannot be true, or None."""
    board, alight = record["board_ms"], record["alight_ms"]
    if alight > now + FUTURE_SLACK_MS:
        return "alight time in the future"
    if board < now - OLDEST_MS:
        return "board time more than a year in the past"
    duration = alight - board
    if duration > LONGEST_TRIP_MS:
        return "alight more than 12 h after board (board after alight?)"
    if record["waiting_ms"] > duration:
        return "waiting time longer than the trip"
    if record["distance_m"] * 3600 > FASTEST_KMH * max(duration, 60000):
        return f"distance {record['distance_m']} m in {duration // 60000} min: speed over {FASTEST_KMH} km/h"
    tariff = meter.tariff
    fare = record["fare_fen"]
    if tariff and fare:
        # no floor: meters charge less than the start price (cancelled trips, discounts, a start
        # price with a surcharge the meter reports apart); our own firmware does
        starts = (tariff["start_day_fen"], tariff["start_night_fen"])
        unit = max(tariff[k] for k in ("return_day_fen", "return_night_fen", "oneway_day_fen",
                                       "oneway_night_fen", "empty_back_day_fen", "empty_back_night_fen"))
        wait_s = max(tariff["wait_unit"][0] * 60 + tariff["wait_unit"][1], 1)
        waits = -(-record["waiting_ms"] // (wait_s * 1000))
        ceiling = 2 * (max(starts) + -(-record["distance_m"] // 1000) * unit
                       + waits * max(tariff["wait_day_fen"], tariff["wait_night_fen"])) + CEILING_SLACK_FEN
        if fare > ceiling:
            return f"fare {fare} fen above what the meter's own tariff can charge ({ceiling} fen)"
    return None


def _audit_once(metering, key: tuple, event: str, parameter, old, new) -> None:
    meter = metering.meter
    seen = meter.audited_faults
    if key in seen:
        return
    if len(seen) >= MAX_AUDITED:
        log.error("meter fault %s not audited: %d already this run", event, MAX_AUDITED)
        return
    seen.add(key)
    metering.term.audit_event(event, parameter, old, new)


def _raise(metering, now: int, reason: str) -> None:
    meter = metering.meter
    term = metering.term
    meter.record_fault = reason
    meter.fault = f"计价器故障 (meter record): {reason}"
    term.reporting.flag("meter_fault", True, now)
    term.show_sign(term.follower.meter_fault(True))
    term.cabin.say(f"计价器故障 (meter fault): {reason}", now, seconds=5)
    term.cabin.dirty = True


def _money(record: dict) -> dict:
    return {k: record[k] for k in ("board_ms", "alight_ms", "distance_m", "fare_fen", "extras_fen")}


def conflict(metering, now: int, record: dict, stored: dict) -> None:
    """Another trip under a stored trip number: the stored record stays; not acknowledged."""
    trip_no = record["trip_no"]
    log.error("meter record %s differs from the stored trip %s; not acknowledged", trip_no, trip_no)
    _audit_once(metering, ("conflict", trip_no, tuple(sorted(_money(record).items()))),
                "meter_record_conflict", "trip_no", _money(stored), dict(_money(record), trip_no=trip_no))
    _raise(metering, now, f"trip {trip_no} sent again with other numbers (meter reset or tampered?)")


def refused(metering, now: int, command: int, record: dict, reason: str) -> list:
    """A new record that cannot be true: not stored, answered FF. Returns the frames to send."""
    trip_no = record["trip_no"]
    log.error("meter record %s refused: %s", trip_no, reason)
    _audit_once(metering, ("refused", trip_no, reason), "meter_record_refused", "trip_no", None,
                dict(_money(record), trip_no=trip_no, reason=reason))
    _raise(metering, now, f"trip {trip_no} refused: {reason}")
    return [ml.ack(command, ok=False)]


def lost(metering, now: int, trip_no: int, why: str = "the meter cannot send it again") -> None:
    """The meter answered our resend request with FF, or never sent the record: ``trip_no`` is lost."""
    metering.meter.resend_asked.pop(trip_no, None)
    _audit_once(metering, ("lost", trip_no), "meter_record_lost", "trip_no", None, trip_no)
    _raise(metering, now, f"trip {trip_no} lost: {why}")


def resend_asked(metering, now: int, trip_no: int) -> None:
    """A resend request for ``trip_no`` went out: it must arrive within ``RESEND_WAIT_MS``."""
    asked = metering.meter.resend_asked
    if trip_no not in asked and len(asked) < MAX_AUDITED:
        asked[trip_no] = now + RESEND_WAIT_MS


def resend_overdue(metering, now: int) -> None:
    """Any frame from the meter: records asked for and overdue are lost (a fault, audited once)."""
    asked = metering.meter.resend_asked
    for trip_no, deadline in list(asked.items()):
        if metering.storage.trip(trip_no) is not None:
            del asked[trip_no]
        elif now >= deadline:
            lost(metering, now, trip_no, f"asked for again, not sent within {RESEND_WAIT_MS // 1000} s")


def shift_data(metering, now: int, values: dict) -> None:
    """Power-off shift data (0x00E4 / 0x00F1): the meter's lifetime totalisers only grow, and K is
    changed only under the meter's seal, which the terminal cannot see: a change is audited and shown."""
    meter = metering.meter
    seen = meter.totalisers_seen
    now_seen = (values["total_100m"], values["total_hired_100m"], values["k"])
    if seen is not None:
        if now_seen[0] < seen[0] or now_seen[1] < seen[1]:
            _audit_once(metering, ("totaliser", now_seen[:2]), "meter_totaliser_backwards", "total_100m",
                        list(seen[:2]), list(now_seen[:2]))
            _raise(metering, now, f"totaliser went backwards ({seen[0]} -> {now_seen[0]} x 0.1 km)")
            return                                  # the highest readings stay the reference
        if now_seen[2] != seen[2]:
            _audit_once(metering, ("k", seen[2], now_seen[2]), "meter_k_changed", "k", seen[2], now_seen[2])
            metering.term.cabin.say(f"计价器K值已变更 (meter K changed: {seen[2]} -> {now_seen[2]})", now, seconds=5)
    meter.totalisers_seen = now_seen


def record_stored(metering, now: int) -> None:
    """A good record was stored: a record fault is over (a silent meter's fault is not)."""
    meter = metering.meter
    if not meter.record_fault:
        return
    meter.record_fault = None
    link = getattr(metering.term.devices, "meter_link", None)
    health = getattr(link, "health", None)
    if health is not None and health.faulty:
        return
    term = metering.term
    if not (meter.fault or "").startswith("计价器故障 (meter record)"):
        return                                      # another fault (the start-up one) holds the display
    meter.fault = None
    term.reporting.flag("meter_fault", False, now)
    term.show_sign(term.follower.meter_fault(False))
    term.cabin.dirty = True


def tariff_answer(metering, now: int, values: dict) -> None:
    """The meter's tariff parameters arrived: a change since the last answer is audited once."""
    from terminal.app.link_meter import tariff_digest
    meter = metering.meter
    if not meter.tariff:
        return
    old, new = tariff_digest(meter.tariff), tariff_digest(values)
    if old == new:
        return
    _audit_once(metering, ("tariff", new), "meter_tariff_changed", "tariff_digest", old, new)
    y, m, d, h = values["valid_from"]
    metering.term.cabin.say(f"计价器运价已变更 (meter tariff changed, valid from {y:04d}-{m:02d}-{d:02d} {h:02d}h)",
                            now, seconds=5)
