"""The reader thread of a JT/T 905.2 peripheral on its serial port (device layer).

The rooftop sign, the meter on the link and the passenger evaluator all read their port the
same way: block until bytes come, hand them on, and survive a port that fails under them.
"""

import serial


def read_forever(port, stop, on_data, on_error=None) -> None:
    """Bytes from ``port`` to ``on_data`` until ``stop`` (a threading.Event) is set. A failed read
    goes to ``on_error(reason)`` and the loop carries on after a short pause: no port trouble may
    end a reader thread."""
    while not stop.is_set():
        try:
            data = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            # TypeError/OSError: pyserial's read on a port closed under it while stopping
            if stop.is_set():
                return
            if on_error is not None:
                on_error(f"read failed: {exc}")
            stop.wait(0.05)
            continue
        if data:
            on_data(data)
