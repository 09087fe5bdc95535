"""A tiny driver for tests: feeds 1 Hz pulse readings at a speed, keeping exact fractions."""

from tests.meter.support import FRI_10H


class Drive:
    def __init__(self, meter, t=FRI_10H, k=1000):
        self.m = meter
        self.t = t
        self.k = k
        self.num = (meter.odometer.reading or 0) * 3600000  # pulses * 3,600,000, exact
        self.closed = []

    def run(self, seconds, kmh, step_ms=1000):
        for _ in range(seconds * 1000 // step_ms):
            self.t += step_ms
            self.num += kmh * self.k * step_ms
            self.closed += self.m.apply({"t_ms": self.t, "pulses": self.num // 3600000})
        return self

    def key(self, name, after_ms=0, **kw):
        self.t += after_ms
        event = {"t_ms": self.t, "key": name}
        event.update(kw)
        self.closed += self.m.apply(event)
        return self

    def power(self, on, after_ms=0):
        self.t += after_ms
        self.closed += self.m.apply({"t_ms": self.t, "power": "on" if on else "off"})
        return self

    def fare(self):
        return self.m.view()["fare_fen"]
