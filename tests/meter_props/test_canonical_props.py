"""The canonical form (meter/canonical.py) over random plain data: the same bytes however often a
string has been seen, and the JSON text with sorted keys it is defined to be (hypothesis)."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from meter import canonical

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25)


def reference(value) -> bytes:
    """The definition, spelled out without the encoder's look-up table: JSON with sorted keys, no
    white space, UTF-8, and only quote, backslash and control characters escaped (as \\u00XX)."""
    def text(s: str) -> str:
        return '"' + "".join('\\"' if c == '"' else "\\\\" if c == "\\" else
                             "\\u%04x" % ord(c) if ord(c) < 0x20 else c for c in s) + '"'

    def value_text(v) -> str:
        if isinstance(v, dict):
            return "{" + ",".join(text(k) + ":" + value_text(v[k]) for k in sorted(v)) + "}"
        if isinstance(v, list):
            return "[" + ",".join(value_text(x) for x in v) + "]"
        if isinstance(v, str):
            return text(v)
        return json.dumps(v)
    return value_text(value).encode("utf-8")


@settings(max_examples=600, deadline=None)
@given(plain)
def test_canonical_bytes_are_the_definition_first_time_and_again(value):
    first = canonical.encode(value)
    assert first == reference(value)
    assert canonical.encode(value) == first      # the second time strings come from the table


def test_the_string_table_stays_bounded_and_forgets_nothing_it_needs():
    values = [{"k%d" % i: "v\n%d" % i} for i in range(3 * canonical._ENCODED_MAX)]
    for v in values:
        assert canonical.encode(v) == reference(v)
    assert len(canonical._ENCODED) <= canonical._ENCODED_MAX
    assert all(canonical.encode(v) == reference(v) for v in values[:10])
