"""Reporting (application room): what to report to the platform, when, with what position and bits.

``Reporting`` keeps what the reports describe but the meter does not: the last GNSS fix,
the device fault flags (JT/T alarm names: GNSS, sign, meter, speed-sensor faults) and the
printer and sign conditions. It decides when a location or health report is due
(intervals by state, the platform's parameters), builds the position, status and alarm
bits every report carries, and puts the reports on the outbox. A raised or cleared flag
is audited and reported at once.

A flag is held by its causes (the speed sensor's: pulses silent while GNSS says the car
moves, and pulse distance against GNSS distance) and clears when the last cause clears.
The meter-fault bit is not a flag of its own: it is raised and cleared from the meter's
own fault (and refused metering), the very condition health reports for the meter, so
the bit and health cannot disagree. ``FAULTS`` says, for each flag, which health entry
and which display warning go with it (docs/mqtt.md, "Device faults").
"""

from __future__ import annotations

from meter.taximeter import IN_TRIP
from terminal.link import payloads

# alarm flag -> (health device, display warning); the meter fault is a fault screen, the sign's
# warning comes from the sign's own event (drivers/display.py)
FAULTS = {
    "gnss_fault": ("gnss", "定位故障"),
    "antenna_open": ("gnss", "天线开路"),
    "antenna_short": ("gnss", "天线短路"),
    "speed_sensor_fault": ("speed_sensor", "脉冲故障"),
    "sign_fault": ("sign", None),
    "meter_fault": ("meter", None),
}


