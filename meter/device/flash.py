"""Flash stand-ins for the meter firmware (meter firmware room): NOR semantics in RAM or a file.

``RamFlash`` behaves as NOR flash does: erased bytes read FF, a write can only clear bits, and
``budget`` (bytes that may still be written) lets a test cut the power at any byte: the write
that crosses it stores what fits and raises ``PowerCut``. ``FileFlash`` keeps the same bytes
in a file (the device emulator's flash). The real part is ``rp2.Flash`` behind meter/device/hw.py.
"""


class PowerCut(Exception):
    pass


class RamFlash:
    def __init__(self, size, data=None, budget=None):
        self.size = size
        self.mem = bytearray(data) if data is not None else bytearray(b"\xff" * size)
        self.budget = budget
        self.written = 0

    def read(self, off, n):
        return bytes(self.mem[off:off + n])

    def _spend(self, n):
        if self.budget is None:
            return n
        room = min(n, self.budget)
        self.budget -= room
        return room

    def write(self, off, data):
        if off < 0 or off + len(data) > self.size:
            raise ValueError("write outside the flash")
        room = self._spend(len(data))
        for i in range(room):
            self.mem[off + i] &= data[i]
        self.written += room
        if room < len(data):
            raise PowerCut("power cut after %d bytes" % self.written)

    def erase(self, off, n):
        if self._spend(1) < 1:
            raise PowerCut("power cut before an erase")
        for i in range(off, off + n):
            self.mem[i] = 0xFF
        self.written += 1


class FileFlash(RamFlash):
    """The flash as a file of ``size`` bytes (created erased); every change goes to the file."""

    def __init__(self, path, size):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        if len(data) != size:
            data = b"\xff" * size
        RamFlash.__init__(self, size, data)
        self.path = path
        self._sync(0, size)

    def _sync(self, off, n):
        mode = "r+b"
        try:
            f = open(self.path, mode)
        except OSError:
            f = open(self.path, "wb")
            f.write(bytes(self.mem))
            f.close()
            return
        f.seek(off)
        f.write(bytes(self.mem[off:off + n]))
        f.close()

    def write(self, off, data):
        try:
            RamFlash.write(self, off, data)
        finally:
            self._sync(off, len(data))

    def erase(self, off, n):
        RamFlash.erase(self, off, n)
        self._sync(off, n)
