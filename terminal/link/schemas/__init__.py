"""The JSON Schemas of every MQTT message, and validators built from them.

The contract room of the house: ``up_<type>.json`` for each uplink payload,
``down_<command>.json`` for each downlink command, ``status.json`` for the retained
online status, ``common.json`` for shared definitions (all draft 2020-12, referring
to each other by their ``$id``; nothing is fetched from the network).

``errors()`` checks with ``check.Checker``, the small checker of the keywords these schemas
use (the car's process does not import jsonschema: about 15 MB). ``validator()`` builds a
full ``jsonschema`` validator for tests and tools, importing it only then.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from terminal.link.schemas.check import Checker

HERE = Path(__file__).resolve().parent


@cache
def checker() -> Checker:
    return Checker([json.loads(p.read_text(encoding="utf-8")) for p in sorted(HERE.glob("*.json"))])


@cache
def registry():
    """The schemas as a ``referencing`` registry, for ``jsonschema`` (tests and tools only)."""
    from referencing import Registry, Resource

    resources = []
    for path in sorted(HERE.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@cache
def load(name: str) -> dict:
    """The schema ``name`` (file stem, e.g. "up_location"); KeyError if there is none."""
    path = HERE / f"{name}.json"
    if not path.is_file() or name.startswith("_"):
        raise KeyError(f"no schema {name!r}")
    return json.loads(path.read_text(encoding="utf-8"))


# None: jsonschema's ``referencing`` registry when it is installed (jsonschema >= 4.18), else
# the older RefResolver (Debian bookworm's python3-jsonschema 4.10); False forces the latter.
USE_REGISTRY: bool | None = None


def _registry_available() -> bool:
    if USE_REGISTRY is not None:
        return USE_REGISTRY
    try:
        import referencing  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def validator(name: str):
    """A full jsonschema Draft 2020-12 validator of schema ``name`` (tests and tools only)."""
    from jsonschema import Draft202012Validator

    schema = load(name)
    Draft202012Validator.check_schema(schema)
    if not _registry_available():
        # the same local store of schemas by $id through the older RefResolver; nothing is fetched
        from jsonschema import RefResolver
        store = {s["$id"]: s for s in (load(n) for n in names())}
        return Draft202012Validator(schema, resolver=RefResolver.from_schema(schema, store=store))
    return Draft202012Validator(schema, registry=registry())


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def errors(name: str, instance: object) -> list[str]:
    """Every way ``instance`` breaks schema ``name``, one line each (empty when valid)."""
    return list(dict.fromkeys(checker().errors(load(name)["$id"], instance)))


def uplink_schema(topic_type: str) -> str:
    return f"up_{topic_type}"


def downlink_schema(command: str) -> str:
    return f"down_{command}"
