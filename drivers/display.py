"""The driver display: luma.core devices, and what is on them.

``open_display(spec)`` builds the device a board profile names: a ``FrameDevice`` on the sim board and
in tests (it keeps the last frame, as luma's ``dummy`` does, without luma's device and serial-interface
modules in the process), an SSD1306/SSD1322 through luma.oled on hardware (luma.oled is only needed
there; without it opening one is a clear ``DisplayError``). ``DriverDisplay`` draws the screens of drivers/screens.py on
it through luma's canvas and keeps the last frame. It also takes events: printer and sign troubles
become short warnings beside the screen, as do the faults the terminal hands ``set_faults`` (GNSS,
antenna, speed sensor); the emergency alarm changes nothing, ever.
"""

from luma.core.render import canvas
from PIL import Image

from board.profiles import DisplaySpec
from drivers.event import Event
from drivers.screens import AllOnScreen, draw_screen, release_fonts


class DisplayError(RuntimeError):
    """The display named by the board profile cannot be opened."""


class FrameDevice:
    """A display that only keeps a copy of the last frame it was given (the sim board's, and tests')."""

    def __init__(self, width: int, height: int, mode: str = "1") -> None:
        self.width, self.height, self.mode = width, height, mode
        self.size = (width, height)
        self.image: Image.Image | None = None

    def display(self, image: Image.Image) -> None:
        if image.size != self.size:
            raise ValueError(f"a {image.size} frame on a {self.size} display")
        self.image = image.copy()

    def cleanup(self) -> None:
        """Nothing to switch off."""


def open_display(spec: DisplaySpec):
    if spec.kind == "dummy":
        return FrameDevice(spec.width, spec.height)
    try:
        from luma.oled import device as oled
    except ImportError as exc:
        raise DisplayError(
            f"the {spec.kind} display needs luma.oled, which is not installed ({exc}); "
            "install it on the vehicle image or use the sim board's dummy display"
        ) from exc
    from luma.core.error import Error as LumaError
    from luma.core.interface import serial as bus

    try:
        if spec.bus == "i2c":
            interface = bus.i2c(port=spec.port, address=spec.address)
        else:
            interface = bus.spi(port=spec.port, device=spec.device, gpio_DC=spec.dc, gpio_RST=spec.reset)
        return getattr(oled, spec.kind)(interface, width=spec.width, height=spec.height)
    except (LumaError, OSError) as exc:  # DeviceNotFoundError, DevicePermissionError, ...
        raise DisplayError(f"cannot open the {spec.kind} display on {spec.bus}{spec.port}: {exc}") from exc


# What each printer trouble is called on the cabin display, by the status's reason. A printer
# out of paper also sets its offline bit (DLE EOT 1): the reason says why, and that is shown.
PRINTER_WARNINGS = {"cover_open": "开盖", "paper_out": "缺纸", "error": "打印机故障", "offline": "打印机离线",
                    "no_reply": "打印机离线", "link_error": "打印机离线", "malformed_reply": "打印机离线"}


class DriverDisplay:
    def __init__(self, device) -> None:
        self.device = device
        self.screen = None
        self.warnings: tuple[str, ...] = ()
        self.frame: Image.Image | None = None
        self._printer: tuple[str, ...] = ()
        self._sign: tuple[str, ...] = ()
        self._faults: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return self.device.size

    def show(self, screen) -> Image.Image:
        """Draw ``screen`` (with the current warnings) and keep it as the frame on the panel."""
        self.screen = screen
        return self._render()

    def _render(self) -> Image.Image:
        warnings = () if isinstance(self.screen, AllOnScreen) else self.warnings
        surface = canvas(self.device)
        try:
            with surface as draw:
                if self.screen is not None:
                    draw_screen(draw, self.device.size, self.screen, warnings)
        finally:
            release_fonts()     # no font face held between frames (drivers/screens.py)
        self.frame = surface.image
        return self.frame

    def on_event(self, event: Event) -> bool:
        """Follow device troubles; True if the frame changed. Alarm events are ignored on purpose."""
        if event.kind == "printer_status":
            data = event.data
            reason = data.get("reason") or next((k for k in ("cover_open", "paper_out", "error") if data.get(k)), None)
            if reason is None and not data.get("online", True):
                reason = "offline"
            self._printer = (PRINTER_WARNINGS.get(reason, "打印机故障"),) if reason else ()
        elif event.kind == "sign_fault":
            self._sign = ("顶灯故障",) if event.data.get("active") else ()
        else:
            # alarm_button, the platform's alarm commands and everything else: not for the cabin.
            return False
        return self._rewarn()

    def warnings_due(self, labels: tuple[str, ...]) -> bool:
        """Would ``set_faults(labels)`` change what is shown?"""
        return tuple(labels) != self._faults

    def set_faults(self, labels: tuple[str, ...]) -> bool:
        """Device faults the terminal judged (GNSS, antenna, speed sensor); True if the frame changed."""
        self._faults = tuple(labels)
        return self._rewarn()

    def _rewarn(self) -> bool:
        warnings = self._printer + self._sign + self._faults
        if warnings == self.warnings:
            return False
        self.warnings = warnings
        if self.screen is not None:
            self._render()
        return True


def render(screen, width: int = 256, height: int = 64, warnings: tuple = ()) -> Image.Image:
    """A screen drawn on a dummy device of the given size: for docs, previews and tests."""
    display = DriverDisplay(FrameDevice(width, height))
    display.warnings = warnings
    return display.show(screen)
