"""The JT/T link against the platform emulator over real TCP: registration once,
authentication at every connect, heartbeats, acknowledgement by serial deletes the
outbox row, the backlog as 0x0704 type 1 / 0x0203, alarms first, reconnection."""

import queue
import threading

import pytest

from sim.jtt_platform import JttPlatform
from terminal.link.jtt_link import tcp_link
from terminal.link.jtt_link.links import LinkOutbox
from terminal.link.link_loop import run_link_loop
from terminal.link.outbox import Outbox
from terminal.storage.database import Storage
from tests.link.harness import wait_until

LOC = {"alarm": 0, "status": 2, "latitude": 22543096, "longitude": 114057865, "altitude": 12, "speed": 352,
       "direction": 90, "time": "261121103000", "south": False, "west": False,
       "extra": {"mileage": 1234, "operating": "for_hire", "order_id": "0", "overspeed": False}}


class Rig:
    """Storage, the outbox with one JT/T link view, the link, and a minimal loop."""

    def __init__(self, tmp_path, platform, protocol, **cfg):
        self.storage = Storage(tmp_path / "t.db")
        self.events = queue.Queue()
        table = {"port": platform.port, "reconnect_min_s": 0.02, "reconnect_max_s": 0.1,
                 "auth_file": str(tmp_path / f"{protocol}.auth"), "heartbeat_s": 5, **cfg}
        heartbeat = table.pop("heartbeat_s")
        config = tcp_link.link_config(protocol, table, {"id": "T0001"})
        config["heartbeat_s"] = heartbeat
        self.link = tcp_link.JttLink(protocol, protocol, config, self.events, tcp_link.wall_ms)
        self.outbox = Outbox(self.storage)
        self.view = LinkOutbox(self.storage, self.link, link=protocol, window=1000)
        self.outbox.add_links([self.view], own=None)
        self.stop = threading.Event()
        self.loop = threading.Thread(target=run_link_loop, args=(self.outbox, self.events, self.stop), daemon=True)

    def __enter__(self):
        self.link.start()
        self.loop.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.loop.join(2)
        self.link.stop()
        self.storage.close()

    def put(self, kind="location", **over):
        body = dict(LOC, **over)
        return self.outbox.enqueue(f"taxi/T0001/up/{kind}", body, kind)

    def online(self):
        wait_until(lambda: self.view.stats()["link_up"], "the outbox saw the link come up")

    def stored(self):
        return self.storage.query("SELECT COUNT(*) FROM outbox")[0][0]


@pytest.fixture(params=["jt808", "jt905"])
def protocol(request):
    return request.param


def test_registers_once_and_authenticates_at_every_connect(tmp_path):
    with JttPlatform("jt808") as platform:
        with Rig(tmp_path, platform, "jt808"):
            wait_until(lambda: platform.authentications == 1, "first authentication")
            platform.drop()
            wait_until(lambda: platform.authentications == 2, "authentication after reconnect")
            assert platform.registrations == 1
        with Rig(tmp_path, platform, "jt808"):   # a restart: the stored code is used
            wait_until(lambda: platform.authentications == 3, "authentication after restart")
        assert platform.registrations == 1
        assert (tmp_path / "jt808.auth").read_text() == platform.auth_codes["000000000001"]


def test_deregistration_from_the_command_line_forgets_the_code_and_the_next_start_registers(tmp_path, capsys):
    from terminal.cli import main
    with JttPlatform("jt808") as platform:
        with Rig(tmp_path, platform, "jt808"):
            wait_until(lambda: platform.authentications == 1, "registered and authenticated")
        config = tmp_path / "taxiterm.toml"
        config.write_text(f"""[terminal]\nid = "T0001"\nstate_dir = "{tmp_path / 'state'}"\n
[links]\nuse = ["mqtt", "jt808"]\n
[jt808]\nport = {platform.port}\nauth_file = "{tmp_path / 'jt808.auth'}"\nreconnect_min_s = 0.02\n""",
                          encoding="utf-8")
        assert main(["jt", "deregister", "--config", str(config), "--timeout", "10"]) == 0
        assert "deregistered" in capsys.readouterr().out
        assert platform.messages(0x0003) and platform.deregistrations == 1
        assert not (tmp_path / "jt808.auth").exists()
        assert main(["jt", "deregister", "--config", str(config)]) != 0      # nothing left to deregister
        assert "nothing to deregister" in capsys.readouterr().err
        with Rig(tmp_path, platform, "jt808"):
            wait_until(lambda: platform.registrations == 2, "registered anew")


def test_a_refused_authentication_registers_again(tmp_path):
    with JttPlatform("jt808") as platform:
        (tmp_path / "jt808.auth").write_text("stale")
        with Rig(tmp_path, platform, "jt808") as rig:
            wait_until(lambda: platform.registrations == 1 and rig.link.connected, "registered after refusal")


def test_acknowledged_by_serial_then_deleted(tmp_path, protocol):
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        rig.online()
        seqs = [rig.put(speed=i) for i in range(5)]
        wait_until(lambda: rig.stored() == 0, "all five acknowledged and deleted")
        live = [m["body"]["speed"] for m in platform.messages(0x0200)]
        assert live == [0, 1, 2, 3, 4] and len(seqs) == 5


