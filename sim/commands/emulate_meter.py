"""``taxiterm emulate-meter``: our meter firmware under MicroPython on a pseudo-terminal (simulator room).

Prints the pty path; a terminal with ``[meter] kind = "link"`` and ``link_port`` set to it talks
to the meter over JT/T 905.2. The meter is driven from standard input, one command a line:
``hire``, ``pause``, ``resume``, ``settle``, ``clear``, ``drive METRES``, ``power on|off``,
``seal open|closed``, ``kill`` (cut the power now), ``restart``, ``stats``, ``quit``. End of
input, Ctrl-C and SIGTERM stop it cleanly (exit 0, the firmware's process taken down).
"""

import signal
import sys
import time
import tomllib

from terminal.cli import CommandError

KEYS = ("hire", "pause", "resume", "settle", "clear", "out_of_service", "in_service")


def register(subparsers) -> None:
    parser = subparsers.add_parser("emulate-meter", help="our meter firmware under MicroPython on a pseudo-terminal")
    parser.add_argument("--flash", required=True, metavar="FILE", help="the meter's flash (created when missing)")
    parser.add_argument("--tariff", default=None, metavar="TOML", help="tariff file (default: the demo tariff)")
    parser.add_argument("--k", type=int, default=1000, help="pulses per km of the emulated speed sensor")
    parser.set_defaults(func=emulate_meter_command)


def _tariffs(path):
    from pathlib import Path
    path = Path(path) if path else Path(__file__).resolve().parents[1] / "data" / "tariff-demo.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CommandError(f"{path}: {exc}") from None
    tariffs = data.get("tariff")
    if not isinstance(tariffs, list) or not tariffs:
        raise CommandError(f"{path}: no [[tariff]] tables")
    return tariffs


def _check_flash(path: str) -> None:
    """A file that is not this emulator's flash image would be erased to make one: refuse it instead
    (a tariff or a capture given to --flash by mistake)."""
    from sim.meter_device import FLASH_BYTES
    from terminal.cli.commands._output import check_output

    flash = check_output(path, "meter flash")
    if flash.exists() and flash.stat().st_size != FLASH_BYTES:
        raise CommandError(f"{flash} is not a meter flash image ({flash.stat().st_size} bytes, a flash has "
                           f"{FLASH_BYTES}); it would be erased: name a new file, or the flash the emulator wrote")


def emulate_meter_command(args) -> int:
    from sim.meter_device import MeterDeviceEmulator

    _check_flash(args.flash)

    def clock() -> int:
        return time.time_ns() // 1_000_000

    tariffs = _tariffs(args.tariff)
    # SIGTERM as Ctrl-C: the wait for a command line is interrupted and the firmware closed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    emu = MeterDeviceEmulator(args.flash, clock, tariffs)
    try:
        emu.start()
        pulses = emu.stats().get("odometer", 0) or 0
        print(emu.path, flush=True)
        print(f"meter firmware {emu.software_id[:16]}… on {emu.path}; commands: {', '.join(KEYS)}, drive METRES, "
              "power on|off, seal open|closed, kill, restart, stats, quit", file=sys.stderr, flush=True)
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd, rest = words[0], words[1:]
            if cmd == "quit":
                break
            if cmd in KEYS:
                answer = emu.press(cmd)
            elif cmd == "drive" and rest and rest[0].isdigit():
                pulses += int(rest[0]) * args.k // 1000
                answer = emu.pulses(pulses)
            elif cmd == "power" and rest and rest[0] in ("on", "off"):
                answer = emu.power(rest[0] == "on")
            elif cmd == "seal" and rest and rest[0] in ("open", "closed"):
                answer = emu.seal(rest[0] == "closed")
            elif cmd == "kill":
                emu.kill()
                answer = {"killed": True}
            elif cmd == "restart":
                emu.restart()
                answer = {"booted": emu.boots}
            elif cmd == "stats":
                answer = emu.stats()
            else:
                answer = {"error": f"unknown command {line.strip()!r}"}
            answer.pop("uart", None)
            print(answer, file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    return 0
