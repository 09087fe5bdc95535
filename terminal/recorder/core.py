"""The recorder's core (recorder room, pure): from sensor readings to driving records.

Integers only, time passed in, no I/O. The desk feeds it the speed sensor's cumulative
pulse count with K, GNSS speed and position, the status signals, the supply and the
driver; ``advance(now)`` samples the speed every 0.2 s and returns the records that
became due:

- ``("second", t, speed_01, status, source)``: the second starting at ``t``; the speed is
  the mean of its five 0.2 s samples in 0.1 km/h (``NO_SPEED`` when there was none);
- ``("position", t, pos, speed_01)``: the minute starting at ``t``: the last position in it
  (``None`` without a fix) and its mean speed;
- ``("stop", body)``: a stop ("doubtful point"): the 100 samples at 0.2 s ending with the
  sample at which the vehicle stopped (or the supply went off while moving), and the
  position there. The vehicle has stopped when, after a second at ``ARM_01`` or more, no
  0.2 s sample shows motion (1 km/h) for ``STILL_MS``; the stop is the first still sample
  (a pulse sensor at 5 Hz shows a slow car as single pulses between still samples).
  Moving while positioned fixes keep one position for ``FROZEN_MS`` is recorded too
  (``position_unchanged``, once until the position changes);
- ``("overtime", body)``, ``("overspeed", body)``, ``("alarm", name, active)``: from rules.py;
- ``("speed_status", body)``: the sensor against GNSS (GB/T 19056 15H), from speed_status.py;
- ``("driver", body)`` and ``("power", body)``: sign-in/out and the supply, as they happen.

Speed source: the pulse sensor (speed over the last sampling period of the counter)
while its samples are fresh (``STALE_MS``), unless a pulse fault is reported and GNSS is
fresh; otherwise GNSS speed while fresh; otherwise none. A stall of the caller longer than ``MAX_FILL_MS``
leaves the seconds in between unrecorded rather than invented.
"""

from terminal.recorder.rules import MOVING_01, Fatigue, Overspeed
from terminal.recorder.speed_status import SpeedStatus

FINE_MS = 200
STOP_SAMPLES = 100             # 20 s at 0.2 s
STALE_MS = 3000
MAX_FILL_MS = 10_000
ARM_01 = 50                    # a stop is recorded after a second at 5 km/h or more
STILL_MS = 2000                # no sample in motion for this long: the vehicle has stopped
FROZEN_MS = 10_000             # moving while fixes keep one position this long is a stop record too
NO_SPEED = 0xFFFF
KEEP = 32                      # measurements kept for samples that lag them (6.4 s at 5 Hz)

SOURCE_NONE, SOURCE_PULSES, SOURCE_GNSS = 0, 1, 2
SOURCE_LETTERS = "-PG"

# Status byte (GB/T 19056: D7 brake, D6..D3 lights and turn signals, D2..D0 user defined)
STATUS_ACC = 0x01              # D0: ignition / supply on
STATUS_OCCUPIED = 0x02         # D1: meter hired, stopped or settling
STATUS_DOOR = 0x04             # D2: door open (boards with a door input)
STATUS_BRAKE = 0x80            # D7: brake (boards with a brake input)


def pulse_speed_01(pulses, dt_ms, k):
    """Speed in 0.1 km/h from ``pulses`` in ``dt_ms`` at ``k`` pulses per km, rounded half up."""
    den = k * dt_ms
    return (pulses * 36_000_000 * 2 + den) // (2 * den)


def _latest(history, t):
    """The newest (t, value) of ``history`` (oldest first) taken at or before ``t``; None if none."""
    for i in range(len(history) - 1, -1, -1):
        if history[i][0] <= t:
            return history[i]
    return None


