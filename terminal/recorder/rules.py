"""Fatigue and overspeed rules (recorder room, pure): from one recorded second to alarms and records.

Driving time is time in motion: a recorded second whose average speed is at least
``MOVING_01`` (1 km/h). A stop shorter than the rest (``rest_ms``, 20 min by default)
neither counts nor ends the continuous driving; a stop of at least the rest ends it.
Continuous driving over ``continuous_ms`` (4 h) raises ``continuous_driving`` and, when it
ends, leaves an overtime driving record (GB/T 19056's 超时驾驶记录). Daily driving is the
driving time of the signed-in driver on the local calendar day; over ``daily_ms`` it raises
``daily_driving``. A new driver (sign-in or sign-out) ends the continuous driving of the
one before. "Over" is strictly more than the limit; a rest of exactly ``rest_ms`` resets.

Overspeed: the recorded speed above the platform's limit (``speed_limit_kmh``) for at
least ``hold_ms`` (the platform's ``overspeed_s``) is overspeed until a second at or below
the limit ends it with an overspeed record (start, end, top speed, limit, position).

Positions are plain tuples ``(lat_1e6, lon_1e6, alt_m)`` or None; times are epoch ms.
"""

MOVING_01 = 10                 # 1 km/h in 0.1 km/h: a second at or above it is driving
DAY_MS = 86_400_000


class Fatigue:
    def __init__(self, continuous_ms=4 * 3600_000, rest_ms=20 * 60_000, daily_ms=8 * 3600_000,
                 utc_offset_min=480):
        self.continuous_ms = continuous_ms
        self.rest_ms = rest_ms
        self.daily_ms = daily_ms
        self.offset_ms = utc_offset_min * 60_000
        self.driver = ""
        self.run = None            # the open continuous driving: dict (see _start)
        self.day = None
        self.daily = {}            # driver -> ms driven on self.day
        self.alarms = {"continuous_driving": False, "daily_driving": False}

    # -- state that survives a restart ----------------------------------------------------------
    def snapshot(self):
        return {"driver": self.driver, "run": self.run, "day": self.day, "daily": dict(self.daily),
                "alarms": dict(self.alarms)}

    def restore(self, snap):
        self.driver = snap.get("driver", "")
        self.run = snap.get("run")
        self.day = snap.get("day")
        self.daily = dict(snap.get("daily", {}))
        self.alarms.update(snap.get("alarms", {}))

    # -- inputs ---------------------------------------------------------------------------------
    def second(self, t, speed_01, pos):
        """One recorded second starting at ``t``; returns records and alarm changes."""
        out = []
        day = (t + self.offset_ms) // DAY_MS
        if day != self.day:
            self.day = day
            self.daily = {}
        run = self.run
        if speed_01 != 0xFFFF and speed_01 >= MOVING_01:
            if run is not None and t - run["last"] >= self.rest_ms:
                out.extend(self._end())
            if self.run is None:
                self.run = run = {"start": t, "last": t + 1000, "driven": 0, "start_pos": pos, "end_pos": pos}
            run["driven"] += 1000
            run["last"] = t + 1000
            if pos is not None:
                run["end_pos"] = pos
            self.daily[self.driver] = self.daily.get(self.driver, 0) + 1000
        elif run is not None and t + 1000 - run["last"] >= self.rest_ms:
            out.extend(self._end())
        out.extend(self._alarms())
        return out

    def change_driver(self, t, driver):
        """Sign-in or sign-out: the continuous driving so far was the previous driver's."""
        out = self._end() if self.run is not None else []
        self.driver = driver or ""
        out.extend(self._alarms())
        return out

    def continuous(self):
        return self.run["driven"] if self.run is not None else 0

    def today(self):
        return self.daily.get(self.driver, 0)

    # -- what follows -------------------------------------------------------------------------------
    def _end(self):
        run, self.run = self.run, None
        if run["driven"] > self.continuous_ms:
            return [("overtime", {"driver_cert": self.driver, "start_ms": run["start"], "end_ms": run["last"],
                                  "driven_ms": run["driven"], "start_pos": run["start_pos"],
                                  "end_pos": run["end_pos"]})]
        return []

    def _alarms(self):
        out = []
        for name, active in (("continuous_driving", self.continuous() > self.continuous_ms),
                             ("daily_driving", self.today() > self.daily_ms)):
            if self.alarms[name] != active:
                self.alarms[name] = active
                out.append(("alarm", name, active))
        return out


class Overspeed:
    def __init__(self):
        self.start = None          # first second above the limit
        self.top = 0
        self.limit_01 = None
        self.start_pos = None
        self.active = False

    def snapshot(self):
        return {"start": self.start, "top": self.top, "limit_01": self.limit_01, "start_pos": self.start_pos,
                "active": self.active}

    def restore(self, snap):
        for key in ("start", "top", "limit_01", "start_pos", "active"):
            setattr(self, key, snap.get(key, getattr(self, key)))

    def second(self, t, speed_01, limit_kmh, hold_ms, pos, driver):
        """One recorded second; returns an overspeed record when an overspeed ends."""
        limit_01 = limit_kmh * 10 if limit_kmh else None
        over = limit_01 is not None and speed_01 != 0xFFFF and speed_01 > limit_01
        if over:
            if self.start is None:
                self.start, self.top, self.limit_01, self.start_pos = t, speed_01, limit_01, pos
            self.top = max(self.top, speed_01)
            if t + 1000 - self.start >= hold_ms:
                self.active = True
            return []
        out = []
        if self.start is not None and self.active:
            out.append(("overspeed", {"driver_cert": driver, "start_ms": self.start, "end_ms": t,
                                      "top_01kmh": self.top, "limit_kmh": self.limit_01 // 10,
                                      "start_pos": self.start_pos, "end_pos": pos}))
        self.start, self.active = None, False
        return out
