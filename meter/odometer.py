"""Distance from the vehicle speed sensor: cumulative pulses and the K constant.

Metres are always derived from the whole pulse count, floor(pulses * 1000 / K), never
summed from rounded pieces, so the odometer is exact to the pulse over a vehicle's
life (integers only: no drift at 10^6 km).
"""

from meter.errors import MeterError


def metres(pulses, k):
    return pulses * 1000 // k


class Odometer:
    """Turns cumulative readings (pulses, or GNSS metres) into cumulative metres."""

    def __init__(self, k, source="pulses"):
        if not isinstance(k, int) or isinstance(k, bool) or k < 100 or k > 100000:
            raise MeterError("K must be an integer from 100 to 100000 pulses/km (got %r)" % (k,))
        if source not in ("pulses", "gnss"):
            raise MeterError("distance source must be pulses or gnss (got %r)" % (source,))
        self.k = k
        self.source = source
        self.reading = None  # last cumulative reading of the active source
        self.base_m = 0      # metres accumulated before the current reading series

    def current_m(self):
        if self.reading is None:
            return self.base_m
        if self.source == "pulses":
            return self.base_m + metres(self.reading, self.k)
        return self.base_m + self.reading

    def metres_at(self, reading):
        """Cumulative metres if ``reading`` were accepted."""
        if self.source == "pulses":
            return self.base_m + reading * 1000 // self.k
        return self.base_m + reading

    def check(self, reading):
        """Raise MeterError if ``reading`` is not a valid next cumulative reading."""
        if not isinstance(reading, int) or isinstance(reading, bool) or reading < 0:
            raise MeterError("cumulative %s must be a non-negative integer (got %r)" % (self.source, reading))
        if self.reading is not None and reading < self.reading:
            raise MeterError("cumulative %s went backwards (%d after %d)" % (self.source, reading, self.reading))

    def advance(self, reading):
        """Accept a checked reading; return the metres it adds."""
        before = self.current_m()
        self.reading = reading
        return self.current_m() - before

    def discard(self, reading):
        """Accept a reading without crediting its distance (a rejected, implausible jump)."""
        before = self.current_m()
        self.reading = reading
        self.base_m = before - (self.current_m() - self.base_m)
        # after this, current_m() == before

    def set_k(self, k):
        """A new K from a calibration: metres already counted stay, later pulses use the new K."""
        if not isinstance(k, int) or isinstance(k, bool) or k < 100 or k > 100000:
            raise MeterError("K must be an integer from 100 to 100000 pulses/km (got %r)" % (k,))
        before = self.current_m()
        self.k = k
        if self.reading is not None and self.source == "pulses":
            self.base_m = before - self.reading * 1000 // k

    def snapshot(self):
        return {"k": self.k, "source": self.source, "reading": self.reading, "base_m": self.base_m}

    @staticmethod
    def restore(s):
        o = Odometer(s["k"], s["source"])
        o.reading = s["reading"]
        o.base_m = s["base_m"]
        return o
