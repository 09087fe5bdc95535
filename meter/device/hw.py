"""The RP2040 hardware shim of the meter firmware (meter firmware room): the only module that
touches the chip. Everything it reads goes into ``MeterDevice`` (meter/device/firmware.py) as
plain values; nothing legal is decided here. Needs MicroPython's ``machine`` and ``rp2``, so it
is not imported by the tests or the emulator (which has its own shim, sim/meter_device_host.mjs).

Pins (docs/meter-device.md): GP2 speed-sensor pulses (counted by a PIO state machine, so no
pulse is lost to an interrupt that came late), GP6-GP11 keys (active low), GP12 seal input
(closed = low), GP13 supply sense (low = the supply is failing: the hold-up capacitor gives
the firmware time to journal the power-off), UART0 on GP0/GP1 at 9600 8N1 for the 905.2 link.
"""

import time

import machine
import rp2

KEY_PINS = {"hire": 6, "pause": 7, "resume": 8, "settle": 9, "clear": 10, "out_of_service": 11}
PULSE_PIN = 2
SEAL_PIN = 12
SUPPLY_PIN = 13
FLASH_BYTES = 512 * 1024        # the journal's two halves, inside rp2.Flash's filesystem area


@rp2.asm_pio()
def _count_edges():
    # X counts down once per rising edge; the firmware reads -X.
    label("loop")  # noqa: F821  (the PIO assembler's names exist inside @rp2.asm_pio only)
    wait(0, pin, 0)  # noqa: F821
    wait(1, pin, 0)  # noqa: F821
    jmp(x_dec, "loop")  # noqa: F821


class PulseCounter:
    def __init__(self, pin=PULSE_PIN):
        self.sm = rp2.StateMachine(0, _count_edges, in_base=machine.Pin(pin, machine.Pin.IN))
        self.sm.exec("set(x, 0)")
        self.sm.active(1)

    def count(self):
        self.sm.exec("mov(isr, x)")
        self.sm.exec("push()")
        return (-self.sm.get()) & 0xFFFFFFFF


class Keys:
    """Polled every 10 ms; a press counts once it has read low twice in a row (debounce)."""

    def __init__(self, pins=KEY_PINS):
        self.pins = {name: machine.Pin(n, machine.Pin.IN, machine.Pin.PULL_UP) for name, n in pins.items()}
        self.low = {name: 0 for name in pins}

    def pressed(self):
        out = []
        for name, pin in self.pins.items():
            if pin.value() == 0:
                self.low[name] += 1
                if self.low[name] == 2:
                    out.append(name)
            else:
                self.low[name] = 0
        return out


class Flash:
    """The journal's flash: ``rp2.Flash`` block device with byte offsets, NOR semantics."""

    BLOCK = 4096

    def __init__(self, size=FLASH_BYTES):
        self.dev = rp2.Flash()
        self.size = size

    def read(self, off, n):
        buf = bytearray(n)
        self.dev.readblocks(off // self.BLOCK, buf, off % self.BLOCK)
        return bytes(buf)

    def write(self, off, data):
        self.dev.writeblocks(off // self.BLOCK, data, off % self.BLOCK)

    def erase(self, off, n):
        for block in range(off // self.BLOCK, (off + n) // self.BLOCK):
            self.dev.ioctl(6, block)       # BP_IOCTL_SEC_ERASE


class Board:
    def __init__(self):
        self.uart = machine.UART(0, 9600, tx=machine.Pin(0), rx=machine.Pin(1))
        self.pulses = PulseCounter()
        self.keys = Keys()
        self.seal = machine.Pin(SEAL_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
        self.supply = machine.Pin(SUPPLY_PIN, machine.Pin.IN, machine.Pin.PULL_UP)
        self.flash = Flash()
        self.rtc = machine.RTC()
        self._epoch_at_boot = time.time() * 1000 - time.ticks_ms()

    def now(self):
        return self._epoch_at_boot + time.ticks_ms()

    def set_clock(self, t_ms):
        self._epoch_at_boot = t_ms - time.ticks_ms()

    def seal_closed(self):
        return self.seal.value() == 0

    def supply_ok(self):
        return self.supply.value() == 1
