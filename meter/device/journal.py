"""The meter's own flash: an append-only, hash-chained journal in two regions (meter firmware room).

The flash is split into two halves. Each half starts with a *base* record (generation number,
the chain head before it, and the whole state), followed by event records. Every record is

    5A | length u16 | payload | head (32 bytes)

with ``head = sha256(previous head + payload)``: one hash is at once the record's checksum and
a link of the chain whose last head the device reports (docs/meter-device.md). Reading stops at
the first record that is incomplete or whose head does not match, so a power cut at any byte
leaves every record before it readable. The next boot finds the torn tail, and because NOR
flash cannot be rewritten in place it moves the state into the other half (a new base record
with generation + 1); the old half stays valid until the new base is complete. Compaction into
the other half also happens when a half is full.

Pure (the flash is an object with ``size``, ``read``, ``write``, ``erase``) and MicroPython-
compatible.
"""

import hashlib
import json

MAGIC = 0x5A
HEAD = 32
_OVER = 3 + HEAD
ZERO = bytes(HEAD)


class JournalError(Exception):
    pass


def chain(prev, payload):
    return hashlib.sha256(prev + payload).digest()


class Journal:
    """Open with ``Journal(flash)``; ``state`` is the last base state, ``events`` what followed it."""

    def __init__(self, flash):
        self.flash = flash
        self.half = flash.size // 2
        self.region = 0
        self.gen = 0
        self.head = ZERO
        self.end = 0          # next free offset inside the active region
        self.seq = 0          # records in the chain since the device was new
        self.state = None
        self.events = []
        self.torn = False
        self._open()

    # -- reading -------------------------------------------------------------------------
    def _record(self, base, off, prev):
        """(payload, head, next offset) of the record at ``off`` in the region, or None."""
        if off + _OVER > self.half:
            return None
        hdr = self.flash.read(base + off, 3)
        if hdr[0] != MAGIC:
            return None
        n = (hdr[1] << 8) | hdr[2]
        if off + _OVER + n > self.half:
            return None
        payload = self.flash.read(base + off + 3, n)
        head = self.flash.read(base + off + 3 + n, HEAD)
        if prev is None:                      # a base record carries its own predecessor
            try:
                prev = _unhex(json.loads(payload)["prev"])
            except (ValueError, KeyError, TypeError):
                return None
        if chain(prev, payload) != head:
            return None
        return payload, head, off + _OVER + n

    def _base(self, region):
        rec = self._record(region * self.half, 0, None)
        if rec is None:
            return None
        try:
            base = json.loads(rec[0])
            return base["gen"], base, rec
        except (ValueError, KeyError, TypeError):
            return None

    def _open(self):
        best = None
        for region in (0, 1):
            found = self._base(region)
            if found is not None and (best is None or found[0] > best[1]):
                best = (region, found[0], found[1], found[2])
        if best is None:
            self.region = 0
            self.torn = not self._erased(0, 0)
            return
        region, gen, base, rec = best
        self.region, self.gen = region, gen
        self.state = base["state"]
        self.seq = base["seq"]
        head, off = rec[1], rec[2]
        events = []
        while True:
            nxt = self._record(region * self.half, off, head)
            if nxt is None:
                break
            events.append(json.loads(nxt[0]))
            head, off = nxt[1], nxt[2]
            self.seq += 1
        self.head, self.end, self.events = head, off, events
        self.torn = not self._erased(region, off)

    def _erased(self, region, off):
        base = region * self.half
        step = 256
        while off < self.half:
            n = min(step, self.half - off)
            if self.flash.read(base + off, n) != b"\xff" * n:
                return False
            off += n
        return True

    # -- writing -------------------------------------------------------------------------
    def _write(self, region, off, payload, prev):
        n = len(payload)
        if n > 0xFFFF:
            raise JournalError("record of %d bytes is too long" % n)
        head = chain(prev, payload)
        self.flash.write(region * self.half + off, bytes((MAGIC, n >> 8, n & 0xFF)) + payload + head)
        return head, off + _OVER + n

    def rebase(self, state, event=None):
        """Write ``state`` as the base of the other half (compaction, or the first start).

        ``event``, when given, is already part of ``state``: it is kept in the base record for
        the log's reader and is not applied again on replay."""
        other = 1 - self.region if self.state is not None else self.region
        self.flash.erase(other * self.half, self.half)
        self.seq += 1
        payload = json.dumps({"gen": self.gen + 1, "prev": _hex(self.head), "seq": self.seq,
                              "state": state, "event": event}).encode()
        if len(payload) + _OVER > self.half:
            raise JournalError("state of %d bytes does not fit a half" % len(payload))
        head, end = self._write(other, 0, payload, self.head)
        self.region, self.gen, self.head, self.end = other, self.gen + 1, head, end
        self.state, self.events, self.torn = state, [], False

    def append(self, event, state_now):
        """Append one event already applied; ``state_now()`` is the state with it, should the
        half be full or its tail torn: then that state becomes the other half's base instead."""
        payload = json.dumps(event).encode()
        if self.torn or self.state is None or self.end + _OVER + len(payload) > self.half:
            self.rebase(state_now(), event)
            return
        self.head, self.end = self._write(self.region, self.end, payload, self.head)
        self.seq += 1      # ``events`` holds what was read at open only: RAM is 264 KB

    def used(self):
        return self.end


def _hex(b):
    return "".join("%02x" % x for x in b)


def _unhex(s):
    if len(s) != 2 * HEAD:
        raise ValueError("bad head")
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))
