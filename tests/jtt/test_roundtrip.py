"""Every message the codec knows survives encode -> decode unchanged (JSON in, same JSON out),
in JT/T 808-2013, 808-2019 and JT/T 905, with bodies built from the layout tables themselves."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from terminal.link.jtt import decode, encode, jt808, jt905
from tests.jtt import strategies as S

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(message, protocol):
    frame = encode(message)
    back = decode(frame, protocol)
    assert back["body"] == message["body"]
    expected_header = dict(message["header"], len=back["header"]["len"])
    assert back["header"] == expected_header
    assert encode(back) == frame  # and the decoded JSON encodes to the same bytes


@pytest.mark.parametrize("msg_id", sorted(jt808.MESSAGES), ids=lambda i: f"0x{i:04X}")
@pytest.mark.parametrize("version", ["2013", "2019"])
def test_every_808_message_round_trips(msg_id, version):
    layout = jt808.layout_for(msg_id, 1 if version == "2019" else None)
    strategy = st.fixed_dictionaries({"header": S.header_808(msg_id, version), "body": S.for_layout(layout)})

    @SETTINGS
    @given(strategy)
    def check(message):
        _round_trip(message, "jt808")

    check()


@pytest.mark.parametrize("msg_id", sorted(jt905.MESSAGES), ids=lambda i: f"0x{i:04X}")
def test_every_905_message_round_trips(msg_id):
    strategy = st.fixed_dictionaries({"header": S.header_905(msg_id), "body": S.for_layout(jt905.layout_for(msg_id))})

    @SETTINGS
    @given(strategy)
    def check(message):
        _round_trip(message, "jt905")

    check()


@SETTINGS
@given(S.header_808(0x0F01, "2013"), st.binary(max_size=64))
def test_unknown_808_message_is_kept_as_base64_and_encodes_back(header, body):
    message = {"header": header, "body": {"unknown_id": True, "data": S.base64.b64encode(body).decode()}}
    _round_trip(message, "jt808")


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(jt808.MESSAGES) + sorted(jt905.MESSAGES)), st.booleans(), st.data())
def test_malformed_json_only_raises_encode_errors(msg_id, is_905, data):
    """Whatever JSON an integrator or a bug hands to encode(), the answer is an EncodeError, not a crash."""
    from terminal.link.jtt import EncodeError

    table = jt905 if is_905 else jt808
    layout = table.layout_for(msg_id) if is_905 else table.layout_for(msg_id, None)
    keys = [field[0] for field in (layout or ()) if field[0]] + ["extra", "params", "location", "meter", "ids"]
    body = data.draw(st.dictionaries(st.sampled_from(keys) | st.text(max_size=4), JSON, max_size=6) | JSON)
    header = {"msg_id": msg_id, "msg_sn": data.draw(JSON | st.integers(0, 65535))}
    header["isu" if is_905 else "phone"] = data.draw(JSON | st.just("013912345678"))
    try:
        encode({"header": header, "body": body})
    except EncodeError:
        pass


def _mutate(value, data):
    """Replace one value somewhere inside a valid body by arbitrary JSON."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(value)))
        return dict(value, **{key: _mutate(value[key], data)})
    if isinstance(value, list) and value and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(value) - 1))
        return value[:i] + [_mutate(value[i], data)] + value[i + 1:]
    return data.draw(JSON)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([(p, i) for p, t in (("jt808", jt808), ("jt905", jt905)) for i in sorted(t.MESSAGES)]),
       st.data())
def test_a_valid_message_with_one_bad_value_only_raises_encode_errors(which, data):
    from terminal.link.jtt import EncodeError

    protocol, msg_id = which
    if protocol == "jt905":
        header, layout = S.header_905(msg_id), jt905.layout_for(msg_id)
    else:
        header, layout = S.header_808(msg_id, "2013"), jt808.layout_for(msg_id, None)
    message = {"header": data.draw(header), "body": data.draw(S.for_layout(layout))}
    try:
        encode(_mutate(message, data))
    except EncodeError:
        pass
