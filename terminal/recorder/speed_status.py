"""The speed status log (recorder room, pure): the sensor's speed against the GNSS reference (GB/T 19056 15H).

While the car drives at ``MIN_01`` (40 km/h) or more by GNSS and the second's speed comes
from the pulse sensor, each second is compared with the GNSS speed of that second (the
reference). ``WINDOW_S`` (60) such consecutive seconds make a judgement: the status is
normal (01H) when the sensor's speeds differ from the reference by at most ``TOLERANCE_PCT``
(11 %) of it in sum over the window, abnormal (02H) otherwise; then the next window starts.
A judgement is logged when its status differs from the last one logged, and the first
judgement of each local calendar day (so a log shows when the sensor went wrong and that it
was still checked). Any second that does not qualify (slower, no GNSS, the speed not from
pulses) starts the window afresh. These are this terminal's reading of the speed status
rules (the standard's own text was not read: docs/recorder.md).

Log body: ``t_ms`` (= ``end_ms``), ``start_ms``, ``end_ms`` (the window's first and last
second), ``status`` (1 normal, 2 abnormal), ``recorded`` and ``reference`` (60 speeds each,
0.1 km/h).
"""

MIN_01 = 400
WINDOW_S = 60
TOLERANCE_PCT = 11
NORMAL, ABNORMAL = 1, 2


class SpeedStatus:
    def __init__(self, utc_offset_min=480):
        self.offset_ms = utc_offset_min * 60_000
        self.window = []           # (t, recorded_01, reference_01)
        self.last_status = None
        self.last_day = None

    def snapshot(self):
        return {"last_status": self.last_status, "last_day": self.last_day}

    def restore(self, snap):
        self.last_status = snap.get("last_status")
        self.last_day = snap.get("last_day")

    def second(self, t, recorded_01, from_pulses, reference_01):
        """One recorded second starting at ``t``; returns a ``speed_status`` record when one is logged."""
        if not from_pulses or reference_01 is None or reference_01 < MIN_01 or recorded_01 == 0xFFFF:
            self.window = []
            return []
        if self.window and t - self.window[-1][0] != 1000:
            self.window = []
        self.window.append((t, recorded_01, reference_01))
        if len(self.window) < WINDOW_S:
            return []
        window, self.window = self.window, []
        deviation = sum(abs(r - ref) for _, r, ref in window)
        status = NORMAL if deviation * 100 <= TOLERANCE_PCT * sum(ref for _, _, ref in window) else ABNORMAL
        day = (t + self.offset_ms) // 86_400_000
        if status == self.last_status and day == self.last_day:
            return []
        self.last_status, self.last_day = status, day
        return [("speed_status", {"t_ms": window[-1][0], "start_ms": window[0][0], "end_ms": window[-1][0],
                                  "status": status, "recorded": [r for _, r, _ in window],
                                  "reference": [ref for _, _, ref in window]})]
