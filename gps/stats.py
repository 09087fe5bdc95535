"""GNSS input statistics: what the receiver sent and what we refused, as counters the terminal reports.

Every candidate sentence (a line that starts with ``$``) ends in exactly one outcome:
``parsed``, ``checksum_rejected``, ``missing_checksum``, ``overlong``, ``malformed``,
``unknown`` or ``absurd``. So ``sentences`` is always the sum of those seven, which the
fuzz tests check. Bytes outside any sentence are ``garbage_bytes``; ``unchecked`` counts
sentences accepted without a checksum when that was allowed; ``fixes`` counts fixes built
and ``fixes_rejected`` epochs refused (time going backwards, absurd date).
"""

OUTCOMES = ("parsed", "checksum_rejected", "missing_checksum", "overlong", "malformed", "unknown", "absurd")


class GnssStats:
    __slots__ = OUTCOMES + ("sentences", "garbage_bytes", "unchecked", "fixes", "fixes_rejected")

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}

    def outcomes_total(self) -> int:
        return sum(getattr(self, name) for name in OUTCOMES)
