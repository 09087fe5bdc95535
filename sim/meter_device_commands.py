"""One input of an emulated meter device, applied to the firmware's ``MeterDevice`` (simulator room).

Shared by both emulated meters: the device emulator's host runs it inside MicroPython
(sim/meter_device_host.mjs copies it next to the firmware; it is not part of the firmware's
software id), the Python 905.2 meter (sim/link_meter_emulator.py) under CPython. So it is
MicroPython-compatible. An input is a dict with the time ``t`` (ms) and one of ``uart`` (hex),
``pulses``, ``key`` (+ ``amount_fen``, ``label``), ``power``, ``seal``, or only ``tick``.
"""

import binascii


def apply(dev, cmd):
    """Apply ``cmd`` to ``dev`` at its time, then tick the device. A refused input raises (MeterError)."""
    t = cmd.get("t", 0)
    if "uart" in cmd:
        dev.receive(t, binascii.unhexlify(cmd["uart"]))
    elif "pulses" in cmd:
        dev.pulses(t, cmd["pulses"])
    elif "key" in cmd:
        dev.press(t, cmd["key"], cmd.get("amount_fen"), cmd.get("label"))
    elif "power" in cmd:
        dev.power(t, cmd["power"])
    elif "seal" in cmd:
        dev.seal(cmd["seal"])
    dev.tick(t)
