"""A hostile platform against the pure JT/T 808 session: registration replies with unusable auth
codes, a time the terminal never asked for, and heartbeat parameters are not taken blindly."""

import pytest

from terminal.link.jtt import decode, encode
from terminal.link.jtt.fields import text_decode
from terminal.link.jtt.session import Session
from tests.jtt.test_session import PHONE, REG, online_session, platform, sent


def registering(proto_ver=None):
    session = Session(PHONE if proto_ver is None else PHONE.zfill(20), REG, proto_ver=proto_ver,
                      imei="860000000000001")
    (register,) = sent(session.connected(0))
    return session, register["header"]["msg_sn"]


def reply_8100(session, sn, result, raw_code: bytes | None):
    header = {"msg_id": 0x8100, "phone": session.phone, "msg_sn": 9}
    if session.proto_ver is not None:
        header["proto_ver"] = session.proto_ver
    frame = encode({"header": header, "body": {"seq": sn, "result": result}})
    message = decode(frame)
    if raw_code is not None:
        message["body"]["auth_code"] = text_decode(raw_code)          # as the codec reads it
    return message


@pytest.mark.parametrize("proto_ver, raw_code", [
    (1, b"A" * 256),                 # 2019 carries the code's length in one byte
    (None, b"A" * 1024),             # 2013: 0x0102 would not fit one package
    (None, b"\xff\xfe\x81"),         # not GBK
    (None, b"AB\x00CD"),             # a NUL would not survive the code's file
    (None, b" padded "),             # nor surrounding blanks
])
def test_an_auth_code_the_terminal_cannot_use_is_a_failed_registration(proto_ver, raw_code):
    session, sn = registering(proto_ver)
    actions = session.receive(reply_8100(session, sn, 0, raw_code), 10)
    assert actions and actions[0][0] == "register_failed"
    assert not [a for a in actions if a[0] in ("auth_code", "send")]
    assert session.auth_code is None


@pytest.mark.parametrize("result", [1, 2, 3, 4, 9])
def test_a_refused_registration_stores_nothing(result):
    session, sn = registering()
    actions = session.receive(reply_8100(session, sn, result, b"CODE"), 10)
    assert actions == [("register_failed", result)] and session.auth_code is None


def test_a_time_the_terminal_did_not_ask_for_is_ignored_and_one_answer_is_taken_once():
    session = online_session()
    assert session.receive(platform(0x8004, {"time": "261130120000"}), 5) == []
    session2 = Session(PHONE.zfill(20), REG, auth_code="AUTH123", proto_ver=1)
    auth = sent(session2.connected(0))[0]
    actions = session2.receive(decode(encode({"header": {"msg_id": 0x8001, "phone": PHONE.zfill(20), "msg_sn": 1,
                                                         "proto_ver": 1},
                                              "body": {"seq": auth["header"]["msg_sn"], "id": 0x0102, "result": 0}})), 1)
    assert sent(actions)[0]["header"]["msg_id"] == 0x0004
    answer = {"header": {"msg_id": 0x8004, "phone": PHONE.zfill(20), "msg_sn": 2, "proto_ver": 1},
              "body": {"time": "261130120000"}}
    assert session2.receive(decode(encode(answer)), 2) == [("command", decode(encode(answer)))]
    assert session2.receive(decode(encode(answer)), 3) == []


def test_the_heartbeat_parameter_is_left_to_the_desk_that_checks_the_whole_command():
    session = online_session()
    message = platform(0x8103, {"params": [{"id": 0x0001, "value": 0xFFFFFFFF}, {"id": 0x0055, "value": 0}]})
    assert session.receive(message, 5) == [("command", message)]
    assert session.heartbeat_s == 60


def test_an_encrypted_command_is_not_supported_rather_than_read_as_plain():
    """The terminal offers no RSA (808 §4.4.3, encryption bits of the header): an encrypted 0x8201
    is answered 'not supported', not with a location."""
    session = online_session()
    frame = encode({"header": {"msg_id": 0x8201, "phone": PHONE, "msg_sn": 4, "encrypt": 1},
                    "body": {"encrypted": True, "data": "AAEC"}})
    actions = session.receive(decode(frame), 5)
    (reply,) = sent(actions)
    assert reply["header"]["msg_id"] == 0x0001 and reply["body"]["result"] == 3
    assert not [a for a in actions if a[0] == "command"]
