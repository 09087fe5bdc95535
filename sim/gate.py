"""A relay in front of a real Mosquitto (simulator room), for what a broker alone cannot do.

``Gate`` listens on its own port and relays to the broker: with ``refuse_v5`` it stands in
for a broker that only speaks MQTT 3.1.1 (it answers an MQTT 5 CONNECT with CONNACK return
code 1, "unacceptable protocol version", as such a broker does; Mosquitto 2.0 cannot be
configured to refuse MQTT 5 itself); ``cut()`` drops every relayed connection at once (the
car driving into a tunnel) while the broker stays up; ``hold()`` turns every new
connection away until ``release()``. ``read_packet`` reads one MQTT control packet.
"""

from __future__ import annotations

import socket
import threading

HOST = "127.0.0.1"

# -- a 3.1.1-only broker stand-in and connection cutter --------------------------------------------

CONNACK_UNACCEPTABLE_PROTOCOL = bytes([0x20, 0x02, 0x00, 0x01])


def read_packet(sock: socket.socket) -> bytes:
    """One whole MQTT control packet (fixed header included) from a blocking socket."""
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    header = exactly(1)
    length, multiplier, length_bytes = 0, 1, b""
    for _ in range(4):
        byte = exactly(1)
        length_bytes += byte
        length += (byte[0] & 0x7F) * multiplier
        if not byte[0] & 0x80:
            break
        multiplier *= 128
    return header + length_bytes + exactly(length)


def connect_protocol_level(packet: bytes) -> int:
    """The protocol level of a CONNECT packet (4 = 3.1.1, 5 = MQTT 5)."""
    if not packet or packet[0] >> 4 != 1:
        raise ValueError("not a CONNECT packet")
    i = 1
    while packet[i] & 0x80:
        i += 1
    i += 1
    name_len = int.from_bytes(packet[i : i + 2], "big")
    return packet[i + 2 + name_len]


class Gate:
    """Listens on its own port and relays to ``upstream_port``; refuses MQTT 5 when ``refuse_v5``.

    A TLS client (the shipped broker) is relayed byte for byte, the gate seeing no MQTT;
    ``Gate(port, tls=broker)`` instead ends TLS with the broker's own certificate and opens
    TLS again to the broker, so that it can read the CONNECT (``refuse_v5``, ``relayed_levels``).
    """

    def __init__(self, upstream_port: int, refuse_v5: bool = False, tls=None) -> None:
        self.upstream_port = upstream_port
        self.refuse_v5 = refuse_v5
        self.refused = 0
        self.relayed_levels: list[int] = []
        self._server = socket.create_server((HOST, 0))
        self.port = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._held = False
        self._tls = None
        if tls is not None:
            import ssl
            server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            server.load_cert_chain(tls.setup.root / "server.pem", tls.setup.root / "server.key")
            self._tls = (server, ssl.create_default_context(cafile=str(tls.ca_path)))
        threading.Thread(target=self._accept, name="broker-gate", daemon=True).start()

    def hold(self) -> None:
        """Turn every new connection away (closed at once) until ``release()``."""
        self._held = True

    def release(self) -> None:
        self._held = False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self._held:
            client.close()
            return
        try:
            if self._tls is not None:
                client = self._tls[0].wrap_socket(client, server_side=True)
            elif client.recv(1, socket.MSG_PEEK) == b"\x16":     # a TLS ClientHello: relay it blind
                self._relay(client, b"", None)
                return
            connect = read_packet(client)
            level = connect_protocol_level(connect)
        except (ConnectionError, OSError, ValueError, IndexError):
            client.close()
            return
        if self.refuse_v5 and level == 5:
            self.refused += 1
            client.sendall(CONNACK_UNACCEPTABLE_PROTOCOL)
            client.close()
            return
        self._relay(client, connect, level)

    def _relay(self, client: socket.socket, connect: bytes, level: int | None) -> None:
        try:
            upstream = socket.create_connection((HOST, self.upstream_port))
            if self._tls is not None:
                upstream = self._tls[1].wrap_socket(upstream, server_hostname=HOST)
        except OSError:
            client.close()
            return
        with self._lock:
            if level is not None:
                self.relayed_levels.append(level)
            self._open += [client, upstream]
        if self._tls is not None:
            self._pipe_both(client, upstream, connect)
            return
        upstream.sendall(connect)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe_both(a, b, first: bytes) -> None:
        """Both directions in one thread: an SSL socket must not be read and written at once
        from two threads."""
        import selectors
        try:
            b.sendall(first)
            with selectors.DefaultSelector() as sel:
                sel.register(a, selectors.EVENT_READ, b)
                sel.register(b, selectors.EVENT_READ, a)
                while True:
                    for key, _ in sel.select():
                        source, sink = key.fileobj, key.data
                        data = source.recv(65536)
                        if not data:
                            raise ConnectionError("closed")
                        while source.pending():                 # decrypted bytes select cannot see
                            data += source.recv(source.pending())
                        sink.sendall(data)
        except (OSError, ConnectionError, ValueError):
            pass  # either side gone: both close below
        for sock in (a, b):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already shut
            sock.close()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass  # either side gone: the other direction notices and both sockets close below
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already shut
            sock.close()

    def cut(self) -> None:
        """Drop every relayed connection at once, the broker staying up."""
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone
            sock.close()

    def close(self) -> None:
        try:
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass  # not connected: Linux still wakes accept() on close below
        self._server.close()
        self.cut()

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
