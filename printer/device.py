"""Printer connections: open a receipt printer by URL, the thin adapter to the world.

URLs:
  /dev/ttyUSB0, /dev/pts/N, socket://…, rfc2217://…, loop://   serial (pyserial URL), ``baudrate``
  tcp://HOST[:PORT]                                              network printer (port 9100 by default)
  usb://VID:PID                                                  USB printer (hex ids, pyusb)
  dummy://                                                       python-escpos Dummy (collects bytes)

A ``PrinterConnection`` holds the python-escpos printer object (``.escpos``) and offers
what the spooler and the status query need: write all bytes, read a status reply with
a timeout, drop stale input. A serial printer (the car's) is a plain pyserial port: the
status query (DLE EOT n) and a receipt's bytes need no python-escpos object, so python-escpos
(about 17 MB with its capabilities, qrcode, barcode and pyusb) is loaded only when a
receipt is first rendered or ``.escpos`` is first asked for.
"""

from __future__ import annotations

import select
import socket
import sys
from urllib.parse import urlsplit

import serial

DEFAULT_PROFILE = "default"   # python-escpos profile: full cut, native QR (escpos_out renders with it)
DEFAULT_COLUMNS = 32          # 58 mm paper, font A (12 x 24 dots), 384 dots


class PrinterOpenError(OSError):
    """The printer at a URL cannot be opened; the message names the URL."""


class PrinterLinkError(OSError):
    """Writing to or reading from an open printer failed."""


def _usb_errors() -> tuple:
    """pyusb's errors, if pyusb was ever loaded (a serial printer never loads it)."""
    core = sys.modules.get("usb.core")
    return (core.USBError,) if core is not None else ()


def _tcp_printer(host: str, port: int, timeout_s: float, profile: str):
    """python-escpos's Network printer, closing its socket when the connection fails
    (3.1 leaves it to the garbage collector, which a retrying spooler should not)."""
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Network

    p = Network(host=host, port=port, timeout=timeout_s, profile=profile)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout_s)
    try:
        sock.connect((host, port))
    except OSError as exc:
        sock.close()
        raise DeviceNotFoundError(f"Could not open socket for {host}:{port}: {exc}") from exc
    p.device = sock
    return p


class _SerialPrinter:
    """A serial printer as the spooler needs it: the open pyserial port as ``device``."""

    def __init__(self, device: serial.SerialBase) -> None:
        self.device = device

    def close(self) -> None:
        self.device.close()


