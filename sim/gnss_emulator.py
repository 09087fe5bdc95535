"""GNSS receiver emulator: NMEA from a route or a log, served on a pseudo-terminal like a real receiver.

The generator is pure: ``nmea_epochs(samples, ...)`` yields ``(t_ms, bytes)`` per epoch
(t_ms from the start of the stream), so a simulation can consume it on a virtual clock.
``replay_epochs(log_bytes)`` does the same for a recorded NMEA log, spacing its epochs
by the receiver times written in it. ``GnssPtyServer`` is the thin shell: a thread that
writes each epoch to a ``sim.pty.PtyDevice`` when its time comes (as gpsd's gpsfake does).

Receiver styles (talker and sentence order in the manner of each family):
  ublox   GN talker: RMC VTG GGA GSA GSV GLL; antenna as $GNTXT ANTSTATUS=...
  mtk     GP talker: GGA GSA GSV RMC VTG; antenna as $PGTOP,11,n
  beidou  BD talker: GGA GSA GSV RMC VTG ZDA; antenna as $BDTXT ... ANTENNA OPEN/OK/SHORT
Faults are lists of ``(start_s, duration_s[, value])``: ``dropouts`` (no fix, data
continues), ``silences`` (no bytes), ``jumps`` (position off by value metres east),
``antenna_faults`` (value "open" or "short": the report, then no fix until it ends).
"""

import datetime
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from gps.framer import with_checksum
from sim.gnss_route import TruthSample, offset
from sim.pty import PtyDevice

STYLES = {"ublox": "GN", "mtk": "GP", "beidou": "BD"}
MPS_KNOT = 3600.0 / 1852.0
DEFAULT_START_MS = 1_790_000_000_000  # 2026-09-21T14:13:20Z, a fixed start keeps outputs reproducible


def _within(t_s: float, periods) -> tuple | None:
    for period in periods:
        if period[0] <= t_s < period[0] + period[1]:
            return period
    return None


def _lat_text(lat: float, decimals: int) -> tuple[str, str]:
    hemisphere = "N" if lat >= 0 else "S"
    lat = abs(lat)
    deg = int(lat)
    minutes = round((lat - deg) * 60, decimals)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:02d}{minutes:0{3 + decimals}.{decimals}f}", hemisphere


def _lon_text(lon: float, decimals: int) -> tuple[str, str]:
    hemisphere = "E" if lon >= 0 else "W"
    lon = abs(lon)
    deg = int(lon)
    minutes = round((lon - deg) * 60, decimals)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:03d}{minutes:0{3 + decimals}.{decimals}f}", hemisphere


class _Sky:
    """A plausible constellation for GSA/GSV (not used by any position maths)."""

    def __init__(self, rng: random.Random, talker: str) -> None:
        self.gps = sorted(rng.sample(range(1, 33), 9))
        self.beidou = sorted(rng.sample(range(1, 64), 8))
        self.talker = talker
        self.view = {prn: (rng.randint(10, 85), rng.randint(0, 359), rng.randint(22, 48))
                     for prn in self.gps + self.beidou}
        self._gsv: dict = {}
        self._gsa: dict = {}

    def gsv(self, talker: str, prns: list[int]) -> list[str]:
        """The GSV sentences of this (unchanging) sky, made once per talker."""
        key = (talker, tuple(prns))
        lines = self._gsv.get(key)
        if lines is None:
            lines = self._gsv[key] = self._make_gsv(talker, prns)
        return lines

    def gsa(self, talker: str) -> str:
        """The GSA sentence of a 3D fix on the used satellites (the sky does not change)."""
        line = self._gsa.get(talker)
        if line is None:
            used = self.used()
            line = self._gsa[talker] = (f"{talker}GSA,A,3," + ",".join([f"{p:02d}" for p in used] + [""] * (12 - len(used)))
                                        + ",1.61,0.92,1.32")
        return line

    def used(self) -> list[int]:
        return (self.beidou if self.talker in ("BD", "GB") else self.gps)[:8]

    def _make_gsv(self, talker: str, prns: list[int]) -> list[str]:
        groups = [prns[i:i + 4] for i in range(0, len(prns), 4)]
        out = []
        for n, group in enumerate(groups, 1):
            sats = ",".join(f"{p:02d},{self.view[p][0]:02d},{self.view[p][1]:03d},{self.view[p][2]:02d}"
                            for p in group)
            out.append(f"{talker}GSV,{len(groups)},{n},{len(prns):02d},{sats}")
        return out


