"""The terminal side of a JT/T 808 session: register once, authenticate at every connect,
heartbeats, and platform general replies mapped to the serials they acknowledge."""

from terminal.link.jtt import decode, encode
from terminal.link.jtt.session import ONLINE, Session

PHONE = "013912345678"
REG = {"province": 44, "city": 307, "manufacture": "TAXI1", "model": "TT-100", "dev_id": "T0001", "color": 1,
       "license_number": "粤B12345"}


def platform(msg_id, body, sn=0):
    """A platform frame as the link would receive it: through the codec."""
    return decode(encode({"header": {"msg_id": msg_id, "phone": PHONE, "msg_sn": sn}, "body": body}))


def sent(actions):
    return [a[1] for a in actions if a[0] == "send"]


def reply_to(message, result=0, sn=0):
    h = message["header"]
    return platform(0x8001, {"seq": h["msg_sn"], "id": h["msg_id"], "result": result}, sn)


def online_session(now=0):
    session = Session(PHONE, REG, auth_code="AUTH123")
    auth = sent(session.connected(now))[0]
    assert session.receive(reply_to(auth), now) == [("online",)]
    return session


def test_first_connect_registers_then_authenticates_with_the_code_and_stores_it():
    session = Session(PHONE, REG)
    (register,) = sent(session.connected(0))
    assert register["header"]["msg_id"] == 0x0100 and register["body"]["license_number"] == "粤B12345"
    encode(register)  # the session's messages are valid codec input
    actions = session.receive(platform(0x8100, {"seq": register["header"]["msg_sn"], "result": 0,
                                                "auth_code": "AUTH123"}), 100)
    assert actions[0] == ("auth_code", "AUTH123")
    auth = actions[1][1]
    assert auth["header"]["msg_id"] == 0x0102 and auth["body"] == {"code": "AUTH123"}
    assert session.receive(reply_to(auth), 200) == [("online",)]
    assert session.state == ONLINE


def test_reconnect_authenticates_without_registering_again():
    session = online_session()
    session.disconnected()
    (auth,) = sent(session.connected(5000))
    assert auth["header"]["msg_id"] == 0x0102


def test_2019_authentication_carries_imei_and_software_version():
    session = Session(PHONE.rjust(20, "0"), REG, auth_code="A", proto_ver=1, imei="860000000000001",
                      sw_version="1.2.0")
    (auth,) = sent(session.connected(0))
    assert decode(encode(auth))["body"] == {"code_len": 1, "code": "A", "imei": "860000000000001",
                                             "sw_version": "1.2.0"}


def test_refused_registration_stays_offline_and_refused_authentication_forgets_the_code():
    session = Session(PHONE, REG)
    (register,) = sent(session.connected(0))
    assert session.receive(platform(0x8100, {"seq": register["header"]["msg_sn"], "result": 3}), 1) == \
        [("register_failed", 3)]
    session = Session(PHONE, REG, auth_code="OLD")
    (auth,) = sent(session.connected(0))
    actions = session.receive(reply_to(auth, result=1), 1)
    assert actions[0] == ("auth_code", None) and actions[1][0] == "reconnect"
    (register,) = sent(session.connected(2))
    assert register["header"]["msg_id"] == 0x0100


def test_general_replies_acknowledge_exactly_the_serials_sent():
    session = online_session()
    first = session.send(0x0200, {}, 1000)
    second = session.send(0x0200, {}, 1001)
    assert session.receive(reply_to(second), 1002) == [("acked", second["header"]["msg_sn"], 0x0200, 0)]
    assert session.receive(reply_to(second), 1003) == []  # a duplicate reply acknowledges nothing twice
    wrong_id = platform(0x8001, {"seq": first["header"]["msg_sn"], "id": 0x0704, "result": 0})
    assert session.receive(wrong_id, 1004) == []
    assert session.awaiting() == {first["header"]["msg_sn"]: 0x0200}


def test_serial_numbers_wrap_at_65536():
    session = Session(PHONE, REG)
    session._sn = 0xFFFF
    assert [session.next_sn(), session.next_sn()] == [0xFFFF, 0]


