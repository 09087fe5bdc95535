"""The Debian package uses bookworm's python3-jsonschema (4.10, no ``referencing``): the MQTT schemas
must validate the same way through its RefResolver as through the registry of newer releases."""

import warnings

import pytest

from terminal.link import schemas

CASES = [
    ("up_trip", {"type": "trip"}),
    ("up_location", {"type": "location", "seq": 1, "ts": 1795140000000, "resent": False, "lat": 95}),
    ("down_order_offer", {"cmd": "order_offer", "id": "x"}),
    ("status", {"online": "yes"}),
]


def _messages(name, instance):
    return sorted(e.message for e in schemas.validator(name).iter_errors(instance))


@pytest.mark.parametrize("name,instance", CASES)
def test_refresolver_fallback_finds_the_same_errors(monkeypatch, name, instance):
    # the car's process checks with terminal/link/schemas/check.py and needs no jsonschema at
    # all; tests and tools use jsonschema, through either resolver
    schemas.validator.cache_clear()
    with_registry = _messages(name, instance)
    schemas.validator.cache_clear()
    monkeypatch.setattr(schemas, "USE_REGISTRY", False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)     # RefResolver is deprecated in 4.18+
            assert _messages(name, instance) == with_registry
    finally:
        schemas.validator.cache_clear()
    assert with_registry and schemas.errors(name, instance)
