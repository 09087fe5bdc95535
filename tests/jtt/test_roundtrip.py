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
