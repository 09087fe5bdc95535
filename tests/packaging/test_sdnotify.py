"""sd_notify as the service uses it: readiness reaches the socket; a socket that went away is no crash."""

import socket

from terminal.app.sdnotify import notify


def test_notifications_reach_the_socket_and_a_gone_socket_is_survived(tmp_path, monkeypatch):
    path = tmp_path / "notify"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    assert notify("READY=1")
    assert listener.recv(100) == b"READY=1"
    listener.close()                       # systemd re-executing, or the supervisor gone
    assert notify("WATCHDOG=1") is False
    path.unlink()
    assert notify("WATCHDOG=1") is False
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert notify("READY=1") is False
