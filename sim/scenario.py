"""Scenario files: a simulated vehicle's shift as TOML, read and checked whole (docs/scenarios.md).

The script room of the simulator. ``load(path)`` / ``parse(data, base)`` turn a scenario
file into a ``Scenario``: the vehicle (K, board, plate), the tariff file, the driver,
named routes and the shift's timeline of actions. Every mistake is a ``ScenarioError``
naming the key (``actions[3].duration: ...``); nothing is guessed.

Two kinds of action. *Driving* actions (``sign_in``, ``sign_out``, ``hail``, ``order``,
``cruise``, ``park``, ``out_of_service``) run one after another, each starting when the
previous one ends (or at its ``at`` time, if later). *Incidents* (``power_dip``,
``power_loss``, ``broker_outage``, ``gnss_dropout``, ``antenna_fault``, ``paper_out``,
``alarm``, ``notice``) happen at a moment whatever the car is doing: at ``at`` (a local
time) or ``into`` (a duration after the start of the driving action before them).
"""

from __future__ import annotations

import datetime
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TARIFF = "sim/data/tariff-demo.toml"

DRIVING = ("sign_in", "sign_out", "hail", "order", "cruise", "park", "out_of_service")
INCIDENTS = ("power_dip", "power_loss", "broker_outage", "gnss_dropout", "antenna_fault", "paper_out",
             "alarm", "notice")
ORDER_OUTCOMES = ("completed", "rejected", "timeout", "cancelled_by_centre", "cancelled_by_driver")

# Keys each action takes beyond do/at/into, with a checker and a default (None: required).
_DUR = "duration"
_ACTION_KEYS: dict[str, dict[str, tuple[str, object]]] = {
    "sign_in": {}, "sign_out": {},
    "hail": {"route": ("route", None), "wait": (_DUR, "0s"), "pause": (_DUR, "0s"), "tolls_fen": ("fen", 0)},
    "order": {"outcome": ("outcome", "completed"), "order_type": ("order_type", "immediate"),
              "pickup_route": ("route", {"length_m": 1200}), "route": ("route", {"length_m": 5000}),
              "answer_after": (_DUR, "4s"), "cancel_after": (_DUR, "60s"), "wait": (_DUR, "0s"),
              "tolls_fen": ("fen", 0), "address": ("text", "候车点")},
    "cruise": {"route": ("route", None)},
    "park": {"duration": (_DUR, None)},
    "out_of_service": {"duration": (_DUR, None)},
    "power_dip": {"duration": (_DUR, "3s")},
    "power_loss": {"duration": (_DUR, "60s")},
    "broker_outage": {"duration": (_DUR, None), "mode": ("outage_mode", "kill")},
    "gnss_dropout": {"duration": (_DUR, None)},
    "antenna_fault": {"duration": (_DUR, None), "fault": ("antenna", "open")},
    "paper_out": {"duration": (_DUR, None)},
    "alarm": {"hold": (_DUR, "3500ms"), "confirm_after": (_DUR, "20s"), "release_after": (_DUR, "120s")},
    "notice": {"text": ("text", None)},
}


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names the key."""


@dataclass(frozen=True)
class RouteSpec:
    """Either a generated city route (``length_m``, ``seed``) or relative ``legs``
    (metres, heading degrees, speed km/h, stop seconds), both starting where the car is."""

    length_m: int | None = None
    seed: int = 1
    legs: tuple[tuple[float, float, float, float], ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Action:
    index: int
    do: str
    at_ms: int | None = None          # absolute epoch ms (from ``at``)
    into_ms: int | None = None        # incidents: after the start of the previous driving action
    params: dict = field(default_factory=dict)

    @property
    def driving(self) -> bool:
        return self.do in DRIVING

    def where(self) -> str:
        return f"actions[{self.index}] ({self.do})"


@dataclass(frozen=True)
class Vehicle:
    terminal_id: str = "T0042"
    k: int = 1000
    board: str = "sim"
    plate: str = "浙A·T1234"
    company: str = "杭州示范出租汽车有限公司"
    pulse_input: str = "gpio"         # gpio: pulses on a mock pin; kernel: a counter file
    gnss_style: str = "ublox"
    origin: tuple[float, float] = (30.2741, 120.1551)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    start_ms: int
    utc_offset_min: int
    seed: int
    vehicle: Vehicle
    tariff: Path
    driver_cert: str
    report: dict
    routes: dict[str, RouteSpec]
    actions: tuple[Action, ...]
    source: Path | None = None
    end_ms: int | None = None         # the shift stops here, whatever is still to come
    recorder: dict = field(default_factory=dict)   # [recorder]: fatigue limits, the platform's speed limit


# -- values ---------------------------------------------------------------------------------------

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def duration_ms(text, where: str) -> int:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"3500ms"`` (or several: ``"1h30m"``) to milliseconds."""
    if not isinstance(text, str) or not text:
        raise ScenarioError(f"{where}: a duration is a string like \"90s\", \"15m\", \"2h\", got {text!r}")
    total, rest = 0, text
    while rest:
        match = re.match(r"(\d+)(ms|s|m|h)", rest)
        if not match:
            raise ScenarioError(f"{where}: bad duration {text!r} (use ms, s, m, h: \"1h30m\")")
        total += int(match.group(1)) * _UNIT_MS[match.group(2)]
        rest = rest[match.end():]
    return total


