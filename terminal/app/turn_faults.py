"""Faults inside the loop's turn (application room): the loop outlives them, loudly but not endlessly.

An exception in one event's handler or in one step of the periodic turn is a defect, not a reason
to stop the terminal (docs/powerfail.md): the other desks keep their turn (the meter's snapshot
among them), the fault is logged with its trace, and the audit trail gets one ``software_fault``
record for the place that failed. A place that fails at every turn — five a second — is audited
once while it keeps failing, so a defect cannot fill the trail; the log repeats the trace at its
1st, 2nd, 4th, 8th... failure in a row only. The same place failing again after it worked is a
new fault and audited again. ``failing`` (place -> failures in a row) is what the simulator and
the drill read to call any of it a broken invariant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("taxiterm")


class TurnFaults:
    def __init__(self, audit_event: Callable[..., object]) -> None:
        self._audit_event = audit_event
        self.failing: dict[str, int] = {}
        self.total = 0

    def failed(self, place: str, what: str) -> None:
        """Call from inside ``except``: the exception being handled is the fault at ``place``."""
        count = self.failing.get(place, 0) + 1
        self.failing[place] = count
        self.total += 1
        if count & (count - 1) == 0:
            log.error("%s failed (%d in a row); the terminal carries on", place, count, exc_info=True)
        if count == 1:
            try:
                self._audit_event("software_fault", place, None, what)
            except Exception:  # noqa: BLE001 - the trail itself failing must not end the loop either
                log.exception("software_fault at %s could not be audited", place)

    def worked(self, place: str) -> None:
        self.failing.pop(place, None)