class Reporting:
    def __init__(self, term) -> None:
        self.term = term
        self.config = term.config
        mqtt = term.config["mqtt"]
        self.prefix = mqtt.get("prefix", "taxi")
        self.tid = mqtt["terminal_id"]
        self.fix = None                   # last positioned GNSS fix
        self.fix_rx_ms: int | None = None # when it arrived (terminal clock): a fix is fresh only so long
        self.over_since_ms: int | None = None  # since when the fresh fix is above the platform's speed limit
        self.flags: set[str] = set()      # JT/T alarm names currently active (gnss, sign, meter faults)
        self.causes: dict[str, set[str]] = {}   # flag -> what holds it up
        self.printer_status: dict = {}
        self.sign_state: str | None = None
        self.last_location_ms = 0
        self.last_health_ms = 0

    def topic(self, kind: str) -> str:
        return f"{self.prefix}/{self.tid}/up/{kind}"

    # -- when -------------------------------------------------------------------------------------
    def location_interval_ms(self) -> int:
        report = self.config["report"]
        if self.term.alarm.active:
            return report["alarm_s"] * 1000
        if self.term.meter.state in IN_TRIP:
            return report["occupied_s"] * 1000
        return report["vacant_s"] * 1000

    def periodic(self, now: int) -> None:
        self.follow_meter(now)
        if now - self.last_location_ms >= self.location_interval_ms():
            self.location(now)
        if now - self.last_health_ms >= self.config["report"]["health_s"] * 1000:
            self.health(now)

    # -- what every report carries ------------------------------------------------------------------
    def fix_fresh(self, now: int) -> bool:
        """A fix counts as a position only while younger than ``report.fix_max_age_s`` (item 8)."""
        if self.fix is None or self.fix_rx_ms is None:
            return False
        return now - self.fix_rx_ms <= self.config["report"].get("fix_max_age_s", 5) * 1000

    def position(self, now: int) -> dict:
        f = self.fix
        if f is None:
            return payloads.no_position(now)
        # A stale fix: the last known place, standing still, without the positioned bit.
        fresh = self.fix_fresh(now)
        return payloads.position(lat_deg=f.lat, lon_deg=f.lon, alt_m=f.alt_m or 0.0,
                                 speed_mps=(f.speed_mps or 0.0) if fresh else 0.0, course_deg=f.course_deg or 0.0,
                                 fix_ms=f.time_ms or now)

    def speed_01(self, now: int) -> int:
        """``position(now)["speed"]`` (0.1 km/h) without the rest of the position (a trip's top speed)."""
        f = self.fix
        if f is None:
            return payloads.NO_POSITION["speed"]
        return payloads.speed_01kmh((f.speed_mps or 0.0) if self.fix_fresh(now) else 0.0)

    def overspeed(self, now: int) -> bool:
        """Above the platform's ``speed_limit_kmh`` on a fresh fix for at least ``overspeed_s``."""
        params = self.term.platform.params
        limit = params.get("speed_limit_kmh")
        if limit is None or not self.fix_fresh(now) or (self.fix.speed_mps or 0.0) * 3.6 <= limit:
            self.over_since_ms = None
            return False
        if self.over_since_ms is None:
            self.over_since_ms = now
        return now - self.over_since_ms >= params.get("overspeed_s", 0) * 1000

    def status(self) -> list:
        meter = self.term.meter
        flags = []
        if self.fix_fresh(self.term.clock()):
            flags.append("positioned")
        if meter.state == "out_of_service":
            flags.append("out_of_service")
        if meter.powered:
            flags.append("acc_on")
        if meter.state in IN_TRIP:
            flags.append("occupied")
        return [f for f in flags if f in payloads.STATUS_BITS]

    def alarm_bits(self) -> int:
        return payloads.alarm_bits(name for name in self.flags if name in payloads.ALARM_BITS)

    # -- device flags ---------------------------------------------------------------------------------
    def flag(self, name: str, active: bool, now: int, cause: str | None = None) -> None:
        """``cause`` (default: the flag itself) raises or clears its hold on flag ``name``."""
        causes = self.causes.setdefault(name, set())
        if active:
            causes.add(cause or name)
        else:
            causes.discard(cause or name)
        before, after = name in self.flags, bool(causes)
        if after == before:
            return
        if after:
            self.flags.add(name)
        else:
            self.flags.discard(name)
        self.term.audit_event("device_alarm", name, before, after)
        self.location(now)

    def follow_meter(self, now: int) -> None:
        """The meter-fault bit follows the meter's own fault and refused metering, both ways."""
        meter_fault = self.term.meter.fault is not None or bool(self.term.metering.refused)
        if meter_fault != ("meter_fault" in self.flags):
            self.flag("meter_fault", meter_fault, now)

    def fault_labels(self) -> tuple[str, ...]:
        """The display warnings of the flags now raised (GNSS, antenna, speed sensor)."""
        return tuple(FAULTS[name][1] for name in FAULTS if name in self.flags and FAULTS[name][1])

    def on_fix(self, fix) -> None:
        self.fix = fix
        self.fix_rx_ms = self.term.clock()

    # -- the reports ----------------------------------------------------------------------------------
    def location(self, now: int) -> None:
        term = self.term
        self.last_location_ms = now
        pos = self.position(now)
        overspeed = self.overspeed(now)
        trip = term.meter.trip
        alarm = self.alarm_bits() | (term.alarm.flags if term.alarm.active else 0)
        items = self.sensor_items(now)
        term.outbox.enqueue(self.topic("location"), lambda seq: payloads.location(
            seq=seq, ts_ms=now, pos=pos, alarm=alarm, status=self.status(),
            operating=term.metering.operating, mileage_m=term.meter.totals.total_m,
            order_id=trip.order_id if trip else "0", overspeed=overspeed, extra=items,
            chain=self.chain_head()), "location")

    def sensor_items(self, now: int) -> dict:
        """``extra.pulse_speed`` (0.1 km/h) while the driving recorder takes its speed from the pulse sensor
        (fresh samples, no pulse fault) and ``extra.satellites`` (used by a fresh fix): JT/T 808 items 0x03, 0x31
        (docs/jtt-mapping.md). The board knows no modem signal strength, so item 0x30 is never sent."""
        from terminal.recorder.core import SOURCE_PULSES
        items = {}
        recorder = getattr(self.term, "recorder", None)
        if recorder is not None:
            speed, source = recorder.core.source.at(now)[:2]     # the recorder's own choice of speed now
            if source == SOURCE_PULSES:
                items["pulse_speed"] = min(max(int(speed), 0), 0xFFFF)
        if self.fix_fresh(now) and self.fix.sats is not None:
            items["satellites"] = min(max(int(self.fix.sats), 0), 255)
        return items

    def health(self, now: int) -> None:
        term = self.term
        self.last_health_ms = now
        gnss_faults = sorted({"gnss_fault", "antenna_open", "antenna_short"} & self.flags)
        refused = term.metering.refused
        devices = {
            "sign": {"ok": "sign_fault" not in self.flags, "detail": self.sign_state or ""},
            "printer": {"ok": not self.printer_status.get("reason") and self.printer_status.get("online", True),
                        "detail": self.printer_status.get("reason") or ""},
            "gnss": {"ok": not gnss_faults, "detail": ",".join(gnss_faults) or
                     ("positioned" if self.fix is not None else "no fix")},
            "meter": {"ok": term.meter.fault is None and not refused,
                      "detail": term.meter.fault or refused or ""},
            "speed_sensor": {"ok": "speed_sensor_fault" not in self.flags,
                             "detail": ",".join(sorted(self.causes.get("speed_sensor_fault", ())))},
        }
        depth = term.outbox.pending()
        downlink = term.platform.guard.counters()
        link = term.devices.link
        if link is not None:
            downlink["link_restarts"] = getattr(link, "restarts", 0)
        dropped = term.outbox.dropped().get("location", 0)
        term.outbox.enqueue(self.topic("health"), lambda seq: payloads.health(
            seq=seq, ts_ms=now, software=term.software_id, uptime_ms=now - term.started_ms,
            devices=devices, outbox_depth=depth, dropped_positions=dropped, alarm=self.alarm_bits(),
            downlink=downlink, chain=self.chain_head()), "health")

    def chain_head(self) -> tuple | None:
        """(counter, hash) of the legal chain now: every location and health report carries it, so
        the platform holds a witness of the device's record (``taxiterm inspect --platform-head``)."""
        audit = self.term.audit
        return audit.head() if audit is not None else None

    def alarm(self, body: dict, now: int) -> None:
        term = self.term
        pos = self.position(now)
        term.outbox.enqueue(self.topic("alarm"), lambda seq: payloads.alarm(
            seq=seq, ts_ms=now, pos=pos, alarm=body["alarm"] | self.alarm_bits(),
            status=self.status(), alarm_id=body["alarm_id"], stage=body["stage"],
            pressed_ms=body["pressed_ms"], mileage_m=term.meter.totals.total_m,
            operating=term.metering.operating), "alarm")

    def daily(self, stats: dict, now: int) -> None:
        self.term.outbox.enqueue(self.topic("daily"), lambda seq: payloads.daily(seq=seq, ts_ms=now, stats=stats),
                                 "daily")

    def send(self, kind: str, body: dict, now: int) -> None:
        """A report another desk built (acknowledgements, orders, notices): alarms get position and bits."""
        if kind == "alarm":
            self.alarm(body, now)
        else:
            self.term.outbox.enqueue(self.topic(kind), dict(body), kind)