def local_ms(text, offset_min: int, where: str) -> int:
    """``"YYYY-MM-DD HH:MM[:SS]"`` at ``offset_min`` east of UTC to epoch ms."""
    if not isinstance(text, str):
        raise ScenarioError(f"{where}: expected \"YYYY-MM-DD HH:MM\", got {text!r}")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            moment = datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
        tz = datetime.timezone(datetime.timedelta(minutes=offset_min))
        return int(moment.replace(tzinfo=tz).timestamp() * 1000)
    raise ScenarioError(f"{where}: expected \"YYYY-MM-DD HH:MM[:SS]\", got {text!r}")


def _time_of_day(text, start_ms: int, offset_min: int, where: str) -> int:
    """``"HH:MM[:SS]"`` on the shift's day (the next day if before the start), or a full date."""
    if isinstance(text, str) and re.match(r"^\d{4}-", text):
        return local_ms(text, offset_min, where)
    match = re.match(r"^(\d{2}):(\d{2})(?::(\d{2}))?$", text) if isinstance(text, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ScenarioError(f"{where}: expected a local time \"HH:MM[:SS]\", got {text!r}")
    h, m, s = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    day_ms = 86_400_000
    local_start = start_ms + offset_min * 60_000
    midnight = local_start - local_start % day_ms
    t = midnight + ((h * 60 + m) * 60 + s) * 1000 - offset_min * 60_000
    if t < start_ms:
        t += day_ms
    return t


def _route(value, routes: dict, where: str) -> RouteSpec:
    if isinstance(value, str):
        if value not in routes:
            raise ScenarioError(f"{where}: no route named {value!r}; defined: {', '.join(routes) or 'none'}")
        return routes[value]
    if isinstance(value, dict):
        return _route_spec(value, where)
    raise ScenarioError(f"{where}: a route is a name or an inline table, got {value!r}")


def _route_spec(table: dict, where: str, name: str = "") -> RouteSpec:
    unknown = set(table) - {"length_m", "seed", "legs", "name"}
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: length_m, seed, legs")
    if ("length_m" in table) == ("legs" in table):
        raise ScenarioError(f"{where}: give either length_m (a generated city route) or legs")
    seed = table.get("seed", 1)
    if not _plain_int(seed):
        raise ScenarioError(f"{where}.seed must be an integer")
    if "length_m" in table:
        length = table["length_m"]
        if not _plain_int(length) or not 100 <= length <= 200_000:
            raise ScenarioError(f"{where}.length_m must be an integer from 100 to 200000, got {length!r}")
        return RouteSpec(length_m=length, seed=seed, name=name)
    legs = table["legs"]
    if not isinstance(legs, list) or not legs:
        raise ScenarioError(f"{where}.legs must be a non-empty list of [metres, heading, km/h, stop_s]")
    out = []
    for i, leg in enumerate(legs):
        if (not isinstance(leg, list) or len(leg) != 4
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in leg)):
            raise ScenarioError(f"{where}.legs[{i}] must be [metres, heading_deg, speed_kmh, stop_s]")
        metres, heading, kmh, stop = leg
        if not (1 <= metres <= 100_000 and 0 <= heading < 360 and 1 <= kmh <= 200 and 0 <= stop <= 3600):
            raise ScenarioError(f"{where}.legs[{i}] out of range: metres 1..100000, heading 0..359, "
                                f"km/h 1..200, stop 0..3600 s")
        out.append((float(metres), float(heading), float(kmh), float(stop)))
    return RouteSpec(legs=tuple(out), seed=seed, name=name)


