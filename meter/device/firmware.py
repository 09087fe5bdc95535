"""The meter firmware's application (meter firmware room): the legal core on its own microcontroller.

``MeterDevice`` owns a ``meter.taximeter.Taximeter``, its flash journal (meter/device/journal.py)
and its end of the JT/T 905.2 link (drivers/peripheral_frame.py, drivers/meter_link_codec.py,
copied onto the device). It is pure: the hardware shim (meter/device/hw.py on an RP2040, the
emulator's host on a PC) hands it the time, the pulse count, key presses, the seal input and
the bytes from the UART, and sends what ``take()`` returns.

Every accepted event is applied, then journaled, and only then does anything leave the device
(persist before acting outward). A closed trip stays *pending* until the terminal acknowledges
it (0x90); until then it is sent again (0x00F2) every ``RESEND_MS``. K and the tariff change only
while the seal input is closed. See docs/meter-device.md.
"""

import hashlib
import json

from drivers import meter_link_codec as ml
from drivers.peripheral_frame import FrameDecoder, FrameError, Rejected, encode
from meter.civil import civil_from_days, days_from_civil
from meter.device.journal import Journal
from meter.errors import MeterError, TariffError
from meter.tariff import Schedule, parse_tariff
from meter.taximeter import IN_TRIP, Taximeter

HEARTBEAT_MS = 10000
RESEND_MS = 2000
RECENT = 16           # closed trips kept to answer a resend request
VERSION = (1, 1, 0)   # hardware, software major, software minor


