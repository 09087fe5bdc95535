"""A rooftop sign (top light) on a pseudo-terminal, for the bench and the simulation.

It decodes the JT/T 905.2 frames the terminal sends, does what they say, answers status queries
and acknowledges set commands, and records every state it showed with the time. It can be told to
go silent (a dead TX line: it still obeys, never answers) or to answer garbage.
"""

import random
import threading
import time
from collections.abc import Callable

from drivers.sign_frame import (
    ACK_FAIL,
    ACK_OK,
    ACK_UNSUPPORTED,
    CMD_CLEAR_MARK,
    CMD_QUERY,
    CMD_RESET,
    CMD_SET_BAUD,
    CMD_SET_MARK,
    CMD_SET_NIGHT,
    CMD_SET_STARS,
    CMD_SET_STATE,
    DEVICE_TOP_LIGHT,
    STATE_NAMES,
    Frame,
    FrameDecoder,
    Rejected,
    TopLightStatus,
    encode,
)
from sim.pty import PtyDevice


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SignEmulator:
    def __init__(
        self,
        clock: Callable[[], int] = _wall_ms,
        *,
        vendor: int = 0x00,
        serial_number: int = 0x000001,
        hw_version: int = 1,
        sw_version: tuple[int, int] = (1, 0),
        seed: int = 905,
    ) -> None:
        self._clock = clock
        self.vendor = vendor
        self.serial_number = serial_number
        self.hw_version = hw_version
        self.sw_version = sw_version
        self.pty = PtyDevice()
        self.path = self.pty.path
        self.state = "vacant"
        self.night = False
        self.stars = 0
        self.mark: bytes | None = None  # the anti-counterfeit mark shown, if any
        self.history: list[tuple[int, str]] = []  # (t_ms, state) every time a state command arrives
        self.frames: list[Frame] = []  # every frame received, in order
        self.rejected: list[Rejected] = []
        self.silent = False
        self.garbage = False
        self.on_frame: Callable[[Frame], None] | None = None  # called on the reader thread per frame
        self._random = random.Random(seed)
        self._decoder = FrameDecoder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "SignEmulator":
        self._thread = threading.Thread(target=self._run, name="sign-emulator", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.pty.close()

    def __enter__(self) -> "SignEmulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def states(self) -> list[str]:
        with self._lock:
            return [state for _, state in self.history]

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self.pty.read(timeout=0.05)
            if not data:
                continue
            for item in self._decoder.feed(data):
                if isinstance(item, Rejected):
                    with self._lock:
                        self.rejected.append(item)
                    continue
                answer = self._obey(item)
                if self.on_frame is not None:
                    self.on_frame(item)
                if answer is not None and not self.silent:
                    self._answer(answer)

    def _answer(self, frame: Frame) -> None:
        if self.garbage:
            noise = bytes(self._random.randrange(256) for _ in range(self._random.randint(3, 24)))
            broken = bytearray(encode(frame))
            broken[-3] ^= 0x5A  # a frame with a wrong XOR, then line noise
            self.pty.write(bytes(broken) + noise)
            return
        self.pty.write(encode(frame))

    def _ack(self, command: int, result: int) -> Frame:
        return Frame(DEVICE_TOP_LIGHT, self.vendor, command, bytes((result,)))

    def _obey(self, frame: Frame) -> Frame | None:
        if frame.device != DEVICE_TOP_LIGHT:
            return None  # addressed to another peripheral on the line
        t = self._clock()
        with self._lock:
            self.frames.append(frame)
        command, body = frame.command, frame.body
        if command == CMD_QUERY:
            status = TopLightStatus(
                vendor_id=self.vendor, product_id=DEVICE_TOP_LIGHT, serial=self.serial_number,
                hw_version=self.hw_version, sw_major=self.sw_version[0], sw_minor=self.sw_version[1],
                device_state=0, running_state=_code(self.state), night_mode=1 if self.night else 0,
            )
            return Frame(DEVICE_TOP_LIGHT, self.vendor, CMD_QUERY, status.to_body())
        if command == CMD_SET_STATE:
            if len(body) != 1 or body[0] not in STATE_NAMES:
                return self._ack(command, ACK_FAIL)
            with self._lock:
                self.state = STATE_NAMES[body[0]]
                self.history.append((t, self.state))
            return self._ack(command, ACK_OK)
        if command == CMD_SET_STARS:
            if len(body) != 1 or body[0] > 5:
                return self._ack(command, ACK_FAIL)
            self.stars = body[0]
            return self._ack(command, ACK_OK)
        if command == CMD_SET_NIGHT:
            if len(body) != 1 or body[0] > 1:
                return self._ack(command, ACK_FAIL)
            self.night = body[0] == 1
            return self._ack(command, ACK_OK)
        if command == CMD_SET_MARK:
            if not body:
                return self._ack(command, ACK_FAIL)
            self.mark = bytes(body)
            return self._ack(command, ACK_OK)
        if command == CMD_CLEAR_MARK:
            self.mark = None
            return self._ack(command, ACK_OK)
        if command in (CMD_RESET, CMD_SET_BAUD):
            if command == CMD_RESET:
                with self._lock:
                    self.state = "vacant"
                    self.history.append((t, self.state))
            return self._ack(command, ACK_OK)
        return self._ack(command, ACK_UNSUPPORTED)


def _code(state: str) -> int:
    return next(code for code, name in STATE_NAMES.items() if name == state)
