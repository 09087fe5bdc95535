"""The reader thread against the emulator over real pseudo-terminals (and pyserial's other URLs)."""

import queue
import socket
import threading

import pytest
import serial

from gps.framer import with_checksum
from gps.reader import GnssReader, open_port
from sim.gnss_emulator import GnssPtyServer, nmea_epochs
from sim.gnss_route import drive, urban_route
from sim.pty import PtyDevice


class StepClock:
    """Virtual milliseconds: each call moves on by ``step`` so health timeouts come without sleeping."""

    def __init__(self, step: int = 0) -> None:
        self.now, self.step = 1_790_000_000_000, step

    def __call__(self) -> int:
        self.now += self.step
        return self.now


def drain(events: queue.Queue) -> list:
    out = []
    while True:
        try:
            out.append(events.get_nowait())
        except queue.Empty:
            return out


def wait_for(events: queue.Queue, predicate, timeout: float = 10.0) -> list:
    seen = []
    while True:
        event = events.get(timeout=timeout)  # queue.Empty fails the test if nothing comes
        seen.append(event)
        if predicate(event, seen):
            return seen


@pytest.mark.parametrize("style", ["ublox", "mtk", "beidou"])
def test_emulated_receiver_on_a_pty_gives_fix_and_antenna_events(style):
    samples = list(drive(urban_route(600, seed=3), 2.0))[:30]
    epochs = list(nmea_epochs(samples, style=style, antenna_faults=[(5, 3, "open")]))
    events: queue.Queue = queue.Queue()
    with GnssPtyServer(epochs, speed=50.0) as server:
        reader = GnssReader(server.path, events, clock=StepClock())
        reader.start()
        server.start()
        seen = wait_for(events, lambda e, s: e.kind == "gnss_health" and e.data == {"alarm": "antenna_open",
                                                                                    "active": False})
        seen += wait_for(events, lambda e, s: sum(x.kind == "fix" for x in s) >= 3)
        reader.stop()
    fixes = [e.data["fix"] for e in seen if e.kind == "fix"]
    assert any(f.positioned for f in fixes)
    assert all(f.talker in ("GN", "GP", "BD") for f in fixes)
    health = [e.data for e in seen if e.kind == "gnss_health"]
    assert health[:2] == [{"alarm": "antenna_open", "active": True}, {"alarm": "antenna_open", "active": False}]
    assert reader.stats()["checksum_rejected"] == 0 and reader.stats()["fixes"] >= len(fixes)


def test_garbage_on_the_line_is_counted_and_fixes_still_come():
    events: queue.Queue = queue.Queue()
    with PtyDevice() as device:
        reader = GnssReader(device.path, events, clock=StepClock()).start()
        good = [with_checksum(f"GPRMC,00000{i}.00,A,3015.0,N,12009.0,E,1.0,90.0,140524,,,A") for i in range(4)]
        device.write(b"\x00\xffnoise" + good[0] + b"$GPRMC,bad*01\r\n" + good[1] + good[2][:20])
        device.write(good[2][20:] + b"\xb5\x62" * 100 + good[3])
        seen = wait_for(events, lambda e, s: sum(x.kind == "fix" for x in s) >= 3)
        reader.stop()
    stats = reader.stats()
    assert [e.data["fix"].time_ms % 60_000 for e in seen if e.kind == "fix"][:3] == [0, 1000, 2000]
    assert stats["checksum_rejected"] == 1 and stats["garbage_bytes"] >= 207


def test_silent_receiver_raises_gnss_fault_on_the_injected_clock():
    events: queue.Queue = queue.Queue()
    with PtyDevice() as device:
        reader = GnssReader(device.path, events, clock=StepClock(step=1000), no_data_ms=3000).start()
        seen = wait_for(events, lambda e, s: e.kind == "gnss_health")
        reader.stop()
    assert seen[-1].data == {"alarm": "gnss_fault", "active": True}


