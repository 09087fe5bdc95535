"""A minimal asyncio MQTT client (5 or 3.1.1, publish at QoS 0/1, subscribe), for fleet load.

The simulator's room. paho costs a thread, a socket pair and some hundred kilobytes per
client; a thousand simulated terminals in one process need a client that is a few
objects on one event loop. This one speaks just enough MQTT (OASIS MQTT 5.0 and 3.1.1):
CONNECT with client id, username/password and clean start, CONNACK, PUBLISH QoS 0/1
with packet identifiers, PUBACK both ways, SUBSCRIBE/SUBACK, PINGREQ/PINGRESP and
DISCONNECT. No session resumption, no QoS 2, no properties beyond an empty set: the
terminal's own uplink (terminal/link/mqtt.py) stays on paho; this client is only the
load generator's and is tested against the real Mosquitto (tests/sim/test_mini_mqtt.py).
"""

from __future__ import annotations

import asyncio
import struct

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


class MqttError(RuntimeError):
    pass


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


def connect_packet(client_id: str, *, version: int = 5, username: str | None = None,
                   password: str | None = None, keepalive: int = 60) -> bytes:
    flags = 0x02  # clean start: the terminal keeps its backlog itself (docs/fleet.md)
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    body = utf8("MQTT") + bytes([version, flags]) + struct.pack("!H", keepalive)
    if version == 5:
        body += b"\x00"  # no properties
    body += utf8(client_id)
    if username is not None:
        body += utf8(username)
    if password is not None:
        body += utf8(password)
    return packet(CONNECT, 0, body)


def publish_packet(topic: str, payload: bytes, *, qos: int, packet_id: int = 0, version: int = 5) -> bytes:
    body = utf8(topic)
    if qos:
        body += struct.pack("!H", packet_id)
    if version == 5:
        body += b"\x00"
    return packet(PUBLISH, qos << 1, body + payload)


def split_packets(buffer: bytearray) -> list[tuple[int, int, bytes]]:
    """Take every complete packet off the front of ``buffer``: (type, flags, body) each."""
    out = []
    while len(buffer) >= 2:
        length, shift, i = 0, 0, 1
        while True:
            if i >= len(buffer):
                return out
            byte = buffer[i]
            length |= (byte & 0x7F) << shift
            shift += 7
            i += 1
            if not byte & 0x80:
                break
            if shift > 21:
                raise MqttError("malformed remaining length")
        if len(buffer) < i + length:
            return out
        out.append((buffer[0] >> 4, buffer[0] & 0x0F, bytes(buffer[i:i + length])))
        del buffer[:i + length]
    return out


class Client(asyncio.Protocol):
    """One MQTT connection. ``on_puback(packet_id)`` and ``on_message(topic, payload)`` are callbacks."""

    def __init__(self, client_id: str, *, version: int = 5, username: str | None = None,
                 password: str | None = None, keepalive: int = 60, on_puback=None, on_message=None) -> None:
        self.client_id, self.version = client_id, version
        self._connect = connect_packet(client_id, version=version, username=username, password=password,
                                       keepalive=keepalive)
        self.on_puback = on_puback or (lambda pid: None)
        self.on_message = on_message or (lambda topic, payload: None)
        self.transport: asyncio.Transport | None = None
        self.connected: asyncio.Future | None = None
        self.subscribed: asyncio.Future | None = None
        self.closed = False
        self._buffer = bytearray()
        self._next_id = 0

    async def open(self, host: str, port: int, timeout_s: float = 10.0, ssl=None) -> Client:
        """Connect (over TLS when ``ssl`` is an SSLContext) and wait for the CONNACK."""
        loop = asyncio.get_running_loop()
        self.connected = loop.create_future()
        await asyncio.wait_for(loop.create_connection(lambda: self, host, port, ssl=ssl), timeout_s)
        await asyncio.wait_for(self.connected, timeout_s)
        return self

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self._connect)

    def connection_lost(self, exc) -> None:
        self.closed = True
        for fut in (self.connected, self.subscribed):
            if fut is not None and not fut.done():
                fut.set_exception(MqttError(f"{self.client_id}: connection lost ({exc})"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for kind, flags, body in split_packets(self._buffer):
            if kind == PUBACK:
                self.on_puback(struct.unpack_from("!H", body)[0])
            elif kind == PUBLISH:
                self._received(flags, body)
            elif kind == CONNACK:
                code = body[1]
                if code:
                    self.connected.set_exception(MqttError(f"{self.client_id}: CONNACK refused, code {code}"))
                    self.transport.close()
                else:
                    self.connected.set_result(True)
            elif kind == SUBACK and self.subscribed is not None and not self.subscribed.done():
                codes = body[2 + 1 + body[2]:] if self.version == 5 else body[2:]
                if any(c >= 0x80 for c in codes):
                    self.subscribed.set_exception(MqttError(f"{self.client_id}: SUBACK refused {codes.hex()}"))
                else:
                    self.subscribed.set_result(True)

    def _received(self, flags: int, body: bytes) -> None:
        qos = flags >> 1 & 3
        (tlen,) = struct.unpack_from("!H", body)
        topic = body[2:2 + tlen].decode()
        i = 2 + tlen
        if qos:
            (pid,) = struct.unpack_from("!H", body, i)
            i += 2
            self.transport.write(packet(PUBACK, 0, struct.pack("!H", pid)))
        if self.version == 5:
            plen, shift = 0, 0
            while True:
                byte = body[i]
                i += 1
                plen |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
            i += plen
        self.on_message(topic, body[i:])

    def packet_id(self) -> int:
        self._next_id = self._next_id % 0xFFFF + 1
        return self._next_id

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Send a PUBLISH; returns its packet id (0 at QoS 0)."""
        pid = self.packet_id() if qos else 0
        self.transport.write(publish_packet(topic, payload, qos=qos, packet_id=pid, version=self.version))
        return pid

    async def subscribe(self, topic_filter: str, qos: int = 1, timeout_s: float = 10.0) -> None:
        self.subscribed = asyncio.get_running_loop().create_future()
        body = struct.pack("!H", self.packet_id()) + (b"\x00" if self.version == 5 else b"")
        body += utf8(topic_filter) + bytes([qos])
        self.transport.write(packet(SUBSCRIBE, 2, body))
        await asyncio.wait_for(self.subscribed, timeout_s)

    def ping(self) -> None:
        self.transport.write(packet(PINGREQ, 0, b""))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(packet(DISCONNECT, 0, b"\x00" if self.version == 5 else b""))
            self.transport.close()
