"""The meter firmware's main loop on the RP2040 (meter firmware room): glue between the hardware
shim (meter/device/hw.py) and ``MeterDevice``. Copied to the board as ``main.py`` with the files
named in ``FILES``; the software id is computed over exactly those files, on the device.
"""

import json
import time

FILES = ("meter/__init__.py", "meter/canonical.py", "meter/civil.py", "meter/errors.py", "meter/fare.py",
         "meter/odometer.py", "meter/tariff.py", "meter/taximeter.py", "meter/totalisers.py", "meter/trip.py",
         "meter/device/__init__.py", "meter/device/journal.py", "meter/device/firmware.py",
         "meter/device/hw.py", "meter/device/main.py", "drivers/__init__.py", "drivers/peripheral_frame.py",
         "drivers/meter_link_codec.py")


def own_code():
    out = []
    for name in FILES:
        with open(name, "rb") as f:
            out.append((name, f.read()))
    return out


def main():
    from meter.device import hw
    from meter.device.firmware import MeterDevice, software_id
    board = hw.Board()
    with open("device.json") as f:             # plate, licence, driver, vendor, tariffs (installed under the seal)
        setup = json.load(f)
    dev = MeterDevice(board.flash, setup["tariffs"], setup["profile"], board.now(),
                      code_id=software_id(own_code()))
    next_reading = board.now()
    # the PIO counter starts at 0 at every boot; the odometer goes on from its journaled reading
    pulse_base = dev.meter.odometer.reading or 0
    powered = True
    while True:
        now = board.now()
        dev.seal(board.seal_closed())
        if board.supply_ok() != powered:
            powered = board.supply_ok()
            dev.power(now, powered)
        for key in board.keys.pressed():
            try:
                dev.press(now, key)
            except Exception as exc:         # a refused key changes nothing; the display says why
                print("refused", key, exc)
        if powered and now >= next_reading:
            next_reading = now + 1000
            dev.pulses(now, pulse_base + board.pulses.count())
        waiting = board.uart.any()
        if waiting:
            dev.receive(now, board.uart.read(waiting))
        dev.tick(now)
        if dev.clock_to is not None:
            board.set_clock(dev.clock_to)
            dev.clock_to = None
        out = dev.take()
        if out:
            board.uart.write(out)
        time.sleep_ms(10)


if __name__ == "__main__":
    main()