class SpeedSource:
    """The sensor's measurements and GNSS speeds by the time they were taken, for samples that lag them."""

    def __init__(self):
        self.count = None
        self.count_t = None        # the newest count reading: samples up to here are measured
        self.pulse = []            # (t, speed_01): the speed over the period ending at t, oldest first
        self.gnss_speeds = []      # (t, speed_01) of positioned fixes
        self.pulse_fault = False

    def pulses(self, t, count, k):
        # a speed is pulses over one sampling period: after a gap (supply off, a stalled sampler)
        # the count only becomes the new baseline
        if self.count is not None and count >= self.count and 0 < t - self.count_t <= STALE_MS and k is not None and k > 0:
            self.pulse.append((t, pulse_speed_01(count - self.count, t - self.count_t, k)))
            if len(self.pulse) > KEEP:
                del self.pulse[0]
        if self.count_t is None or t >= self.count_t:
            self.count, self.count_t = count, t

    def cut(self):
        """The supply went off: no reading comes now, so nothing measured before counts after it, and
        the first count after the supply returns is only a baseline."""
        self.pulse, self.gnss_speeds = [], []
        self.count = self.count_t = None

    def gnss(self, t, speed_01):
        self.gnss_speeds.append((t, speed_01))
        if len(self.gnss_speeds) > KEEP:
            del self.gnss_speeds[0]

    def at(self, t):
        """(speed_01, source, when it was measured) for a sample at ``t``."""
        pulse = _latest(self.pulse, t)
        gnss = _latest(self.gnss_speeds, t)
        pulse = pulse if pulse is not None and t - pulse[0] <= STALE_MS else None
        gnss = gnss if gnss is not None and t - gnss[0] <= STALE_MS else None
        # a reported pulse fault hands over to GNSS while there is GNSS; without it the pulses still count
        if pulse is not None and not (self.pulse_fault and gnss is not None):
            return pulse[1], SOURCE_PULSES, pulse[0]
        if gnss is not None:
            return gnss[1], SOURCE_GNSS, gnss[0]
        return NO_SPEED, SOURCE_NONE, None

    def horizon(self, now):
        """How far samples can be taken: up to the newest count reading while readings come."""
        if self.count_t is not None and 0 <= now - self.count_t <= STALE_MS:
            return self.count_t
        return now


