"""The receipt printer emulator: an ESC/POS printer on a pseudo-terminal or a loopback TCP port.

It parses what the terminal sends (printer/preview/parse.py), answers real-time status
queries (DLE EOT 1..4) from its settable state, and renders every receipt (a cut ends
one) to plain text and PNG (printer/preview/render.py). State a test or a technician can
set: ``paper_out``, ``paper_near_end``, ``cover_open``, ``offline``, ``silent`` (no
answer at all, like a printer switched off) and ``reply_override`` (answer every
status query with these bytes: a broken printer). While the printer cannot print
(paper out, cover open, offline, silent) print data is dropped and counted, as paper
that is not there cannot be printed on.

Run one for the bench:  python -m sim.printer_emulator --pty --tcp 9100 --out /tmp/receipts
"""

from __future__ import annotations

import argparse
import ipaddress
import queue
import socket
import threading
import time
from pathlib import Path

from printer.preview.parse import EscposParser, PrintedReceipt
from printer.preview.render import PAPER_DOTS, render_png, render_text
from sim.pty import PtyDevice

STATES = ("paper_out", "paper_near_end", "cover_open", "offline", "silent")


class PrinterEmulator:
    def __init__(self, out_dir: str | Path | None = None, chinese_default: bool = True,
                 paper_dots: int = PAPER_DOTS) -> None:
        self.paper_out = False
        self.paper_near_end = False
        self.cover_open = False
        self.offline = False
        self.silent = False
        self.reply_override: bytes | None = None
        self.paper_dots = paper_dots
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._cond = threading.Condition(threading.RLock())
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: socket.socket | None = None
        self._renders: queue.Queue = queue.Queue()   # receipts still to be written as files
        self._renderer: threading.Thread | None = None
        self.parser = EscposParser(status_reply=self._status_reply, chinese_default=chinese_default,
                                   hold=self.hold_reason, on_receipt=self._on_receipt)

    # ---------------------------------------------------------------- state
    def set_state(self, **state: bool) -> None:
        """Set any of paper_out, paper_near_end, cover_open, offline, silent."""
        unknown = set(state) - set(STATES)
        if unknown:
            raise ValueError(f"unknown printer state {', '.join(sorted(unknown))}; known: {', '.join(STATES)}")
        with self._cond:
            for name, value in state.items():
                setattr(self, name, bool(value))

    def hold_reason(self) -> str | None:
        if self.silent:
            return "silent"
        if self.cover_open:
            return "cover_open"
        if self.paper_out:
            return "paper_out"
        if self.offline:
            return "offline"
        return None

    def status_byte(self, n: int) -> int:
        """The DLE EOT n reply of a well-behaved printer in the current state."""
        value = 0x12
        if n == 1 and (self.offline or self.cover_open or self.paper_out):
            value |= 0x08
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper_out else 0)
        elif n == 4:
            value |= (0x60 if self.paper_out else 0) | (0x0C if self.paper_near_end else 0)
        return value

    def _status_reply(self, n: int) -> bytes | None:
        if self.silent:
            return None
        if self.reply_override is not None:
            return self.reply_override
        return bytes([self.status_byte(n)])

    # ---------------------------------------------------------------- data
    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the terminal in, reply bytes out."""
        with self._cond:
            replies = self.parser.feed(data)
            self._cond.notify_all()
            return replies

    @property
    def receipts(self) -> list[PrintedReceipt]:
        with self._cond:
            return list(self.parser.receipts)

    def wait_for_receipts(self, count: int, timeout_s: float = 10.0) -> bool:
        """Block until ``count`` receipts were cut (True) or the timeout passed (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.parser.receipts) >= count, timeout_s)

    def text(self, index: int = -1) -> str:
        return render_text(self.receipts[index], self.paper_dots)

    def _on_receipt(self, receipt: PrintedReceipt) -> None:
        # Files are written on a thread of their own: a real printer answers DLE EOT at once, also
        # while it prints, and rendering a PNG here would hold up the status replies.
        if self.out_dir is None:
            return
        if self._renderer is None:
            self._renderer = threading.Thread(target=self._render_files, name="printer-files", daemon=True)
            self._renderer.start()
        self._renders.put((len(self.parser.receipts), receipt))

    def _render_files(self) -> None:
        while True:
            item = self._renders.get()
            try:
                if item is None:
                    return
                number, receipt = item
                self.out_dir.mkdir(parents=True, exist_ok=True)
                stem = self.out_dir / f"receipt_{number:04d}"
                stem.with_suffix(".txt").write_text(render_text(receipt, self.paper_dots), encoding="utf-8")
                render_png(receipt, stem.with_suffix(".png"), self.paper_dots)
            finally:
                self._renders.task_done()

    def flush_files(self) -> None:
        """Wait until every receipt received so far is written as files."""
        self._renders.join()

    # ---------------------------------------------------------------- transports
    def serve_pty(self, pty: PtyDevice) -> None:
        """Serve the master side of ``pty``; the terminal opens ``pty.path``."""
        self._start(self._pty_loop, pty)

    def _pty_loop(self, pty: PtyDevice) -> None:
        while not self._stop.is_set() and not pty.closed:
            data = pty.read(0.05)
            if data:
                for reply in self.feed(data):
                    pty.write(reply)

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen like a network printer (one connection at a time); returns the port."""
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the printer emulator listens on loopback only, not {host}")
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((host, port))
        server.listen(1)
        server.settimeout(0.1)
        self._server = server
        self._start(self._tcp_loop, server)
        return server.getsockname()[1]

    def _tcp_loop(self, server: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # server socket closed
            with conn:
                conn.settimeout(0.1)
                while not self._stop.is_set():
                    try:
                        data = conn.recv(4096)
                    except TimeoutError:
                        continue
                    except OSError:
                        break
                    if not data:
                        break
                    for reply in self.feed(data):
                        try:
                            conn.sendall(reply)
                        except OSError:
                            break

    def _start(self, target, arg) -> None:
        thread = threading.Thread(target=target, args=(arg,), name="printer-emulator", daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        if self._renderer is not None:
            self._renders.put(None)
            self._renderer.join()
            self._renderer = None
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> PrinterEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.printer_emulator",
                                     description="ESC/POS receipt printer emulator")
    parser.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal (its path is printed)")
    parser.add_argument("--tcp", type=int, metavar="PORT", help="listen on 127.0.0.1:PORT like a network printer")
    parser.add_argument("--out", required=True, help="directory for receipt_NNNN.txt/.png")
    for name in STATES:
        parser.add_argument(f"--{name.replace('_', '-')}", action="store_true", help=f"start with {name}")
    args = parser.parse_args(argv)
    if not args.pty and args.tcp is None:
        parser.error("give --pty and/or --tcp PORT")
    if args.tcp is not None and not 0 <= args.tcp <= 65535:
        parser.error(f"--tcp {args.tcp}: must be 0..65535 (0: any free port)")
    try:      # made now: receipts are written on the emulator's own thread, where a failure is unseen
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"cannot make the receipts folder {args.out}: {exc.strerror or exc}")
    emulator = PrinterEmulator(out_dir=args.out)
    emulator.set_state(**{name: getattr(args, name) for name in STATES})
    pty = None
    if args.pty:
        pty = PtyDevice()
        emulator.serve_pty(pty)
        print(f"printer on {pty.path}", flush=True)
    if args.tcp is not None:
        try:
            port = emulator.serve_tcp("127.0.0.1", args.tcp)
        except OSError as exc:
            emulator.close()
            if pty is not None:
                pty.close()
            parser.error(f"--tcp {args.tcp}: {exc.strerror or exc}")
        print(f"printer on tcp://127.0.0.1:{port}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.close()
        if pty is not None:
            pty.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
