"""A small JSON Schema (draft 2020-12) checker for the subset our message schemas use.

The contract room of the house. ``jsonschema`` with ``referencing`` costs the car's process
about 15 MB of memory for checking a platform command now and then; this checks the same
schemas with the keywords they use: type, const, enum, minimum/maximum (and the exclusive
forms), minLength/maxLength, pattern, required, properties, patternProperties,
additionalProperties, minProperties/maxProperties, dependentRequired, items, prefixItems,
minItems/maxItems, uniqueItems, allOf/anyOf/oneOf/not, if/then/else and $ref (to a
``$defs`` entry of the same schema or of another one by its ``$id``). Annotations (title,
description, format, ...) are ignored, as a 2020-12 validator does by default. A keyword
outside this list raises ``SchemaError`` when the schema is compiled, so a schema can
never quietly use more than is checked here. tests/link/test_schema_check.py runs this
and jsonschema on generated valid and invalid payloads and requires the same verdicts;
jsonschema stays a test dependency only.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag

ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default",
                         "format", "deprecated", "readOnly", "writeOnly"})
ASSERTIONS = frozenset({"type", "const", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                        "minLength", "maxLength", "pattern", "required", "properties", "patternProperties",
                        "additionalProperties", "minProperties", "maxProperties", "dependentRequired", "items",
                        "prefixItems", "minItems", "maxItems", "uniqueItems", "allOf", "anyOf", "oneOf", "not",
                        "if", "then", "else", "$ref"})


class SchemaError(ValueError):
    """A schema uses something this checker does not check."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def json_equal(a, b) -> bool:
    """Equality as JSON means it: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class Checker:
    """Every schema document by its ``$id``; ``errors(id, instance)`` lists what is wrong."""

    def __init__(self, documents: list[dict]) -> None:
        self.documents = {doc["$id"]: doc for doc in documents}
        self._patterns: dict[str, re.Pattern] = {}
        for doc in documents:
            self._compile(doc, doc["$id"])

    def _compile(self, schema, base: str) -> None:
        """Refuse a keyword we do not check; resolve every $ref once (a dangling one fails here)."""
        if isinstance(schema, bool):
            return
        for key, value in schema.items():
            if key not in ASSERTIONS and key not in ANNOTATIONS:
                raise SchemaError(f"{base}: keyword {key!r} is not checked by terminal.link.schemas.check")
            if key == "pattern":
                self._patterns[value] = re.compile(value)
            elif key == "$ref":
                self._resolve(value, base)
            elif key in ("properties", "patternProperties", "$defs"):
                for name, sub in value.items():
                    if key == "patternProperties":
                        self._patterns[name] = re.compile(name)
                    self._compile(sub, base)
            elif key in ("allOf", "anyOf", "oneOf", "prefixItems"):
                for sub in value:
                    self._compile(sub, base)
            elif key in ("not", "if", "then", "else", "items", "additionalProperties"):
                self._compile(value, base)

    def _resolve(self, ref: str, base: str) -> tuple[dict | bool, str]:
        url, fragment = urldefrag(ref)
        doc_id = url or base
        if doc_id not in self.documents:
            raise SchemaError(f"$ref {ref!r}: no schema with $id {doc_id!r}")
        node = self.documents[doc_id]
        for part in [p for p in fragment.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError):
                raise SchemaError(f"$ref {ref!r}: nothing at {fragment!r}") from None
        return node, doc_id

    def errors(self, schema_id: str, instance) -> list[str]:
        found: list[str] = []
        self._check(self.documents[schema_id], schema_id, instance, "", found)
        return found

    def valid(self, schema, base: str, instance) -> bool:
        found: list[str] = []
        self._check(schema, base, instance, "", found)
        return not found

    def _check(self, schema, base: str, value, path: str, out: list[str]) -> None:
        if schema is True:
            return
        if schema is False:
            out.append(f"{path or '(top)'}: nothing is allowed here")
            return
        where = path or "(top)"

        def fail(message: str) -> None:
            out.append(f"{where}: {message}")

        if "$ref" in schema:
            target, target_base = self._resolve(schema["$ref"], base)
            self._check(target, target_base, value, path, out)
        kind = schema.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(TYPES[k](value) for k in kinds):
                fail(f"{value!r} is not of type {', '.join(map(repr, kinds))}")
                return
        if "const" in schema and not json_equal(value, schema["const"]):
            fail(f"{schema['const']!r} was expected")
        if "enum" in schema and not any(json_equal(value, option) for option in schema["enum"]):
            fail(f"{value!r} is not one of {schema['enum']!r}")
        if _is_number(value):
            self._number(schema, value, fail)
        elif isinstance(value, str):
            self._string(schema, value, fail)
        elif isinstance(value, list):
            self._array(schema, base, value, path, out, fail)
        elif isinstance(value, dict):
            self._object(schema, base, value, path, out, fail)
        for sub in schema.get("allOf", ()):
            self._check(sub, base, value, path, out)
        if "anyOf" in schema and not any(self.valid(sub, base, value) for sub in schema["anyOf"]):
            fail("does not match any of the allowed forms (anyOf)")
        if "oneOf" in schema and sum(self.valid(sub, base, value) for sub in schema["oneOf"]) != 1:
            fail("does not match exactly one allowed form (oneOf)")
        if "not" in schema and self.valid(schema["not"], base, value):
            fail(f"{value!r} is not allowed here (not)")
        if "if" in schema:
            branch = "then" if self.valid(schema["if"], base, value) else "else"
            if branch in schema:
                self._check(schema[branch], base, value, path, out)

    @staticmethod
    def _number(schema, value, fail) -> None:
        if "minimum" in schema and value < schema["minimum"]:
            fail(f"{value!r} is less than the minimum of {schema['minimum']!r}")
        if "maximum" in schema and value > schema["maximum"]:
            fail(f"{value!r} is greater than the maximum of {schema['maximum']!r}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            fail(f"{value!r} is not above {schema['exclusiveMinimum']!r}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            fail(f"{value!r} is not below {schema['exclusiveMaximum']!r}")

    def _string(self, schema, value: str, fail) -> None:
        if "minLength" in schema and len(value) < schema["minLength"]:
            fail(f"{value!r} is shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            fail(f"{value!r} is longer than {schema['maxLength']} characters")
        if "pattern" in schema and not self._patterns[schema["pattern"]].search(value):
            fail(f"{value!r} does not match {schema['pattern']!r}")

    def _array(self, schema, base, value: list, path, out, fail) -> None:
        if "minItems" in schema and len(value) < schema["minItems"]:
            fail(f"has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            fail(f"has more than {schema['maxItems']} items")
        prefix = schema.get("prefixItems", ())
        for i, (sub, item) in enumerate(zip(prefix, value, strict=False)):
            self._check(sub, base, item, f"{path}/{i}" if path else str(i), out)
        if "items" in schema:
            for i in range(len(prefix), len(value)):
                self._check(schema["items"], base, value[i], f"{path}/{i}" if path else str(i), out)
        if schema.get("uniqueItems"):
            for i in range(len(value)):
                if any(json_equal(value[i], value[j]) for j in range(i)):
                    fail("has non-unique items")
                    break

    def _object(self, schema, base, value: dict, path, out, fail) -> None:
        for name in schema.get("required", ()):
            if name not in value:
                fail(f"{name!r} is a required property")
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            fail(f"has fewer than {schema['minProperties']} properties")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            fail(f"has more than {schema['maxProperties']} properties")
        for name, needs in schema.get("dependentRequired", {}).items():
            if name in value:
                for other in needs:
                    if other not in value:
                        fail(f"{other!r} is required when {name!r} is present")
        properties = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            at = f"{path}/{name}" if path else name
            matched = name in properties
            if matched:
                self._check(properties[name], base, item, at, out)
            for pattern, sub in patterns.items():
                if self._patterns[pattern].search(name):
                    matched = True
                    self._check(sub, base, item, at, out)
            if not matched and extra is not True:
                if extra is False:
                    fail(f"additional property {name!r} is not allowed")
                else:
                    self._check(extra, base, item, at, out)