class RecorderCore:
    def __init__(self, fatigue=None):
        self.source = SpeedSource()
        self.fatigue = fatigue or Fatigue()
        self.overspeed = Overspeed()
        self.speed_status = SpeedStatus(self.fatigue.offset_ms // 60_000)
        self.status = 0
        self.status_log = []       # (t, status) changes not yet sampled past
        self.pos = None            # last GNSS position (lat_1e6, lon_1e6, alt_m)
        self.pos_t = None
        self.moved_t = None        # when the position last changed
        self.frozen = False        # a stop was recorded for the position standing still while moving
        self.moving_since = None   # first sample in motion since the last still one
        self.limit_kmh = None      # the platform's speed limit
        self.hold_ms = 10_000      # the platform's overspeed duration
        self.next_fine = None
        self.fine = []             # the last samples (t, speed_01, status): STOP_SAMPLES + still ones
        self.still_since = None    # first still sample since the vehicle last moved
        self.sec = []              # samples of the current second: (speed_01, source)
        self.minute = []           # recorded speeds of the current minute
        self.minute_pos = None
        self.armed = False         # drove fast enough since the last stop
        self.powered = None

    # -- inputs (call advance(t) first so samples before t see the state before t) ---------------------
    def pulses(self, t, count, k):
        self.source.pulses(t, count, k)

    def set_status(self, t, status):
        """The status signals from ``t`` on (samples lag the readings: they take the status of their time)."""
        if status != self.status or not self.status_log:
            self.status_log.append((t, status))
        self.status = status

    def fix(self, t, speed_01, pos):
        self.source.gnss(t, speed_01)
        if pos is not None:
            if pos[:2] != (self.pos or (None, None))[:2]:
                self.moved_t, self.frozen = t, False
            self.pos, self.pos_t = pos, t
            self.minute_pos = pos

    def power(self, t, on):
        if on == self.powered:
            return []
        self.powered = on
        out = []
        if not on:
            self._run_to(t, out)       # no more readings come: the samples up to the cut from what was measured
            self.source.cut()
        out.append(("power", {"t_ms": t, "on": bool(on)}))
        if not on and self.armed and self.fine and self.still_since is None:
            out.append(self._stop(t, "power_off"))
        return out

    def driver(self, t, cert, signed_in):
        out = [("driver", {"t_ms": t, "driver_cert": cert, "event": "sign_in" if signed_in else "sign_out"})]
        out.extend(self.fatigue.change_driver(t, cert if signed_in else ""))
        return out

    # -- time -------------------------------------------------------------------------------------
    def advance(self, now):
        """Samples up to ``now``, or up to the newest pulse reading while readings come (they arrive in
        batches: a sample is taken once the reading that measured it is in)."""
        out = []
        self._run_to(self.source.horizon(now), out)
        return out

    def _run_to(self, until, out):
        if self.next_fine is None:
            self.next_fine = -(-until // FINE_MS) * FINE_MS
        if until - self.next_fine > MAX_FILL_MS:
            # the caller stalled: drop the partial second and minute, start afresh at now
            self.sec, self.fine = [], []
            self.next_fine = -(-until // FINE_MS) * FINE_MS
        while self.next_fine <= until:
            self._sample(self.next_fine, out)
            self.next_fine += FINE_MS

    def _status_at(self, t):
        log = self.status_log
        while len(log) > 1 and log[1][0] <= t:
            del log[0]
        return log[0][1] if log and log[0][0] <= t else self.status

    def _sample(self, t, out):
        speed, source, measured = self.source.at(t)
        if t % 1000 == 0 and self.sec:
            out.extend(self._second(t - 1000))
        if t % 60_000 == 0 and self.minute:
            out.extend(self._minute(t - 60_000))
        self.sec.append((speed, source))
        self.fine.append((t, speed, self._status_at(t), measured))
        if len(self.fine) > STOP_SAMPLES + STILL_MS // FINE_MS:
            del self.fine[0]
        if speed == NO_SPEED:
            return
        if speed >= MOVING_01:
            if self.moving_since is None:
                self.moving_since = t
            self.still_since = None
            # the position stood still for FROZEN_MS of motion (not counting time the car stood)
            if (self.armed and not self.frozen and self.moved_t is not None and t - self.pos_t <= STALE_MS
                    and t - max(self.moved_t, self.moving_since) >= FROZEN_MS):
                self.frozen = True
                out.append(self._stop(t, "position_unchanged", keep_armed=True))
        elif self.still_since is None:
            self.still_since, self.moving_since = t, None
        elif self.armed and t - self.still_since >= STILL_MS:
            out.append(self._stop(self.still_since, "stopped"))

    def _second(self, t):
        sec, self.sec = self.sec, []
        known = [s for s, _ in sec if s != NO_SPEED]
        if known:
            speed = (sum(known) * 2 + len(known)) // (2 * len(known))
            sources = [src for s, src in sec if s != NO_SPEED]
            source = max(set(sources), key=sources.count)
        else:
            speed, source = NO_SPEED, SOURCE_NONE
        self.minute.append(speed)
        if speed != NO_SPEED and speed >= ARM_01:
            self.armed = True
        out = [("second", t, speed, self._status_at(t), source)]
        out.extend(self.fatigue.second(t, speed, self.pos))
        out.extend(self.overspeed.second(t, speed, self.limit_kmh, self.hold_ms, self.pos, self.fatigue.driver))
        ref = _latest(self.source.gnss_speeds, t + 1000)
        ref = ref[1] if ref is not None and t + 1000 - ref[0] <= STALE_MS else None
        out.extend(self.speed_status.second(t, speed, source == SOURCE_PULSES, ref))
        return out

    def _minute(self, t):
        speeds = [s for s in self.minute if s != NO_SPEED]
        self.minute = []
        speed = (sum(speeds) * 2 + len(speeds)) // (2 * len(speeds)) if speeds else NO_SPEED
        pos, self.minute_pos = self.minute_pos, None
        return [("position", t, pos, speed)]

    def _stop(self, t, reason, keep_armed=False):
        self.armed = keep_armed
        samples = [f for f in self.fine if f[0] <= t][-STOP_SAMPLES:]
        return ("stop", {"t_ms": t, "reason": reason, "driver_cert": self.fatigue.driver, "interval_ms": FINE_MS,
                         "samples": [[s, st] for _, s, st, _ in samples],
                         "age_ms": [None if m is None else ft - m for ft, _, _, m in samples],
                         "first_ms": samples[0][0] if samples else t, "position": self.pos})

    def over_limit(self):
        return self.overspeed.active
