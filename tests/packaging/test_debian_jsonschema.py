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


@pytest.mark.parametrize("name,instance", CASES)
def test_refresolver_fallback_finds_the_same_errors(monkeypatch, name, instance):
    with_registry = schemas.errors(name, instance)
    schemas.validator.cache_clear()
    monkeypatch.setattr(schemas, "Registry", None)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)     # RefResolver is deprecated in 4.18+
            assert schemas.errors(name, instance) == with_registry
    finally:
        schemas.validator.cache_clear()
    assert with_registry
