"""The small schema checker gives jsonschema's verdict on every message schema, valid and invalid payloads alike."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.link import schemas
from terminal.link.schemas.check import Checker, SchemaError, json_equal

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(), st.floats(allow_nan=False),
                 st.text(max_size=5), st.lists(st.integers(0, 2), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _parts(schema: dict, base: str, seen=()) -> list[dict]:
    """The schema with its $ref targets and allOf members flattened (for generation only)."""
    if not isinstance(schema, dict):
        return []
    out = [(schema, base)]
    if "$ref" in schema and schema["$ref"] not in seen:
        target, target_base = schemas.checker()._resolve(schema["$ref"], base)
        out += _parts(target, target_base, (*seen, schema["$ref"]))
    for sub in schema.get("allOf", ()):
        out += _parts(sub, base, seen)
    for key in ("then", "else"):
        if key in schema:
            out += _parts(schema[key], base, seen)
    return out


def _richest(candidates: list) -> tuple:
    """Of a property's schemas (its own entry may be ``true``, the real one in an allOf), the one that says most."""
    return max(candidates, key=lambda c: len([k for k in c[0] if k != "description"]) if isinstance(c[0], dict) else 0)


def payloads(schema: dict) -> st.SearchStrategy:
    """Half of the time what the schema asks for; otherwise something close to it or plain junk."""
    return st.booleans().flatmap(lambda loose: near(schema, schema["$id"], 0, loose))


def near(schema: dict, base: str, depth: int, loose: bool) -> st.SearchStrategy:
    if not loose:
        return _fitting(schema, base, depth, loose)
    return st.integers(0, 11).flatmap(lambda k: JUNK if k == 0 or depth > 6 else _fitting(schema, base, depth, loose))


def _fitting(schema, base, depth, loose) -> st.SearchStrategy:
    slack = 1 if loose else 0
    parts = _parts(schema, base)
    merged: dict = {}
    for part, _ in parts:
        for key, value in part.items():
            merged.setdefault(key, value)
    if "const" in merged:
        return st.just(merged["const"])
    if "enum" in merged:
        return st.sampled_from(merged["enum"] + (["x-not-listed"] if loose else []))
    kind = merged.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in merged or "required" in merged:
        props: dict = {}
        required: list = []
        for part, part_base in parts:
            for name, sub in part.get("properties", {}).items():
                props.setdefault(name, []).append((sub, part_base))
            required += [r for r in part.get("required", ()) if r not in required]
        optional = [n for n in props if n not in required]
        names = st.lists(st.sampled_from(optional), unique=True) if optional else st.just([])
        drop = st.sampled_from([None, None, None, *required]) if required and loose else st.just(None)
        extra = st.sampled_from([None, None, None, "unexpected"]) if loose else st.just(None)

        def build(chosen, dropped, added):
            keys = [n for n in required if n != dropped] + chosen
            fields = {n: near(*_richest(props.get(n, [(True, base)])), depth + 1, loose) for n in keys}
            if added:
                fields[added] = JUNK
            return st.fixed_dictionaries(fields)

        return st.tuples(names, drop, extra).flatmap(lambda t: build(*t))
    if kind == "array" or "items" in merged or "prefixItems" in merged:
        prefix = merged.get("prefixItems", [])
        items = merged.get("items", True)
        lo, hi = merged.get("minItems", 0), min(merged.get("maxItems", len(prefix) + 3), len(prefix) + 3)
        return st.integers(max(0, lo - slack), hi + slack).flatmap(lambda n: st.tuples(*[
            near(prefix[i] if i < len(prefix) else items, base, depth + 1, loose) for i in range(n)]).map(list))
    if kind == "integer" or kind == "number":
        lo, hi = merged.get("minimum", -5), merged.get("maximum", merged.get("minimum", -5) + 10**6)
        ints = st.one_of(st.integers(lo - slack, hi + slack), st.sampled_from([lo, hi, lo - slack, hi + slack]))
        return st.one_of(ints, ints.map(float)) if kind == "number" else ints
    if kind == "string":
        if "pattern" in merged:
            fitting = st.from_regex(merged["pattern"], fullmatch=True)
            return st.one_of(fitting, st.text(max_size=8)) if loose else fitting
        lo, hi = merged.get("minLength", 0), merged.get("maxLength", 12)
        return st.text(min_size=max(0, lo - slack), max_size=min(hi + slack, 70))
    if kind == "boolean":
        return st.booleans()
    return JUNK


@pytest.mark.parametrize("name", schemas.names())
def test_both_checkers_agree_on_generated_payloads(name):
    schema = schemas.load(name)
    reference = schemas.validator(name)
    verdicts = set()

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(payloads(schema))
    def agree(instance):
        ours = schemas.errors(name, instance)
        theirs = list(reference.iter_errors(instance))
        assert (ours == []) == (theirs == []), (instance, ours, [e.message for e in theirs])
        verdicts.add(ours == [])

    agree()
    if name != "common":
        assert verdicts == {True, False}, f"{name}: the generator only ever made {'valid' if True in verdicts else 'invalid'} payloads"


def test_a_keyword_the_checker_does_not_know_is_refused_when_the_schema_is_loaded():
    with pytest.raises(SchemaError, match="propertyNames"):
        Checker([{"$id": "urn:x", "propertyNames": {"maxLength": 3}}])
    with pytest.raises(SchemaError, match="no schema"):
        Checker([{"$id": "urn:x", "$ref": "urn:y#/$defs/a"}])


def test_json_equality_tells_true_from_one():
    assert json_equal(1, 1.0) and not json_equal(True, 1) and not json_equal([0], [False])
