"""Pin factories: the one place that knows which gpiozero backend a board's GPIO goes through.

Drivers never pick a backend; they receive the factory made here through ``pin_factory=``. On the
``sim`` board and in tests that is gpiozero's ``MockFactory``, whose pins are driven with
``pin.drive_low()`` / ``pin.drive_high()``.
"""

from board.profiles import BoardError, BoardProfile


def make_pin_factory(profile: BoardProfile):
    """A fresh gpiozero pin factory for ``profile`` (BoardError if its backend is not installed)."""
    kind = profile.pin_factory
    try:
        if kind == "mock":
            from gpiozero.pins.mock import MockFactory

            return MockFactory()
        if kind == "lgpio":
            from gpiozero.pins.lgpio import LGPIOFactory

            return LGPIOFactory()
        if kind == "rpigpio":
            from gpiozero.pins.rpigpio import RPiGPIOFactory

            return RPiGPIOFactory()
        if kind == "pigpio":
            from gpiozero.pins.pigpio import PiGPIOFactory

            return PiGPIOFactory()
        if kind == "native":
            from gpiozero.pins.native import NativeFactory

            return NativeFactory()
    except ImportError as exc:
        raise BoardError(
            f"board '{profile.name}' needs the {kind} GPIO backend, which is not installed ({exc})"
        ) from exc
    except OSError as exc:
        raise BoardError(f"board '{profile.name}': the {kind} GPIO backend cannot open the GPIO chip ({exc})") from exc
    raise BoardError(f"unknown pin factory {kind!r}")
