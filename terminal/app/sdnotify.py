"""sd_notify: readiness and watchdog pings to systemd, when run under it (Type=notify).

A datagram to the socket named in $NOTIFY_SOCKET; without it (not under systemd)
nothing is sent. A socket that cannot be reached (systemd re-executing itself, a gone
supervisor) costs one missed notification, never the terminal.
"""

import os
import socket


def notify(message: str) -> bool:
    """Send one notification; True if systemd was there to receive it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError:
        return False
    return True
