"""A hostile platform's session behaviour against the JT/T link: it closes mid-frame, never
answers registration, refuses authentication, floods heartbeats; and a fault in handling
one message does not end the link (docs/jtt.md, "What a hostile platform can and cannot do")."""

import socket
import threading

from sim.jtt_platform import JttPlatform
from tests.jttlink.hostile import alive, frame, raw
from tests.jttlink.test_tcp_link import Rig, protocol  # noqa: F401 - the fixture
from tests.link.harness import wait_until


class SilentPlatform:
    """Accepts connections, reads what the terminal sends, never answers."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.received = bytearray()
        self._conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        try:
            while data := conn.recv(4096):
                self.received += data
        except OSError:
            pass

    def close(self):
        self.server.close()
        for conn in self._conns:
            conn.close()


def test_a_platform_that_never_answers_registration_is_left_and_tried_again_after_backoff(tmp_path):
    silent = SilentPlatform()
    try:
        with Rig(tmp_path, silent, "jt808", reply_timeout_s=1) as rig:
            wait_until(lambda: silent.connections >= 2, "connected again after the reply timeout", 15)
            assert "no reply while registering" in rig.link.last_error
            assert not rig.link.connected and rig.link._thread.is_alive()
            assert not (tmp_path / "jt808.auth").exists()
    finally:
        silent.close()


def test_the_platform_closing_mid_frame_leaves_nothing_half_read_for_the_next_connection(tmp_path, protocol):  # noqa: F811
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        half = frame(protocol, 0x8300, b"\x01" + "半截消息".encode("gbk"), 0x6300)
        raw(platform, half[: len(half) // 2])
        platform.drop()
        wait_until(lambda: platform.online and rig.link.connected and rig.link.counters["connects"] == 2,
                   "online again")
        platform.wait_online(10)
        alive(platform)
        assert rig.link.counters["bad_frames"] == 0


def test_a_refused_authentication_forgets_the_code_and_registers_again(tmp_path):
    with JttPlatform("jt808") as platform:
        with Rig(tmp_path, platform, "jt808") as rig:
            platform.wait_online(10)
            platform.auth_ok = False
            platform.drop()
            wait_until(lambda: platform.registrations >= 2, "registered again after the refusal")
            assert "authentication refused" in rig.link.last_error or platform.registrations >= 2
            platform.auth_ok = True
            wait_until(lambda: rig.link.connected, "online with the new code")
        assert (tmp_path / "jt808.auth").read_text() == platform.auth_codes["000000000001"]


def test_a_flood_of_heartbeats_and_replies_is_harmless(tmp_path, protocol):  # noqa: F811
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        sent_before = rig.link.counters["sent"]
        flood = b"".join(frame(protocol, 0x0002, b"", 0x1000 + i) for i in range(500))
        flood += b"".join(frame(protocol, 0x8001, bytes((0x12, 0x34, 0x00, 0x02, 0x00)), 0x3000 + i)
                          for i in range(500))
        raw(platform, flood)
        alive(platform, 10)
        assert rig.link.counters["connects"] == 1 and rig.link.counters["sent"] == sent_before


def test_a_fault_while_handling_one_message_does_not_end_the_reader(tmp_path, protocol):  # noqa: F811
    """The last line of defence: whatever escapes the codec and the session is counted, the
    connection is dropped and made again, and the link keeps going."""
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        platform.wait_online(10)
        session = rig.link.session
        real = session.receive

        def receive(message, now_ms):
            if message["header"]["msg_id"] == 0x8300:
                raise RuntimeError("a defect that input reached")
            return real(message, now_ms)

        session.receive = receive
        raw(platform, frame(protocol, 0x8300, b"\x01boom" + (b"\x00" if protocol == "jt905" else b""), 0x6400))
        wait_until(lambda: rig.link.counters["faults"] == 1, "the fault counted")
        wait_until(lambda: rig.link.connected and rig.link.counters["connects"] == 2, "connected again")
        platform.wait_online(10)
        assert rig.link._thread.is_alive()
        sn = platform.command(0x8F01, {"unknown_id": True, "data": ""})
        assert platform.wait_reply(sn, 10)["body"]["result"] == 3


def test_a_platform_that_never_completes_the_tls_handshake_is_tried_again_after_backoff(tmp_path):
    silent = SilentPlatform()
    try:
        with Rig(tmp_path, silent, "jt808", reply_timeout_s=1, tls=True, server_name="localhost") as rig:
            wait_until(lambda: silent.connections >= 2, "dialled again after the handshake timed out", 15)
            assert rig.link.last_error.startswith("connect") and not rig.link.connected
            assert rig.link._thread.is_alive()
    finally:
        silent.close()
