"""Downlink guard (link room): counts every downlink message and keeps junk from flooding the link or the audit trail.

Anyone on the broker can send junk. It is answered with an error acknowledgement
only while a token bucket allows (``error_acks_per_s``, burst ``error_ack_burst``);
beyond that it is counted as unanswered. Every refusal is counted per fault kind
for the health report, and at most one audit record per kind per
``fault_audit_s`` is written, carrying how many of that kind came since the last
one, so no remote party can fill the audit trail. Pure: time is passed in.
"""

from __future__ import annotations


class TokenBucket:
    def __init__(self, per_s: float, burst: int) -> None:
        self.per_ms = per_s / 1000.0
        self.burst = float(burst)
        self.tokens = float(burst)
        self.last_ms: int | None = None

    def allow(self, now_ms: int) -> bool:
        if self.last_ms is not None and now_ms > self.last_ms:
            self.tokens = min(self.burst, self.tokens + (now_ms - self.last_ms) * self.per_ms)
        if self.last_ms is None or now_ms > self.last_ms:
            self.last_ms = now_ms
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class DownlinkGuard:
    def __init__(self, error_acks_per_s: float = 2.0, error_ack_burst: int = 10, fault_audit_s: int = 3600) -> None:
        self.bucket = TokenBucket(error_acks_per_s, error_ack_burst)
        self.audit_interval_ms = fault_audit_s * 1000
        self.received = 0
        self.answered = 0          # error and repeated acknowledgements sent
        self.accepted = 0
        self.repeated = 0
        self.refused = 0
        self.unanswered = 0
        self.link_restarts = 0
        self.faults: dict[str, int] = {}
        self._audited_ms: dict[str, int] = {}
        self._unaudited: dict[str, int] = {}

    def answer_allowed(self, now_ms: int) -> bool:
        """Whether an error (or repeated) acknowledgement may go out now; counts it unanswered if not."""
        if self.bucket.allow(now_ms):
            self.answered += 1
            return True
        self.unanswered += 1
        return False

    def fault(self, kind: str, now_ms: int) -> int | None:
        """Count one fault of ``kind``; returns how many to audit now (None: not this time)."""
        self.faults[kind] = self.faults.get(kind, 0) + 1
        self._unaudited[kind] = self._unaudited.get(kind, 0) + 1
        last = self._audited_ms.get(kind)
        if last is not None and now_ms - last < self.audit_interval_ms:
            return None
        self._audited_ms[kind] = now_ms
        return self._unaudited.pop(kind)

    def counters(self) -> dict:
        return {"received": self.received, "accepted": self.accepted, "repeated": self.repeated,
                "answered": self.answered,
                "refused": self.refused, "unanswered": self.unanswered, "faults": dict(self.faults),
                "link_restarts": self.link_restarts}