class PrinterConnection:
    def __init__(self, url: str, escpos_printer, kind: str, profile: str = DEFAULT_PROFILE) -> None:
        self.url = url
        self._escpos = escpos_printer
        self._profile = profile
        self.kind = kind  # "serial" | "tcp" | "usb" | "dummy"

    @property
    def escpos(self):
        """The python-escpos printer object; for a serial printer made on first use, on the open port."""
        if isinstance(self._escpos, _SerialPrinter):
            from escpos.printer import Serial

            port = self._escpos.device
            p = Serial(devfile=self.url, baudrate=port.baudrate, timeout=port.timeout, profile=self._profile)
            p.device = port  # already open: python-escpos must not open it again
            self._escpos = p
        return self._escpos

    # -- writing
    def write(self, data: bytes) -> None:
        """Write every byte or raise PrinterLinkError."""
        try:
            if self.kind == "serial":
                self._escpos.device.write(data)
                self._escpos.device.flush()
            else:
                self.escpos._raw(data)
        except (OSError, serial.SerialException, *_usb_errors()) as exc:
            raise PrinterLinkError(f"printer {self.url}: write failed: {exc}") from exc

    # -- reading status replies
    def read_reply(self, timeout_s: float) -> bytes:
        """One reply byte, or b"" when nothing came within ``timeout_s``."""
        try:
            if self.kind == "serial":
                dev = self._escpos.device
                dev.timeout = timeout_s
                return dev.read(1)
            if self.kind == "tcp":
                sock: socket.socket = self.escpos.device
                sock.settimeout(timeout_s)
                try:
                    return sock.recv(1)
                except TimeoutError:
                    return b""
            if self.kind == "usb":
                import usb.core

                dev = self.escpos.device
                try:
                    # a bulk read asks for a whole packet; a status reply is its first byte
                    return bytes(dev.read(self.escpos.in_ep, 64, int(timeout_s * 1000)))
                except usb.core.USBTimeoutError:
                    return b""
            return b""  # dummy: no printer to answer
        except (OSError, serial.SerialException, *_usb_errors()) as exc:
            raise PrinterLinkError(f"printer {self.url}: read failed: {exc}") from exc

    def discard_input(self) -> None:
        """Drop bytes already waiting (a late reply to an earlier query)."""
        try:
            if self.kind == "serial":
                self._escpos.device.reset_input_buffer()
            elif self.kind == "tcp":
                sock: socket.socket = self.escpos.device
                while select.select([sock], [], [], 0)[0]:
                    if not sock.recv(256):
                        break
        except (OSError, serial.SerialException) as exc:
            raise PrinterLinkError(f"printer {self.url}: {exc}") from exc

    def close(self) -> None:
        self._escpos.close()

    def __enter__(self) -> PrinterConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_printer(url: str, baudrate: int = 9600, timeout_s: float = 2.0,
                 profile: str = DEFAULT_PROFILE) -> PrinterConnection:
    """Open the printer at ``url``; PrinterOpenError (naming the URL) when it cannot be."""
    if not isinstance(url, str) or not url:
        raise PrinterOpenError("printer URL is empty")
    parts = urlsplit(url)
    scheme = parts.scheme if "://" in url else ""
    if scheme in ("", "socket", "rfc2217", "loop", "spy", "alt", "hwgrep"):
        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s, write_timeout=timeout_s)
        except (ValueError, serial.SerialException) as exc:
            raise PrinterOpenError(f"cannot open printer {url}: Unable to open serial printer on {url}: "
                                   f"{_one_line(exc)}") from exc
        return PrinterConnection(url, _SerialPrinter(port), "serial", profile)
    import usb.core
    from escpos.exceptions import DeviceNotFoundError
    from escpos.printer import Dummy, Usb

    try:
        if scheme == "dummy":
            return PrinterConnection(url, Dummy(profile=profile), "dummy")
        if scheme == "tcp":
            host = parts.hostname
            try:
                port = parts.port or 9100
            except ValueError as exc:
                raise PrinterOpenError(f"cannot open printer {url}: bad port") from exc
            if not host:
                raise PrinterOpenError(f"cannot open printer {url}: no host")
            return PrinterConnection(url, _tcp_printer(host, port, timeout_s, profile), "tcp")
        if scheme == "usb":
            vid, pid = _usb_ids(url, parts.netloc)
            p = Usb(idVendor=vid, idProduct=pid, timeout=int(timeout_s * 1000), profile=profile)
            p.open()
            return PrinterConnection(url, p, "usb")
    except DeviceNotFoundError as exc:
        raise PrinterOpenError(f"cannot open printer {url}: {_one_line(exc)}") from exc
    except (usb.core.NoBackendError, usb.core.USBError) as exc:
        raise PrinterOpenError(f"cannot open printer {url}: {_one_line(exc)}") from exc
    raise PrinterOpenError(f"cannot open printer {url}: unknown scheme {scheme!r} "
                           "(use a serial path/URL, tcp://HOST:PORT, usb://VID:PID or dummy://)")


def _usb_ids(url: str, netloc: str) -> tuple[int, int]:
    try:
        vid_text, pid_text = netloc.split(":")
        return int(vid_text, 16), int(pid_text, 16)
    except ValueError as exc:
        raise PrinterOpenError(f"cannot open printer {url}: expected usb://VID:PID in hex, e.g. usb://0416:5011") \
            from exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())

