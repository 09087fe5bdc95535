"""Reassembly of JT/T 808 packages cannot be used to fill memory: a cap on partial messages and
on the bytes they hold, and an expiry for packages that never complete."""

import base64

from terminal.link import jtt


def package(sn, total, index, size=1000, msg_id=0x8300):
    header = {"msg_id": msg_id, "encrypt": 0, "phone": "000000000001", "msg_sn": sn,
              "frag_total": total, "frag_sn": index, "len": size}
    return {"header": header, "body": {"frag_data": base64.b64encode(b"x" * size).decode()}}


def test_one_message_announcing_65535_packages_holds_at_most_the_byte_cap():
    r = jtt.Reassembler(max_bytes=64 * 1024)
    for index in range(1, 500):
        assert r.add(package(index - 1, 65535, index), 0) is None
        assert r.held_bytes <= 64 * 1024
    assert r.dropped >= 1


def test_many_never_completed_messages_are_capped_in_number_and_bytes():
    r = jtt.Reassembler(max_pending=16, max_bytes=64 * 1024)
    for i in range(1000):
        r.add(package(i * 2, 2, 1), 0)
        assert len(r.pending()) <= 16 and r.held_bytes <= 64 * 1024


def test_a_reassembly_not_completed_in_time_is_forgotten():
    r = jtt.Reassembler(max_age_ms=60_000)
    r.add(package(10, 2, 1, size=3), 0)
    assert r.add(package(11, 2, 2, size=3), 60_001) is None       # its first half expired
    assert r.held_bytes == 3 and len(r.pending()) == 1             # the second half waits alone


def test_index_zero_above_total_and_a_repeated_package():
    r = jtt.Reassembler()
    assert r.add(package(5, 2, 0, size=3), 0) is None and r.pending() == []
    assert r.add(package(5, 2, 3, size=3), 0) is None and r.pending() == []
    first = package(5, 2, 1, size=1)
    first["body"]["frag_data"] = base64.b64encode(b"\x01").decode()
    r.add(first, 0)
    r.add(first, 0)
    assert r.held_bytes == 1
    last = package(6, 2, 2, size=3)
    last["body"]["frag_data"] = base64.b64encode(b"abc").decode()
    whole = r.add(last, 0)
    assert whole["body"]["text"] == "abc" and whole["header"]["msg_sn"] == 5 and r.held_bytes == 0