def _plain_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _param(kind: str, value, routes: dict, where: str):
    if kind == _DUR:
        return duration_ms(value, where)
    if kind == "route":
        return _route(value, routes, where)
    if kind == "fen":
        if not _plain_int(value) or not 0 <= value <= 100_000:
            raise ScenarioError(f"{where} must be an integer of fen from 0 to 100000, got {value!r}")
        return value
    if kind == "text":
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise ScenarioError(f"{where} must be a non-empty text of at most 200 characters")
        return value
    choices = {"outcome": ORDER_OUTCOMES, "order_type": ("immediate", "reservation", "assigned"),
               "outage_mode": ("kill", "cut"), "antenna": ("open", "short")}[kind]
    if value not in choices:
        raise ScenarioError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return value


# -- the file ---------------------------------------------------------------------------------------

_TOP = ("scenario", "vehicle", "tariff", "driver", "report", "routes", "actions")
_TOP += ("recorder",)
RECORDER_CONFIG = ("continuous_s", "rest_s", "daily_s")      # the terminal's [recorder] (docs/recorder.md)
RECORDER_LIMITS = ("speed_limit_kmh", "overspeed_s")          # sent by the platform at the start (params)


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path} is not UTF-8 text (a scenario is TOML, docs/scenarios.md)") from None
    return parse(data, path.parent, source=path)


def _table(data: dict, name: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"[{name}] must be a table")
    return value


def _only(table: dict, allowed: tuple, where: str) -> None:
    unknown = set(table) - set(allowed)
    if unknown:
        raise ScenarioError(f"unknown key(s) {', '.join(sorted(unknown))} in [{where}]; known: {', '.join(allowed)}")