def local(t_ms, offset_min):
    secs = t_ms // 1000 + offset_min * 60
    y, m, d = civil_from_days(secs // 86400)
    r = secs % 86400
    return (y, m, d, r // 3600, r // 60 % 60, r % 60)


_PARSED = {}


def schedule_of(tariffs):
    """A Schedule of tariff data (parsed once per distinct tariff: parsing hashes it)."""
    out = []
    for data in tariffs:
        key = json.dumps(data)
        if key not in _PARSED:
            _PARSED[key] = parse_tariff(data)
        out.append(_PARSED[key])
    return Schedule(out)


def software_id(files):
    """SHA-256 (hex) over the firmware's own files, given as (name, bytes) pairs in any order."""
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode() + b"\x00" + len(data).to_bytes(4, "big") + data)
    return h.digest()


class MeterDevice:
    def __init__(self, flash, tariffs, profile, now, params=None, code_id=b"\x00" * 32, boot=True):
        self.profile = profile          # plate, licence, driver, vendor, utc_offset_min, serial
        self.offset = profile.get("utc_offset_min", 480)
        self.code_id = code_id
        self.seal_closed = False
        self.decoder = FrameDecoder()
        self.out = []
        self.sent_at = None             # when the oldest pending record last went out
        self.last_heartbeat = now
        self.garbage = 0
        self.clock_to = None
        self.journal = Journal(flash)
        state = self.journal.state
        if state is None:
            self.tariffs = list(tariffs)
            self.meter = Taximeter(schedule_of(self.tariffs), params, now)
            self.pending, self.recent = [], []
            self.journal.rebase(self._state())
        else:
            self.tariffs = state["tariffs"]
            self.meter = Taximeter.restore(state["meter"], schedule_of(self.tariffs))
            kept = state["records"]
            self.pending = [r for r in kept if r["trip_no"] in state["pending"]]
            self.recent = kept[-RECENT:]
            for event in self.journal.events:
                self._apply(event)
        # the power was off since the last journaled event: a dip resumes the trip, a loss closes it
        m = self.meter
        if not boot:
            return
        if m.powered:
            self._do({"e": "p", "t": m.t, "on": False})
        self._do({"e": "p", "t": max(now, m.t), "on": True})

    # -- state and journal ------------------------------------------------------------------
    def _state(self):
        kept = self.recent + [r for r in self.pending if r not in self.recent]
        return {"meter": self.meter.snapshot(), "tariffs": self.tariffs,
                "pending": [r["trip_no"] for r in self.pending], "records": kept}

    def _apply(self, ev):
        kind = ev["e"]
        m = self.meter
        closed = []
        if kind == "r":
            closed = m.reading(ev["t"], ev["v"], "pulses")
        elif kind == "k":
            closed = m.key(ev["t"], ev["n"], ev.get("a"), ev.get("l"), ev.get("o"))
        elif kind == "p":
            closed = m.power(ev["t"], ev["on"])
        elif kind == "ack":
            self.pending = [r for r in self.pending if r["trip_no"] != ev["n"]]
        elif kind == "K":
            m.set_k(ev["t"], ev["k"])
        elif kind == "T":
            schedule = schedule_of([ev["d"]])
            if m.state in IN_TRIP:
                raise MeterError("the tariff changes between trips only")
            self.tariffs = [ev["d"]]
            m.schedule = schedule
        for record in closed:
            self.pending.append(record)
            self.recent = (self.recent + [record])[-RECENT:]
        return closed

    def _do(self, ev):
        """Apply, journal, then queue what the terminal must hear. MeterError: nothing changed."""
        before = self.meter.state
        closed = self._apply(ev)
        self.journal.append(ev, self._state)
        if before != "hired" and self.meter.state == "hired" and ev.get("n") == "hire":
            self._send(ml.CMD_TRIP_START, {"board": local(ev["t"], self.offset)})
        if closed and self.sent_at is None:
            self._send_record(self.pending[0], ml.CMD_TRIP_END, ev["t"])
        return closed

    # -- inputs from the hardware shim ------------------------------------------------------
    def pulses(self, now, count):
        return self._do({"e": "r", "t": now, "v": count})

    def press(self, now, key, amount_fen=None, label=None, order_id=None):
        ev = {"e": "k", "t": now, "n": key}
        if amount_fen is not None:
            ev["a"], ev["l"] = amount_fen, label
        if order_id is not None:
            ev["o"] = order_id
        return self._do(ev)

    def power(self, now, on):
        return self._do({"e": "p", "t": now, "on": bool(on)})

    def seal(self, closed):
        self.seal_closed = bool(closed)

    def set_k(self, now, k):
        if not self.seal_closed:
            raise MeterError("K changes only with the seal input closed")
        return self._do({"e": "K", "t": now, "k": k})

    def set_tariff(self, now, data):
        if not self.seal_closed:
            raise MeterError("the tariff changes only with the seal input closed")
        return self._do({"e": "T", "t": now, "d": data})

    def tick(self, now):
        if now - self.last_heartbeat >= HEARTBEAT_MS:
            self.last_heartbeat = now
            state = (ml.STATE_HIRED if self.meter.state in IN_TRIP else 0) | (
                ml.STATE_SIGNED_IN if self.meter.shift_info else 0)
            self._send(ml.CMD_HEARTBEAT, {"state": state, "licence": self.profile.get("licence", ""),
                                          "driver": self.profile.get("driver", "")})
        if self.pending and (self.sent_at is None or now - self.sent_at >= RESEND_MS):
            self._send_record(self.pending[0], ml.CMD_RESEND, now)

    def take(self):
        """Bytes for the UART, in order."""
        out, self.out = self.out, []
        return b"".join(out)

    # -- the 905.2 link ---------------------------------------------------------------------
    def _send(self, command, values):
        self.out.append(encode(ml.meter_frame(command, ml.UP, values, self.profile.get("vendor", 0))))

    def operation(self, r):
        board = local(r["board_ms"], r["utc_offset_min"])
        alight = local(r["alight_ms"], r["utc_offset_min"])
        return {"plate": self.profile.get("plate", ""), "licence": self.profile.get("licence", ""),
                "driver": self.profile.get("driver", ""), "board": board[:5], "alight": alight[3:5],
                "distance_100m": r["distance_m"] // 100, "empty_100m": min(r["empty_m"] // 100, 9999),
                "extras_jiao": r["extras_fen"] // 10, "waiting": (r["waiting_ms"] // 3600000 % 100,
                                                                  r["waiting_ms"] // 60000 % 60),
                "fare_jiao": r["fare_fen"] // 10, "trip_no": r["trip_no"], "trade": 0, "card": b""}

    def _send_record(self, record, command, now):
        self._send(command, self.operation(record))
        self.sent_at = now

    def receive(self, now, data):
        """Bytes from the UART; answers are queued for ``take()``."""
        for item in self.decoder.feed(data):
            if isinstance(item, Rejected):
                self.garbage += 1
                continue
            try:
                command, values = ml.parse(item, ml.DOWN)
                self._answer(now, command, values)
            except (FrameError, ValueError):
                self.garbage += 1

    def _answer(self, now, command, values):
        m = self.meter
        if command == ml.CMD_STATUS:
            self._send(command, {"vendor_id": self.profile.get("vendor", 0), "device_type": 2,
                                 "serial": self.profile.get("serial", b"\x00\x00\x01"), "hw_version": VERSION[0],
                                 "sw_major": VERSION[1], "sw_minor": VERSION[2], "device_state": 0 if not m.fault else 0x10,
                                 "work_state": 0 if m.shift_info else 1, "plate": self.profile.get("plate", ""),
                                 "licence": self.profile.get("licence", ""), "driver": self.profile.get("driver", ""),
                                 "trips": m.totals.hirings})
        elif command == ml.CMD_CLOCK:
            y, mo, d, h, mi, sec = values["time"]
            self.clock_to = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec)
                             - self.offset * 60) * 1000     # the shim sets its RTC from this
            self._send(command, {"result": ml.RESULT_OK})
        elif command == ml.CMD_TARIFF_QUERY:
            self._send(command, self.tariff_values())
        elif command == ml.CMD_TARIFF_SET:
            self._send(command, {"result": self._set_tariff(now, values), "valid_from": values["valid_from"]})
        elif command in (ml.CMD_TRIP_END, ml.CMD_RESEND):
            if values["result"] == ml.RESULT_OK and self.pending:
                self._do({"e": "ack", "n": self.pending[0]["trip_no"]})
                self.sent_at = None
                if self.pending:
                    self._send_record(self.pending[0], ml.CMD_TRIP_END, now)
        elif command == ml.CMD_RESEND_REQUEST:
            found = [r for r in self.recent + self.pending if r["trip_no"] == values["trip_no"]]
            self._send(command, {"trip_no": values["trip_no"], "result": ml.RESULT_OK if found else ml.RESULT_FAIL})
            if found:
                self._send(ml.CMD_RESEND, self.operation(found[0]))
        elif command == ml.CMD_DEVICE_ID:
            self._send(command, {"software_id": self.code_id, "log_head": self.journal.head,
                                 "log_seq": self.journal.seq, "trip_no": m.totals.hirings})

    def tariff_values(self):
        t = self.tariffs[-1]
        w = t.get("waiting", {})
        day = t["effective_from"]
        values = {name: 0 for name, kind, _ in ml.LAYOUTS[(ml.CMD_TARIFF_QUERY, ml.UP)] if kind == "bcd"}
        values.update(valid_from=(int(day[0:4]), int(day[5:7]), int(day[8:10]), int(day[11:13])),
                      start_day_fen=t["start_fare_fen"], start_night_fen=t["start_fare_fen"],
                      oneway_day_fen=t["per_km_fen"], oneway_night_fen=t["per_km_fen"],
                      start_10m=t["start_distance_m"] // 10, step_10m=100,
                      wait_day_fen=w.get("fen_per_unit", 0), wait_night_fen=w.get("fen_per_unit", 0),
                      free_wait=(0, 0), wait_unit=(w.get("unit_s", 60) // 60 % 100, w.get("unit_s", 60) % 60),
                      night_start=(23, 0), night_end=(5, 0), reserved=bytes(22), vendor_area=b"")
        return values

    def _set_tariff(self, now, v):
        if not self.seal_closed:
            return ml.TARIFF_BAD
        y, mo, d, h = v["valid_from"]
        data = {"id": "905-%04d%02d%02d%02d" % (y, mo, d, h), "effective_from": "%04d-%02d-%02d %02d:00" % (y, mo, d, h),
                "utc_offset_min": self.offset, "mode": "CN", "start_fare_fen": v["start_day_fen"],
                "start_distance_m": v["start_10m"] * 10, "per_km_fen": v["oneway_day_fen"], "step_fen": 10,
                "waiting": {"below_kmh": 12, "fen_per_unit": v["wait_day_fen"],
                            "unit_s": v["wait_unit"][0] * 60 + v["wait_unit"][1] or 60}}
        if data == self.tariffs[-1]:
            return ml.TARIFF_SAME
        try:
            self.set_tariff(now, data)
        except (MeterError, TariffError):
            return ml.TARIFF_BAD
        return ml.TARIFF_OK