def nmea_epochs(samples: Iterable[TruthSample], *, style: str = "ublox", talker: str | None = None,
                noise_m: float = 3.0, speed_noise_mps: float = 0.1, seed: int = 0,
                start_ms: int = DEFAULT_START_MS, dropouts=(), silences=(), jumps=(), antenna_faults=(),
                ) -> Iterator[tuple[int, bytes]]:
    """One ``(t_ms, bytes)`` per epoch of ``samples``; t_ms counts from the first sample."""
    if style not in STYLES:
        raise ValueError(f"unknown receiver style {style!r}; known: {', '.join(STYLES)}")
    talker = talker or STYLES[style]
    if talker not in ("GP", "GN", "BD", "GB", "GL", "GA"):
        raise ValueError(f"unknown talker {talker!r}")
    if noise_m < 0 or speed_noise_mps < 0:
        raise ValueError("noise must not be negative")
    rng = random.Random(seed)
    sky = _Sky(rng, talker)
    decimals = 4 if style == "mtk" else 5
    antenna_state = "ok"
    # Sentences that never change (the sky's GSV and GSA, the no-fix VTG) are framed once; every
    # other sentence gets its checksum each epoch. Times are cut from the epoch's milliseconds.
    framed: dict[str, bytes] = {}
    any_day = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    constant = _epoch(style, talker, sky, True, "", "", any_day, 0.0, 0.0, 0.0, 0.0, decimals, True)
    constant += _epoch(style, talker, sky, False, "", "", any_day, 0.0, 0.0, 0.0, 0.0, decimals, True)
    for line in constant:
        if "GSV," in line or "GSA," in line or line.endswith("VTG,,,,,,,,,N"):
            framed[line] = with_checksum(line)
    midnights: dict[int, datetime.datetime] = {}
    for sample in samples:
        t_s = sample.t_ms / 1000.0
        if _within(t_s, silences):
            continue
        lines: list[str] = []
        fault = _within(t_s, antenna_faults)
        wanted = fault[2] if fault else "ok"
        if wanted != antenna_state:
            antenna_state = wanted
            lines.append(_antenna_line(style, talker, wanted))
        fixed = fault is None and _within(t_s, dropouts) is None
        north = rng.gauss(0.0, noise_m)
        east = rng.gauss(0.0, noise_m)
        jump = _within(t_s, jumps)
        if jump:
            east += jump[2]
        lat, lon = offset(sample.lat, sample.lon, north, east)
        speed = abs(sample.speed_mps + rng.gauss(0.0, speed_noise_mps))
        course = sample.course_deg if sample.speed_mps > 0.5 else (sample.course_deg + rng.gauss(0, 20)) % 360
        hms, dmy, moment = _stamp(start_ms + sample.t_ms, style, midnights)
        whole_second = sample.t_ms % 1000 == 0
        lines.extend(_epoch(style, talker, sky, fixed, hms, dmy, moment, lat, lon, speed, course, decimals,
                            whole_second))
        yield sample.t_ms, b"".join([framed.get(line) or with_checksum(line) for line in lines])