def parse(data: dict, base: Path = REPO, source: Path | None = None) -> Scenario:
    unknown = set(data) - set(_TOP)
    if unknown:
        raise ScenarioError(f"unknown section(s) {', '.join(sorted(unknown))}; known: {', '.join(_TOP)}")
    head = _table(data, "scenario")
    _only(head, ("name", "description", "start", "end", "utc_offset_min", "seed"), "scenario")
    if "name" not in head or not isinstance(head["name"], str) or not re.match(r"^[a-z0-9_-]{1,40}$", head["name"]):
        raise ScenarioError("scenario.name is required: 1-40 of a-z 0-9 _ -")
    offset = head.get("utc_offset_min", 480)
    if not _plain_int(offset) or not -720 <= offset <= 840:
        raise ScenarioError("scenario.utc_offset_min must be an integer from -720 to 840")
    if "start" not in head:
        raise ScenarioError("scenario.start is required (\"YYYY-MM-DD HH:MM\", local time)")
    start_ms = local_ms(head["start"], offset, "scenario.start")
    seed = head.get("seed", 1)
    if not _plain_int(seed):
        raise ScenarioError("scenario.seed must be an integer")
    end_ms = _time_of_day(head["end"], start_ms, offset, "scenario.end") if "end" in head else None

    vt = _table(data, "vehicle")
    _only(vt, ("terminal_id", "k", "board", "plate", "company", "pulse_input", "gnss_style", "origin"), "vehicle")
    vehicle = Vehicle(**{k: (tuple(v) if k == "origin" else v) for k, v in vt.items()})
    if not _plain_int(vehicle.k) or not 100 <= vehicle.k <= 100_000:
        raise ScenarioError(f"vehicle.k must be an integer from 100 to 100000 pulses/km, got {vehicle.k!r}")
    if vehicle.board != "sim":
        raise ScenarioError(f"vehicle.board: the simulator runs the sim board only, got {vehicle.board!r}")
    if vehicle.pulse_input not in ("gpio", "kernel"):
        raise ScenarioError("vehicle.pulse_input must be gpio or kernel")
    if vehicle.gnss_style not in ("ublox", "mtk", "beidou"):
        raise ScenarioError("vehicle.gnss_style must be ublox, mtk or beidou")
    if (len(vehicle.origin) != 2 or not -90 <= vehicle.origin[0] <= 90 or not -180 <= vehicle.origin[1] <= 180):
        raise ScenarioError("vehicle.origin must be [latitude, longitude]")
    if not isinstance(vehicle.terminal_id, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", vehicle.terminal_id):
        raise ScenarioError("vehicle.terminal_id must be 1-64 of A-Z a-z 0-9 _ . -")

    tt = _table(data, "tariff")
    _only(tt, ("file",), "tariff")
    tariff_name = tt.get("file", DEFAULT_TARIFF)
    tariff = Path(tariff_name)
    if not tariff.is_absolute():
        tariff = base / tariff if (base / tariff).exists() else REPO / tariff
    if not tariff.is_file():
        raise ScenarioError(f"tariff.file: no such file {tariff_name}")

    dt = _table(data, "driver")
    _only(dt, ("cert",), "driver")
    driver = dt.get("cert", "330100123456")
    if not isinstance(driver, str) or not 1 <= len(driver) <= 32:
        raise ScenarioError("driver.cert must be 1-32 characters (the qualification certificate number)")

    report = _table(data, "report")
    _only(report, ("vacant_s", "occupied_s", "alarm_s", "health_s"), "report")
    recorder = _table(data, "recorder")
    _only(recorder, RECORDER_CONFIG + RECORDER_LIMITS, "recorder")
    for key, value in recorder.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ScenarioError(f"recorder.{key} must be a positive integer, got {value!r}")

    routes: dict[str, RouteSpec] = {}
    rt = _table(data, "routes")
    for name, table in rt.items():
        if not isinstance(table, dict):
            raise ScenarioError(f"routes.{name} must be a table")
        routes[name] = _route_spec(table, f"routes.{name}", name)

    raw = data.get("actions")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError("the scenario needs [[actions]]")
    actions = []
    last_driving_start: int | None = None
    for i, table in enumerate(raw):
        where = f"actions[{i}]"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where} must be a table")
        do = table.get("do")
        if do not in _ACTION_KEYS:
            raise ScenarioError(f"{where}.do must be one of {', '.join(_ACTION_KEYS)}, got {do!r}")
        spec = _ACTION_KEYS[do]
        allowed = {"do", "at", *spec} | ({"into"} if do in INCIDENTS else set())
        unknown = set(table) - allowed
        if unknown:
            raise ScenarioError(f"{where} ({do}): unknown key(s) {', '.join(sorted(unknown))}; "
                                f"known: {', '.join(sorted(allowed))}")
        at_ms = into_ms = None
        if "at" in table and "into" in table:
            raise ScenarioError(f"{where} ({do}): give at or into, not both")
        if "at" in table:
            at_ms = _time_of_day(table["at"], start_ms, offset, f"{where}.at")
        if "into" in table:
            if last_driving_start is None:
                raise ScenarioError(f"{where}.into needs a driving action before it")
            into_ms = duration_ms(table["into"], f"{where}.into")
        if do in INCIDENTS and at_ms is None and into_ms is None:
            raise ScenarioError(f"{where} ({do}): an incident needs at (a time) or into (a duration)")
        params = {}
        for key, (kind, default) in spec.items():
            if key in table:
                params[key] = _param(kind, table[key], routes, f"{where}.{key}")
            elif default is None:
                raise ScenarioError(f"{where} ({do}): {key} is required")
            else:
                params[key] = _param(kind, default, routes, f"{where}.{key}")
        if params.get("tolls_fen", 0) % 10 or params.get("tolls_fen", 0) >= 1_000_000:
            raise ScenarioError(f"{where}.tolls_fen must be whole jiao below 10000 yuan (keyed digit by digit)")
        if do in DRIVING:
            last_driving_start = i
        actions.append(Action(i, do, at_ms, into_ms, params))
    return Scenario(head["name"], str(head.get("description", "")), start_ms, offset, seed, vehicle, tariff,
                    driver, dict(report), routes, tuple(actions), source, end_ms, dict(recorder))


BUNDLED = Path(__file__).resolve().parent / "scenarios"


def bundled() -> list[Path]:
    return sorted(BUNDLED.glob("*.toml"))


def find(name_or_path: str) -> Path:
    """A scenario path, or the name of a bundled one (``day-shift``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = BUNDLED / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    names = ", ".join(p.stem for p in bundled())
    raise ScenarioError(f"no scenario file {name_or_path} (bundled: {names})")
