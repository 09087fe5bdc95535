"""The NMEA pipeline in one object: bytes to fixes and antenna reports, with statistics.

``NmeaDecoder.feed(chunk)`` runs framer, parser and fix builder over a chunk and returns
what came out in order: ``Fix`` objects and ``AntennaReport`` objects. Used by the
serial reader thread and by ``taxiterm gnss decode``; pure, so a log decodes the same
way in a test, a benchmark and the car.
"""

from gps.fix import Fix, FixBuilder
from gps.framer import DEFAULT_MAX_LENGTH, NmeaFramer
from gps.health import antenna_status
from gps.parse import DEFAULT_MAX_SPEED_MPS, DEFAULT_MIN_YEAR, Pgtop, Pynmea2Parser, SentenceParser, Txt
from gps.stats import GnssStats


class AntennaReport:
    __slots__ = ("status", "talker")

    def __init__(self, status: str, talker: str) -> None:
        self.status, self.talker = status, talker

    def __repr__(self) -> str:
        return f"AntennaReport({self.status!r}, {self.talker!r})"


class NmeaDecoder:
    def __init__(self, *, parser: str = "fast", allow_missing_checksum: bool = False,
                 max_length: int = DEFAULT_MAX_LENGTH, max_speed_mps: float = DEFAULT_MAX_SPEED_MPS,
                 min_year: int = DEFAULT_MIN_YEAR) -> None:
        if parser not in ("fast", "pynmea2"):
            raise ValueError(f"parser must be 'fast' or 'pynmea2', not {parser!r}")
        self.stats = GnssStats()
        self.framer = NmeaFramer(self.stats, max_length=max_length, allow_missing_checksum=allow_missing_checksum)
        cls = SentenceParser if parser == "fast" else Pynmea2Parser
        self.parser = cls(self.stats, max_speed_mps=max_speed_mps, min_year=min_year)
        self.builder = FixBuilder(self.stats)

    def feed(self, chunk: bytes) -> list:
        return self._run(self.framer.feed(chunk))

    def flush(self) -> list:
        out = self._run(self.framer.flush())
        fix = self.builder.flush()
        if fix is not None:
            out.append(fix)
        return out

    def _run(self, bodies: list[str]) -> list:
        out = []
        parse, add = self.parser.parse, self.builder.add
        for body in bodies:
            record = parse(body)
            if record is None:
                continue
            cls = type(record)
            if cls is Txt or cls is Pgtop:
                status = antenna_status(record)
                if status is not None:
                    out.append(AntennaReport(status, record.talker))
                continue
            fix = add(record)
            if fix is not None:
                out.append(fix)
        return out


def decode_bytes(data: bytes, **options) -> tuple[list[Fix], GnssStats]:
    """All fixes of a complete log, and its statistics."""
    decoder = NmeaDecoder(**options)
    items = decoder.feed(data) + decoder.flush()
    return [item for item in items if type(item) is Fix], decoder.stats
