"""Totalisers: the non-resettable counters of the meter's whole life, and shift counters.

Distances grow live as the vehicle moves; trip sums (hirings, fares, extras, waiting)
grow when a trip closes, so when the meter is for hire they equal the sums over the
stored trips. Only ``Shift`` counters are ever started afresh (at sign-in).
"""

FIELDS = ("total_m", "hired_m", "empty_m", "paused_m", "hirings", "fares_fen", "extras_fen",
          "waiting_ms", "power_losses")


class Totalisers:
    def __init__(self, values=None):
        for name in FIELDS:
            setattr(self, name, 0)
        if values:
            for name in FIELDS:
                setattr(self, name, values[name])

    def add_distance(self, state, dm):
        self.total_m += dm
        if state == "hired":
            self.hired_m += dm
        elif state in ("stopped", "settling"):
            self.paused_m += dm
        else:
            self.empty_m += dm

    def add_trip(self, record):
        self.fares_fen += record["fare_fen"]
        self.extras_fen += record["extras_fen"]
        self.waiting_ms += record["waiting_ms"]
        if "power_loss" in record["flags"]:
            self.power_losses += 1

    def as_dict(self):
        out = {}
        for name in FIELDS:
            out[name] = getattr(self, name)
        return out
