"""Speed plausibility of distance readings, over a sliding window (room: meter).

A pulse generator on the sensor line must not be able to credit distance faster than
``max_kmh`` by reading often, nor a genuine drive fault because of how often it is read
or because the meter was off for a moment. So a reading is not judged against the
reading before it but against an *anchor*: the latest remembered reading at least
``window_ms`` older and at least ``window_counts`` counts lower (the window is a second
or N pulses, whichever is longer); while there is none, the oldest remembered reading.
The reading is plausible if the counts since the anchor are at most ``max_kmh`` over the
real time since the anchor (a power gap included). Every accepted reading is judged
against an earlier accepted one, so the counts since the first reading never exceed
``max_kmh`` times the time since it, plus the one count the first reading may have been
part-way into, whatever the cadence (docs/meter.md).

Memory stays small: the oldest reading is kept; a later one with the same count as the
newest remembered one, or less than ``window_ms // 8`` after the second newest, takes
the newest one's place; readings older than the anchor are forgotten.
"""


class SpeedWindow:
    def __init__(self, max_kmh, window_ms, window_counts, counts_per_km):
        self.max_kmh = max_kmh
        self.window_ms = window_ms
        self.window_counts = window_counts
        self.per_km = counts_per_km
        self.points = []   # [t_ms, count] of remembered accepted readings, oldest first

    def restart(self, t, count):
        """Forget the history: (t, count) is the only reading judged against from now on."""
        self.points = [[t, count]]

    def admit(self, t, count):
        """Judge the reading (t, count): remember it and return None if plausible, else its km/h."""
        pts = self.points
        wms = self.window_ms
        t_lim = t - wms
        c_lim = count - self.window_counts
        i = len(pts) - 1
        while i > 0:
            p = pts[i]
            if p[0] <= t_lim and p[1] <= c_lim:
                break
            i -= 1
        at, ac = pts[i]
        dc = count - ac
        if at > t_lim or ac > c_lim:
            # short of the window (only just after the first reading): one count is allowed
            # for the count the first reading was already part-way into
            dc -= 1
        if dc * 3600000 > self.max_kmh * self.per_km * (t - at):
            dt = t - at
            return (count - ac) * 3600000 // (self.per_km * (dt if dt > 0 else 1))
        if i:
            del pts[:i]
        if len(pts) > 1 and (count == pts[-1][1] or t - pts[-2][0] < wms // 8):
            pts[-1] = [t, count]
        else:
            pts.append([t, count])
        return None

    def set_per_km(self, counts_per_km):
        """A new K: counts before it are in other units, so only the last reading is kept."""
        self.per_km = counts_per_km
        if self.points:
            self.points = [self.points[-1]]
