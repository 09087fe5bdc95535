"""Replay of a meter event file through the taximeter core: the bench test of a tariff.

Reads JSON lines (docs/meter-replay.md), applies them in order, and yields one result
line per event. A bad line stops the replay with an error naming its line number;
nothing after it is applied.
"""

import json
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path

from meter.errors import MeterError, TariffError
from meter.tariff import Schedule, parse_schedule
from meter.taximeter import Taximeter


class ReplayError(Exception):
    def __init__(self, line_no: int, reason: str) -> None:
        super().__init__(f"line {line_no}: {reason}")
        self.line_no = line_no
        self.reason = reason


def load_schedule(path: Path) -> Schedule:
    """Read and validate a tariff file (TOML); errors name the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TariffError("file", f"cannot read {path}: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TariffError("file", f"{path} is not valid TOML: {exc}") from exc
    return parse_schedule(data)


def view_line(line_no: int, t_ms: int, meter: Taximeter) -> dict:
    v = meter.view()
    return {
        "line": line_no, "t_ms": t_ms, "state": v["state"], "fare_fen": v["fare_fen"],
        "distance_m": v["distance_m"], "waiting_ms": v["waiting_ms"], "extras_fen": v["extras_fen"],
        "total_fen": v["total_fen"], "speed_kmh": v["speed_kmh"], "fault": v["fault"],
        "powered": v["powered"],
    }


def replay(meter: Taximeter, lines: Iterable[str], trips: list) -> Iterator[dict]:
    """Apply event lines; yield a view per event; append closed trips to ``trips``."""
    for line_no, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReplayError(line_no, f"not valid JSON: {exc.msg}") from exc
        try:
            trips.extend(meter.apply(event))
        except MeterError as exc:
            raise ReplayError(line_no, str(exc)) from exc
        yield view_line(line_no, event["t_ms"], meter)
