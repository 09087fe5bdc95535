"""Printer status: ESC/POS real-time status (DLE EOT n) asked, parsed and summarised.

Every reply byte of DLE EOT 1..4 has bits 1 and 4 set and bits 0 and 7 clear; a byte
that does not is malformed. No reply within the timeout means the printer is offline
(powered off, cable out). Malformed replies never raise: they give a status that is
not ready with reason "malformed_reply".

  n=1 printer:      bit 3 offline
  n=2 offline cause: bit 2 cover open, bit 5 printing stopped by paper end, bit 6 error
  n=3 error cause:  bit 3 auto-cutter error, bit 5 unrecoverable, bit 6 auto-recoverable
  n=4 paper sensor: bits 2+3 paper near end, bits 5+6 paper end
"""

from __future__ import annotations

from dataclasses import dataclass

from printer.device import PrinterLinkError

DLE_EOT = b"\x10\x04"
QUERIES = (1, 2, 3, 4)

# reasons, most important first: what the driver must fix
REASONS = ("no_reply", "link_error", "malformed_reply", "cover_open", "paper_out", "error", "offline")


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    reason: str | None = None  # None when ready to print
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.reason is None

    def event_data(self) -> dict:
        """The data of an Event("printer_status", ...)."""
        return {"online": self.online, "paper_out": self.paper_out, "cover_open": self.cover_open,
                "paper_near_end": self.paper_near_end, "reason": self.reason, "detail": self.detail}


def is_well_formed(byte: int) -> bool:
    return byte & 0x93 == 0x12


def summarise(replies: dict[int, bytes]) -> PrinterStatus:
    """The printer's status from its replies to DLE EOT 1..4 (b"" = no reply). Pure."""
    values: dict[int, int] = {}
    for n in QUERIES:
        reply = replies.get(n, b"")
        if not reply:
            return PrinterStatus(online=False, reason="no_reply", detail=f"no reply to DLE EOT {n}")
        if len(reply) != 1 or not is_well_formed(reply[0]):
            return PrinterStatus(online=False, reason="malformed_reply",
                                 detail=f"DLE EOT {n} answered {reply.hex()}")
        values[n] = reply[0]
    offline = bool(values[1] & 0x08)
    cover_open = bool(values[2] & 0x04)
    paper_out = bool(values[2] & 0x20) or values[4] & 0x60 == 0x60
    near_end = values[4] & 0x0C == 0x0C
    error = bool(values[2] & 0x40) or bool(values[3] & 0x68)
    reason = None
    if cover_open:
        reason = "cover_open"
    elif paper_out:
        reason = "paper_out"
    elif error:
        reason = "error"
    elif offline:
        reason = "offline"
    return PrinterStatus(online=not offline, cover_open=cover_open, paper_out=paper_out,
                         paper_near_end=near_end, error=error, reason=reason)


def query_status(connection, timeout_s: float = 0.5) -> PrinterStatus:
    """Ask DLE EOT 1..4 over an open PrinterConnection; never raises for a bad printer."""
    replies: dict[int, bytes] = {}
    try:
        connection.discard_input()
        for n in QUERIES:
            connection.write(DLE_EOT + bytes([n]))
            replies[n] = connection.read_reply(timeout_s)
            if not replies[n]:
                break
    except PrinterLinkError as exc:
        return PrinterStatus(online=False, reason="link_error", detail=str(exc))
    return summarise(replies)