def test_heartbeat_when_idle_at_the_platforms_interval():
    session = online_session()
    assert session.tick(59_000) == []
    (heartbeat,) = sent(session.tick(60_000))
    assert heartbeat["header"]["msg_id"] == 0x0002
    session.receive(reply_to(heartbeat), 60_100)
    set_params = platform(0x8103, {"params": [{"id": 1, "value": 20}]}, sn=5)
    assert session.receive(set_params, 61_000) == [("command", set_params)]
    assert session.heartbeat_s == 60               # the desk checks the whole command first
    assert session.set_heartbeat(20) and not session.set_heartbeat(0) and not session.set_heartbeat(2 ** 32 - 1)
    assert session.heartbeat_s == 20
    assert sent(session.tick(80_000))
    assert session.tick(80_000 + 3 * 20_000 + 1)[0][0] == "reconnect"  # platform silent


def test_no_reply_to_authentication_asks_for_a_reconnect():
    session = Session(PHONE, REG, auth_code="A", reply_timeout_s=10)
    session.connected(0)
    assert session.tick(9_999) == []
    assert session.tick(10_000) == [("reconnect", "no reply while authenticating")]


def test_unknown_platform_message_is_answered_not_supported():
    session = online_session()
    unknown = platform(0x8F01, {"unknown_id": True, "data": ""}, sn=9)
    (answer,) = sent(session.receive(unknown, 10))
    assert answer["body"] == {"seq": 9, "id": 0x8F01, "result": 3}
    assert decode(encode(answer))["body"]["result"] == 3


def test_a_2019_session_asks_the_platform_for_its_time_once_online_and_2013_does_not():
    session = Session(PHONE.rjust(20, "0"), REG, auth_code="A", proto_ver=1)
    (auth,) = sent(session.connected(0))
    actions = session.receive(reply_to(auth), 10)
    assert actions[0] == ("online",)
    (query,) = sent(actions[1:])
    assert query["header"]["msg_id"] == 0x0004 and query["header"]["proto_ver"] == 1 and query["body"] == {}
    encode(query)
    server_time = decode(encode({"header": {"msg_id": 0x8004, "phone": PHONE.rjust(20, "0"), "proto_ver": 1,
                                            "msg_sn": 3}, "body": {"time": "261130023000"}}))
    assert session.receive(server_time, 20) == [("command", server_time)]   # the application sets the time
    assert online_session().awaiting() == {}                                 # 2013: no 0x0004


def test_deregistration_is_acknowledged_then_the_code_is_forgotten():
    session = online_session()
    (dereg,) = sent([session.deregister(100)])
    assert dereg["header"]["msg_id"] == 0x0003 and dereg["body"] == {}
    assert session.receive(reply_to(dereg, result=1), 110) == [("acked", dereg["header"]["msg_sn"], 0x0003, 1)]
    (dereg,) = sent([session.deregister(120)])
    assert session.receive(reply_to(dereg), 130) == [("auth_code", None), ("deregistered",)]
    assert session.auth_code is None and session.state != ONLINE
    (register,) = sent(session.connected(200))       # the next connect registers anew
    assert register["header"]["msg_id"] == 0x0100


def test_the_session_says_when_it_next_has_something_to_do():
    """The link sleeps until then: at that moment tick acts, a moment before it does nothing."""
    session = Session(PHONE, REG, auth_code="A", reply_timeout_s=10)
    assert session.next_due_ms() is None                        # offline: nothing to time
    session.connected(1_000)
    assert session.next_due_ms() == 11_000                      # the reply's timeout
    assert session.tick(10_999) == [] and session.tick(11_000)[0][0] == "reconnect"
    session = online_session(now=0)
    assert session.next_due_ms() == 60_000                      # the heartbeat
    assert session.tick(59_999) == [] and sent(session.tick(60_000))
    # heartbeat sent, no answer: the next moment is the platform's silence of three intervals
    assert session.next_due_ms() == 120_000
    assert session.tick(119_999) == [] and sent(session.tick(120_000))
    assert session.next_due_ms() == 180_000                     # both the next heartbeat and the silence
    assert session.tick(179_999) == []
    assert session.tick(180_000) == [("reconnect", "platform silent for three heartbeat intervals")]