def test_loop_url_and_socket_url():
    line = with_checksum("GNRMC,120000.00,A,3015.0,N,12009.0,E,1.0,90.0,140524,,,A")
    events: queue.Queue = queue.Queue()
    port = serial.serial_for_url("loop://", timeout=0.1)
    reader = GnssReader("loop://", events, clock=StepClock(), port=port).start()
    port.write(line + line.replace(b"120000", b"120001").replace(b"*", b"*X"))  # second one is corrupt
    port.write(with_checksum("GNRMC,120002.00,A,3015.0,N,12009.0,E,1.0,90.0,140524,,,A"))
    wait_for(events, lambda e, s: e.kind == "fix")
    reader.stop()

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    stop = threading.Event()

    def serve() -> None:
        # a receiver behind a serial-to-TCP bridge streams on; pyserial flushes whatever
        # arrived before its open completed, so the stream must keep coming
        conn, _ = server.accept()
        with conn:
            for second in range(3600):
                epoch = with_checksum(f"GNRMC,12{second // 60:02d}{second % 60:02d}.00,A,3015.0,N,12009.0,E,"
                                      "1.0,90.0,140524,,,A")
                try:
                    conn.sendall(epoch[:30])
                    conn.sendall(epoch[30:])
                except OSError:
                    return
                if stop.wait(0.01):
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    events = queue.Queue()
    reader = GnssReader(f"socket://127.0.0.1:{server.getsockname()[1]}", events, clock=StepClock()).start()
    seen = wait_for(events, lambda e, s: e.kind == "fix")
    reader.stop()
    stop.set()
    thread.join(5)
    server.close()
    assert seen[-1].data["fix"].positioned
    assert 12 * 3_600_000 <= seen[-1].data["fix"].time_ms % 86_400_000 < 13 * 3_600_000


def test_a_port_that_cannot_open_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot open GNSS port"):
        open_port("/dev/does-not-exist-gnss")
    with pytest.raises(ValueError, match="cannot open GNSS port"):
        open_port("nosuchscheme://x")


class ClosedUnderTheReader:
    """pyserial's read on a port closed by another thread fails with TypeError (its fd is None)."""

    in_waiting = 0

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size):
        self.reads += 1
        raise TypeError("'NoneType' object cannot be interpreted as an integer")

    def close(self):
        pass


def test_a_port_closed_under_the_reader_does_not_end_its_thread():
    events: queue.Queue = queue.Queue()
    port = ClosedUnderTheReader()
    reader = GnssReader("test://closed", events, clock=StepClock(step=1000), port=port).start()
    try:
        waited = threading.Event()
        for _ in range(100):            # the reader pauses 0.2 s after a failed read
            if port.reads >= 3 or waited.wait(0.05):
                break
        assert reader._thread.is_alive(), "a port error ended the GNSS reader thread"
        assert port.reads >= 2 and "NoneType" in (reader.error or "")
    finally:
        reader.stop()


def test_a_receiver_absent_at_start_is_a_gnss_fault_and_is_picked_up_when_plugged_in(tmp_path):
    """A loose USB receiver at boot must not keep the terminal (and so the taximeter, which meters
    on pulses) from starting: the reader starts without its port, raises gnss_fault on the health
    clock, and opens the port when it appears (a udev symlink such as /dev/taxiterm-gnss)."""
    events: queue.Queue = queue.Queue()
    link = tmp_path / "taxiterm-gnss"
    reader = GnssReader(str(link), events, clock=StepClock(step=1000), no_data_ms=3000).start()
    try:
        seen = wait_for(events, lambda e, s: e.kind == "gnss_health")
        assert seen[-1].data == {"alarm": "gnss_fault", "active": True}
        assert str(link) in (reader.error or "")
        with PtyDevice() as device:
            link.symlink_to(device.path)          # plugged in: udev makes the link
            stop = threading.Event()

            def receiver():
                second = 0
                while not stop.wait(0.1):
                    second += 1
                    device.write(with_checksum(f"GPRMC,0000{second % 60:02d}.00,A,3015.0,N,12009.0,E,1.0,90.0,140524,,,A"))
            thread = threading.Thread(target=receiver, daemon=True)
            thread.start()
            try:
                seen = wait_for(events, lambda e, s: e.kind == "fix")
            finally:
                stop.set()
                thread.join(5)
        assert seen[-1].data["fix"].positioned
        assert reader._thread.is_alive()
    finally:
        reader.stop()


def test_a_malformed_port_url_is_still_refused_at_start():
    """A URL no receiver can ever appear at is the configuration's fault, said at start."""
    with pytest.raises(ValueError, match="cannot open GNSS port"):
        GnssReader("nosuchscheme://x", queue.Queue())
