"""Fuzzing a live JT/T link with a seeded generator: random bytes and mutated valid platform
frames (bit flips, cuts, stray 0x7E / 0x7D, repeats, splices), in random TCP chunks, against a
whole terminal. Afterwards: every thread that ran before still runs, no fault was counted,
nothing the platform could set has changed, the audit trail has nothing new from the platform, and a valid 0x8201
location query is still answered on the same connection."""

import random
import threading

from terminal.link import jtt
from tests.jttlink.hostile import frame, payload, raw
from tests.jttlink.test_commands import rig  # noqa: F401 - the fixture

SEED = 905808
FRAMES = 8000


def corpus(protocol):
    """Platform messages that change nothing here: queries, refusals, things that do not exist."""
    bodies = [(0x8201, b""), (0x8104, b""), (0x8F01, b"\x01\x02"), (0x0200, b"\x00" * 28),
              (0x8103, b"\x01\x00\x00\x00\x55\x04\x00\x00\x00\x00")]          # speed limit 0: refused
    if protocol == "jt905":
        bodies += [(0x8B0A, b""), (0x8B0B, b""), (0x8B09, b"\x00\x00\x03\xe7")]  # no alarm, no order 999
    else:
        bodies += [(0x8203, b"\x00\x00\x00\x00\x00\x01"), (0x8106, b"\x01\x00\x00\x00\x55")]
    return bodies


# Body mutations keep the checksum right so they reach the codec and the desks; these ids are
# excluded there because a mutated body could be a valid setting (fuzzed only through framing).
SETTINGS = (0x8103,)


def mutate(rnd, protocol, msg_id, body):
    sn = rnd.randrange(0x8000, 0x10000)
    kind = rnd.randrange(9 if protocol == "jt808" else 8)
    if kind == 8:                                   # packages: odd totals and indices, bodies that do not join
        total = rnd.choice((1, 2, 3, 65535))
        index = rnd.choice((0, 1, total, total + 1 if total < 65535 else 2))
        return frame(protocol, msg_id if msg_id not in SETTINGS else 0x8F01, body[:rnd.randrange(len(body) + 1)],
                     sn, frag_total=total, frag_sn=index)
    if kind == 0:                                   # random bytes, flags sprinkled in
        return bytes(rnd.choice((0x7E, 0x7D, rnd.randrange(256))) for _ in range(rnd.randrange(1, 80)))
    if kind == 1 and msg_id not in SETTINGS:        # a body byte changed, check byte recomputed
        b = bytearray(body or b"\x00")
        b[rnd.randrange(len(b))] = rnd.randrange(256)
        return frame(protocol, msg_id, bytes(b), sn)
    if kind == 2 and msg_id not in SETTINGS:        # body cut or grown, length field kept right
        b = body[: rnd.randrange(len(body) + 1)] if rnd.random() < 0.5 else body + bytes(rnd.randrange(1, 40))
        return frame(protocol, msg_id, b, sn)
    if kind == 3:                                   # the length field disagreeing
        p = bytearray(payload(protocol, msg_id, body, sn))
        p[3] ^= 1 << rnd.randrange(8)
        return jtt.wrap(bytes(p))
    whole = bytearray(frame(protocol, msg_id, body, sn))
    if kind == 4:                                   # a bit flipped anywhere (the check will fail)
        i = rnd.randrange(len(whole))
        whole[i] ^= 1 << rnd.randrange(8)
    elif kind == 5:                                 # cut short, or a stray escape / flag inside
        whole = whole[: rnd.randrange(1, len(whole))] + bytes((rnd.choice((0x7D, 0x7E)),))
    elif kind == 6:                                 # 0x7D followed by something else
        whole.insert(rnd.randrange(1, len(whole) - 1), 0x7D)
    else:                                           # unchanged, sometimes twice
        whole = whole * rnd.randrange(1, 3)
    return bytes(whole)


def state(term, link):
    return (repr(term.config["report"]), repr(term.platform.params), link.cfg["host"], link.cfg["port"],
            link.session.heartbeat_s, link.session.auth_code, term.alarm.state, term.orders.state,
            term.cabin.notice, term.platform.jt.tracking)


def platform_audits(runtime):
    return [r for r in runtime.audit.records() if r["actor"] == "platform"]


def test_random_and_mutated_frames_change_nothing_and_the_link_still_answers(rig):  # noqa: F811
    car, runtime, platform = rig
    term, link = runtime.terminal, runtime.jt_links[0]
    protocol = platform.protocol
    rnd = random.Random(SEED)
    threads = [t for t in threading.enumerate() if t.is_alive()]
    before, audited, connects = state(term, link), platform_audits(runtime), link.counters["connects"]
    seeds = corpus(protocol)
    stream = b"".join(mutate(rnd, protocol, *rnd.choice(seeds)) for _ in range(FRAMES))
    pos = 0
    while pos < len(stream):
        step = rnd.choice((1, 7, 64, 1500, 65536))
        raw(platform, stream[pos:pos + step])
        pos += step
    raw(platform, b"\x7e")                           # whatever was left open is closed
    query = frame(protocol, 0x8201, b"", 0x0777)
    raw(platform, query)
    reply = platform.wait_for(lambda m: m["header"]["msg_id"] in (0x0201, 0x0001) and m["body"].get("seq") == 0x0777
                              and m["body"].get("id", 0x8201) == 0x8201, 30)
    if reply["header"]["msg_id"] == 0x0001:          # refused for a full queue: ask again once it drained
        assert car.wait(lambda: link._commands_waiting == 0, 10)
        raw(platform, frame(protocol, 0x8201, b"", 0x0778))
        reply = platform.wait_reply(0x0778, 10)
    assert reply["header"]["msg_id"] == 0x0201 and "latitude" in reply["body"]["params"]
    assert [t for t in threads if not t.is_alive()] == []
    assert link.counters["faults"] == 0 and link.counters["connects"] == connects and link.connected
    assert link.counters["bad_frames"] > 0 and link.counters["bad_messages"] > 0
    assert state(term, link) == before
    assert platform_audits(runtime) == audited      # (the car's own records, a GNSS fault, may come)