def test_unacknowledged_rows_stay_and_the_backlog_goes_as_blind_area_batches_alarms_first(tmp_path, protocol):
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol) as rig:
        rig.online()
        platform.acking = False
        for i in range(3):
            rig.put(speed=i)
        wait_until(lambda: len(platform.messages(0x0200)) == 3, "sent live")
        assert rig.stored() == 3
        platform.refuse = True
        platform.drop()
        wait_until(lambda: not rig.link.connected, "link down")
        for i in range(3, 50):
            rig.put(speed=i)
        rig.put("alarm", alarm=1, extra={"alarm_id": "A1", "stage": "pre_alarm", "pressed_ms": 1, "mileage": 1,
                                         "operating": "for_hire"})
        platform.acking, platform.refuse = True, False
        wait_until(lambda: rig.stored() == 0, "backlog delivered")
        batch_id = 0x0203 if protocol == "jt905" else 0x0704
        batches = platform.messages(batch_id)
        assert batches and all(b["body"].get("type", 1) == 1 for b in batches)
        speeds = sorted(loc["speed"] for loc in platform.locations() if loc["resent"])
        assert speeds == list(range(50))
        after = [m for m in platform.messages() if m["header"]["msg_id"] in (0x0200, batch_id)][3:]
        assert after[0]["header"]["msg_id"] == 0x0200 and after[0]["body"]["alarm"] & 1


def test_heartbeats_at_the_interval_and_reconnects_when_the_platform_is_silent(tmp_path, protocol):
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol, heartbeat_s=1) as rig:
        platform.wait_online()
        platform.wait_for(lambda m: m["header"]["msg_id"] == 0x0002, timeout_s=5)
        platform.acking = False                   # silent: after three intervals the link reconnects
        connects = rig.link.counters["connects"]
        wait_until(lambda: rig.link.counters["connects"] > connects, "reconnect after silence", 10)


def test_unknown_platform_messages_are_answered_not_supported(tmp_path, protocol):
    with JttPlatform(protocol) as platform, Rig(tmp_path, platform, protocol):
        platform.wait_online()
        sn = platform.command(0x8F77, {"unknown_id": True, "data": "AQI="})
        assert platform.wait_reply(sn)["body"]["result"] == 3


def test_over_tls_the_platform_certificate_is_checked(tmp_path):
    import ssl
    import subprocess
    cert, key = tmp_path / "platform.pem", tmp_path / "platform.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with JttPlatform("jt808", tls=context) as platform:
        with Rig(tmp_path, platform, "jt808", tls=True, ca_file=str(cert), server_name="localhost") as rig:
            rig.online()
            rig.put(speed=7)
            wait_until(lambda: rig.stored() == 0, "acknowledged over TLS")
            assert platform.messages(0x0200)[0]["body"]["speed"] == 7
        with Rig(tmp_path, platform, "jt808", tls=True, server_name="localhost") as rig:   # system CAs: refused
            wait_until(lambda: "certificate" in rig.link.last_error.lower(), "certificate refused")
            assert not rig.link.connected


def test_a_platform_that_stops_reading_holds_up_neither_the_loop_nor_the_other_link(tmp_path, monkeypatch):
    """The JT/T 905 platform's network path stalls (it accepts, then reads nothing; small socket
    buffers fill after a few messages): the JT/T 808 link on the same outbox still delivers
    everything, because no link writes on the loop's thread."""
    import base64
    import json
    import socket

    from tests.jttlink.jt_child import trip

    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    stalled.bind(("127.0.0.1", 0))
    stalled.listen()
    accepted = []
    real_connect = tcp_link.JttLink._connect

    def connect(self):
        if self.protocol != "jt905":
            return real_connect(self)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2048)
        sock.connect(stalled.getsockname())
        accepted.append(stalled.accept()[0])      # and never read
        sock.settimeout(3600)                     # a write that waits, waits long
        return sock

    monkeypatch.setattr(tcp_link.JttLink, "_connect", connect)
    storage = Storage(tmp_path / "t.db")
    events = queue.Queue()
    outbox = Outbox(storage)
    views = []
    with JttPlatform("jt808") as healthy:
        for protocol, port in (("jt905", stalled.getsockname()[1]), ("jt808", healthy.port)):
            cfg = tcp_link.link_config(protocol, {"port": port, "auth_file": str(tmp_path / f"{protocol}.auth"),
                                                  "reply_timeout_s": 3600}, {"id": "T0001"})
            link = tcp_link.JttLink(protocol, protocol, cfg, events, tcp_link.wall_ms)
            views.append((link, LinkOutbox(storage, link, link=protocol, window=1000)))
        outbox.add_links([v for _, v in views], own=None)
        stop = threading.Event()
        loop = threading.Thread(target=run_link_loop, args=(outbox, events, stop), daemon=True)
        for link, _ in views:
            link.start()
        loop.start()
        try:
            healthy.wait_online(10)
            wait_until(lambda: accepted, "the stalled platform accepted")
            for n in range(1, 301):
                outbox.enqueue("taxi/T0001/up/trip", dict(trip(n), type="trip"), "trip")
            wait_until(lambda: outbox.stats()["links"]["jt808"]["pending"] == 0,
                       "every trip acknowledged on jt808 while jt905 is stalled", deadline_s=30)
            carried = [json.loads(base64.b64decode(m["body"]["data"])) for m in healthy.messages(0x0900)]
            assert len({t["record"]["trip_no"] for t in carried}) == 300
            assert outbox.stats()["links"]["jt905"]["pending"] > 0
        finally:
            for conn in accepted:
                conn.close()                      # the stalled write fails: the link's thread ends
            stop.set()
            loop.join(5)
            for link, _ in views:
                link.stop()
            stalled.close()
            storage.close()
