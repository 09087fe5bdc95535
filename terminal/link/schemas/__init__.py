"""The JSON Schemas of every MQTT message, and validators built from them.

The contract room of the house: ``up_<type>.json`` for each uplink payload,
``down_<command>.json`` for each downlink command, ``status.json`` for the retained
online status, ``common.json`` for shared definitions (all draft 2020-12, referring
to each other by their ``$id``; nothing is fetched from the network).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jsonschema import Draft202012Validator

try:
    from referencing import Registry, Resource
except ImportError:     # jsonschema < 4.18 (Debian bookworm's python3-jsonschema 4.10): see validator()
    Registry = Resource = None

HERE = Path(__file__).resolve().parent


@cache
def registry() -> Registry:
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


@cache
def validator(name: str) -> Draft202012Validator:
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    if Registry is None:
        # the same local store of schemas by $id through the older RefResolver; nothing is fetched
        from jsonschema import RefResolver
        store = {s["$id"]: s for s in (load(n) for n in names())}
        return Draft202012Validator(schema, resolver=RefResolver.from_schema(schema, store=store))
    return Draft202012Validator(schema, registry=registry())


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.json"))


def errors(name: str, instance: object) -> list[str]:
    """Every way ``instance`` breaks schema ``name``, one line each (empty when valid)."""
    found = []
    for err in sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        found.append(f"{where}: {err.message}")
    return found


def uplink_schema(topic_type: str) -> str:
    return f"up_{topic_type}"


def downlink_schema(command: str) -> str:
    return f"down_{command}"