def _stamp(epoch_ms, style: str, midnights: dict) -> tuple[str, str, datetime.datetime]:
    """(hhmmss.ss[s], ddmmyy, the moment) of a UTC epoch in ms; whole ms are cut without datetime."""
    if type(epoch_ms) is not int or epoch_ms < 0:
        moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC)
        hms = moment.strftime("%H%M%S") + (f".{moment.microsecond // 10000:02d}" if style == "ublox"
                                           else f".{moment.microsecond // 1000:03d}")
        return hms, moment.strftime("%d%m%y"), moment
    day, ms = divmod(epoch_ms, 86_400_000)
    known = midnights.get(day)
    if known is None:
        midnight = datetime.datetime.fromtimestamp(day * 86_400, datetime.UTC)
        known = midnights[day] = (midnight.strftime("%d%m%y"), midnight)
    dmy, midnight = known
    s, ms = divmod(ms, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    hms = f"{h:02d}{m:02d}{s:02d}.{ms // 10:02d}" if style == "ublox" else f"{h:02d}{m:02d}{s:02d}.{ms:03d}"
    return hms, dmy, midnight


def _antenna_line(style: str, talker: str, state: str) -> str:
    if style == "mtk":
        return "PGTOP,11," + {"ok": "3", "open": "2", "short": "1"}[state]
    if style == "ublox":
        return f"{talker}TXT,01,01,02,ANTSTATUS={state.upper()}"
    return f"{talker}TXT,01,01,01,ANTENNA {state.upper()}"


def _epoch(style, talker, sky, fixed, hms, dmy, moment, lat, lon, speed, course, decimals, whole_second):
    if fixed:
        lat_t, ns = _lat_text(lat, decimals)
        lon_t, ew = _lon_text(lon, decimals)
        knots = f"{speed * MPS_KNOT:.3f}"
        kmh = f"{speed * 3.6:.3f}"
        track = f"{course:.2f}"
        used = sky.used()
        sats, hdop, alt = len(used), "0.92", "12.4"
        rmc = f"{talker}RMC,{hms},A,{lat_t},{ns},{lon_t},{ew},{knots},{track},{dmy},,,A"
        gga = f"{talker}GGA,{hms},{lat_t},{ns},{lon_t},{ew},1,{sats:02d},{hdop},{alt},M,7.1,M,,"
        vtg = f"{talker}VTG,{track},T,,M,{knots},N,{kmh},K,A"
        gsa = sky.gsa(talker)
        gll = f"{talker}GLL,{lat_t},{ns},{lon_t},{ew},{hms},A,A"
    else:
        rmc = f"{talker}RMC,{hms},V,,,,,,,{dmy},,,N"
        gga = f"{talker}GGA,{hms},,,,,0,00,99.99,,,,,,"
        vtg = f"{talker}VTG,,,,,,,,,N"
        gsa = f"{talker}GSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"
        gll = f"{talker}GLL,,,,,{hms},V,N"
    gsv = []
    if whole_second:
        if talker in ("BD", "GB"):
            gsv = sky.gsv(talker, sky.beidou)
        elif talker == "GN":
            gsv = sky.gsv("GP", sky.gps) + sky.gsv("GB", sky.beidou)
        else:
            gsv = sky.gsv(talker, sky.gps)
    if style == "ublox":
        return [rmc, vtg, gga, gsa, *gsv, gll]
    if style == "mtk":
        return [gga, gsa, *gsv, rmc, vtg]
    zda = f"{talker}ZDA,{hms},{moment.day:02d},{moment.month:02d},{moment.year:04d},00,00"
    return [gga, gsa, *gsv, rmc, vtg, zda]


def _line_time_ms(line: bytes) -> int | None:
    """Time of day in a timed sentence (RMC, GGA, GLL, ZDA), or None."""
    body = line.lstrip(b"$")
    kind = body[2:5]
    fields = body.split(b"*", 1)[0].split(b",")
    if kind in (b"RMC", b"GGA", b"ZDA"):
        stamp = fields[1] if len(fields) > 1 else b""
    elif kind == b"GLL":
        stamp = fields[5] if len(fields) > 5 else b""
    else:
        return None
    try:
        text = stamp.decode("ascii")
        return int(text[0:2]) * 3_600_000 + int(text[2:4]) * 60_000 + round(float(text[4:]) * 1000)
    except (ValueError, UnicodeDecodeError):
        return None


def replay_epochs(log: bytes) -> Iterator[tuple[int, bytes]]:
    """A recorded log as ``(t_ms, bytes)`` epochs, spaced by the receiver times in it. Lines
    before the first timed sentence go out at 0; a backwards time step keeps the clock still."""
    t_ms = 0
    first: int | None = None
    last_tod: int | None = None
    day = 0
    chunk: list[bytes] = []
    for line in log.splitlines(keepends=True):
        tod = _line_time_ms(line) if line.startswith(b"$") else None
        if tod is not None and tod != last_tod:
            if last_tod is not None and tod < last_tod - 43_200_000:
                day += 86_400_000  # midnight
            if chunk and first is not None:  # lines before the first time join the first epoch
                yield t_ms, b"".join(chunk)
                chunk = []
            if first is None:
                first = tod
            t_ms = max(t_ms, day + tod - first)
            last_tod = tod
        chunk.append(line)
    if chunk:
        yield t_ms, b"".join(chunk)


class GnssPtyServer:
    """Writes epochs to a pseudo-terminal at their times (``speed`` > 1 plays faster).

    ``path`` is what the terminal opens. ``start()`` begins, ``wait()`` blocks until the
    stream is done, ``stop()`` ends early; ``close()`` releases the pty.
    """

    def __init__(self, epochs: Iterable[tuple[int, bytes]], *, speed: float = 1.0, loop: bool = False,
                 clock: Callable[[], float] = time.monotonic, device: PtyDevice | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.device = device or PtyDevice()
        self.path = self.device.path
        self.speed = speed
        self._epochs = list(epochs) if loop else epochs
        self._loop = loop
        self._clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gnss-emulator", daemon=True)
        self.epochs_sent = 0

    def start(self) -> "GnssPtyServer":
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            begin = self._clock()
            offset_ms = None
            for t_ms, data in self._epochs:
                if offset_ms is None:
                    offset_ms = t_ms
                due = begin + (t_ms - offset_ms) / 1000.0 / self.speed
                delay = due - self._clock()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                try:
                    self.device.write(data)
                except OSError:
                    return  # pty closed under us: the emulator is being shut down
                self.epochs_sent += 1
            if not self._loop or self._stop.is_set():
                return

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def close(self) -> None:
        self.stop()
        self.device.close()

    def __enter__(self) -> "GnssPtyServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
