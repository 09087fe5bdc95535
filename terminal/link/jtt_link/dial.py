"""Platform-link room, JT/T links: dialling the platform (TCP or TLS), the backoff between tries, the clocks."""

from __future__ import annotations

import random
import socket
import ssl
import time


def backoff(cfg: dict, failures: int) -> float:
    """Exponential from reconnect_min_s to reconnect_max_s, with full jitter in its upper half."""
    cap = min(cfg["reconnect_max_s"], cfg["reconnect_min_s"] * 2 ** min(failures - 1, 20))
    return cap / 2 + random.random() * cap / 2


def connect(cfg: dict) -> socket.socket:
    """A connection to ``host:port``, TLS-wrapped (certificate and name checked) when ``tls``."""
    sock = socket.create_connection((cfg["host"], cfg["port"]), timeout=cfg["reply_timeout_s"])
    if cfg["tls"]:
        context = ssl.create_default_context(cafile=cfg["ca_file"] or None)
        sock = context.wrap_socket(sock, server_hostname=cfg["server_name"] or cfg["host"])
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Reads wait in select(); a write the platform does not take within the reply timeout
    # drops the connection instead of holding the loop (and the link's lock) forever.
    sock.settimeout(cfg["reply_timeout_s"])
    return sock


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def monotonic_ms() -> int:
    """The session's timers (heartbeat, reply timeout) run on the monotonic clock: a simulated
    or corrected wall clock must not make the link think the platform went silent."""
    return time.monotonic_ns() // 1_000_000
