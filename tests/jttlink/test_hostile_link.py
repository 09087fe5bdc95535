"""A hostile platform against the JT/T link over real TCP: broken framing, bodies that cannot be
read and packages that never complete are dropped and counted; the link stays on the same
connection, its reader thread lives, and it keeps answering (docs/jtt.md, "What a hostile
platform can and cannot do")."""

from sim.jtt_platform import JttPlatform
from terminal.link import jtt
from terminal.link.jtt.framing import checksum, escape
from tests.jttlink.hostile import UNKNOWN, alive, frame, payload, raw
from tests.jttlink.test_tcp_link import Rig, protocol  # noqa: F401 - the fixture
from tests.link.harness import wait_until


def still_the_same_link(rig, platform):
    alive(platform)
    assert rig.link._thread.is_alive()
    assert platform.connections == 1 and rig.link.counters["connects"] == 1


def test_broken_frames_are_dropped_counted_and_the_link_keeps_answering(tmp_path, protocol):  # noqa: F811
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        good = payload(protocol, UNKNOWN, b"", 7)
        attacks = [
            b"\x7e" + b"\x00" * (1 << 20) + b"\x7e",            # 1 MiB between two flags
            b"\x7e" + b"\x01" * 65536 + b"\x7e",                # 64 KiB frame
            b"\x7e" + escape(good) + b"\x7d\x7e",               # 0x7D right before the closing flag
            b"\x7e" + good[:4] + b"\x7d\x03" + good[4:] + b"\x7e",   # 0x7D followed by 03
            jtt.wrap(good + b"\x00"),                           # body length field disagrees
            b"\x7e" + escape(good + bytes((checksum(good) ^ 1,))) + b"\x7e",   # wrong check byte
        ]
        for attack in attacks:
            raw(platform, attack)
        raw(platform, b"\x7e\x7e" * 10)                         # empty frames: nothing at all
        wait_until(lambda: rig.link.counters["bad_frames"] >= len(attacks), "every broken frame counted")
        still_the_same_link(rig, platform)
        assert rig.link.counters["bad_frames"] == len(attacks)


def test_a_stream_without_any_flag_is_junk_and_memory_stays_bounded(tmp_path, protocol):  # noqa: F811
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        raw(platform, b"\x55" * (1 << 20))
        raw(platform, b"\x7e")        # a dropped frame, or junk when nothing came from the platform before
        counters = rig.link.counters
        wait_until(lambda: counters["bad_frames"] >= 1 or counters["junk_bytes"] == 1 << 20, "the junk counted")
        still_the_same_link(rig, platform)


def test_many_frames_in_one_read_are_each_answered(tmp_path, protocol):  # noqa: F811
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        raw(platform, b"".join(frame(protocol, UNKNOWN, b"", 0x5000 + i) for i in range(300)))
        wait_until(lambda: len([m for m in platform.messages(0x0001) if m["body"]["id"] == UNKNOWN]) == 300,
                   "300 'not supported' replies")
        still_the_same_link(rig, platform)


def test_a_body_that_cannot_be_read_gets_message_error(tmp_path, protocol):  # noqa: F811
    """JT/T 808 §8.1 result 2 ("message error"): a tracking request of one byte, a location query
    with a tail, are answered so, and change nothing."""
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        raw(platform, frame(protocol, 0x8202, b"\x01", 0x6001))
        raw(platform, frame(protocol, 0x8201, b"\x00\x00\x00", 0x6002))
        for sn, msg_id in ((0x6001, 0x8202), (0x6002, 0x8201)):
            reply = platform.wait_reply(sn)
            assert reply["header"]["msg_id"] == 0x0001
            assert reply["body"]["result"] == 2 and reply["body"]["id"] == msg_id
        assert rig.link.counters["bad_messages"] == 2
        still_the_same_link(rig, platform)


def packages(msg_id, body, first_sn, total=None, size=10):
    chunks = [body[i:i + size] for i in range(0, len(body), size)]
    total = total or len(chunks)
    return [frame("jt808", msg_id, chunk, (first_sn + i) & 0xFFFF, frag_total=total, frag_sn=i + 1)
            for i, chunk in enumerate(chunks)]


def test_packages_whose_whole_body_is_broken_get_message_error_and_the_reader_lives(tmp_path):
    with JttPlatform("jt808") as platform, Rig(tmp_path, platform, "jt808") as rig:
        platform.wait_online(10)
        body = b"\x05" + b"\x00\x00\x00\x29\x04" + b"\x00" * 9     # 0x8103 announcing 5 parameters, holding 1.x
        for package in packages(0x8103, body, 0x7000):
            raw(platform, package)
        reply = platform.wait_reply(0x7000)
        assert reply["body"]["result"] == 2 and reply["body"]["id"] == 0x8103
        still_the_same_link(rig, platform)


def test_package_attacks_leave_the_link_answering(tmp_path):
    with JttPlatform("jt808") as platform, Rig(tmp_path, platform, "jt808") as rig:
        platform.wait_online(10)
        raw(platform, frame("jt808", 0x8300, b"\x01" + b"a" * 100, 0x1000, frag_total=65535, frag_sn=1))
        raw(platform, frame("jt808", 0x8300, b"\x01abc", 0x1100, frag_total=2, frag_sn=0))
        raw(platform, frame("jt808", 0x8300, b"\x01abc", 0x1200, frag_total=2, frag_sn=3))
        a, b = packages(UNKNOWN, b"A" * 20, 0x2000), packages(UNKNOWN, b"B" * 20, 0x3000)
        raw(platform, a[0] + b[0] + a[0] + b[1] + a[1])          # interleaved, one package twice
        for sn in (0x2000, 0x3000):
            assert platform.wait_reply(sn)["body"]["result"] == 3
        for i in range(200):                                       # never completed, 1000 bytes each
            raw(platform, frame("jt808", UNKNOWN, b"x" * 1000, (0x8000 + 2 * i) & 0xFFFF, frag_total=2, frag_sn=1))
        still_the_same_link(rig, platform)


def test_a_command_flood_the_loop_cannot_keep_up_with_is_answered_failed_not_queued(tmp_path, protocol):  # noqa: F811
    """Here nothing carries the commands out (the minimal loop ignores them): the link hands the
    loop at most COMMANDS_WAITING and answers the rest 'failed' itself, so the loop's queue and
    the terminal's memory stay bounded whatever the platform sends."""
    from terminal.link.jtt_link.tcp_link import COMMANDS_WAITING
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        raw(platform, b"".join(frame(protocol, 0x8201, b"", 0x2000 + i) for i in range(300)))
        wait_until(lambda: rig.link.counters["commands_refused"] == 300 - COMMANDS_WAITING, "the rest refused")
        failed = [m for m in platform.messages(0x0001) if m["body"]["id"] == 0x8201]
        wait_until(lambda: len([m for m in platform.messages(0x0001) if m["body"]["id"] == 0x8201])
                   == 300 - COMMANDS_WAITING, "each answered")
        assert all(m["body"]["result"] == 1 for m in failed)
        rig.link.command_done()
        raw(platform, frame(protocol, 0x8201, b"", 0x3000))
        still_the_same_link(rig, platform)
        assert rig.link.counters["commands_refused"] == 300 - COMMANDS_WAITING   # that one was handed on
