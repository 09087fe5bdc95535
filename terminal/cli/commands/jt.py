"""``taxiterm jt``: decode and build JT/T 808 / JT/T 905 frames (tools for integrators).

``jt decode HEX|FILE|-`` prints every frame it finds as JSON (header and body, in the
field names of EMQX's JT/T 808 gateway); ``jt encode [FILE|-]`` turns such JSON (one
message or a list) back into frames. docs/jtt.md has worked examples.
"""

import json
import sys
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._output import write_output
from terminal.cli.commands._seal_common import read_bytes
from terminal.link.jtt import PROTOCOLS, JttError, StreamDecoder, decode_payload, encode, split


def _read_input(source: str) -> bytes:
    """A hex string, a file of hex text, a binary capture, or '-' for stdin."""
    if source == "-":
        data = sys.stdin.buffer.read()
    elif Path(source).is_file():
        data = Path(source).read_bytes()
    else:
        data = source.encode("ascii", "replace")
    text = data.decode("ascii", "replace")
    compact = "".join(text.split())
    if compact.lower().startswith("0x"):
        compact = compact[2:]
    try:
        return bytes.fromhex(compact)
    except ValueError:
        if source != "-" and not Path(source).is_file():
            raise CommandError(f"{source!r} is neither hex nor a file") from None
        return data  # a binary capture


def _dump(message) -> str:
    try:
        text = json.dumps(message, ensure_ascii=False, indent=2)
        text.encode(sys.stdout.encoding or "utf-8")
        return text
    except UnicodeEncodeError:
        return json.dumps(message, indent=2)


def _decode(args) -> int:
    data = _read_input(args.input)
    decoder = StreamDecoder()
    items = decoder.feed(data)
    good = bad = 0
    for n, item in enumerate(items, start=1):
        if isinstance(item, JttError):
            bad += 1
            print(f"taxiterm: frame {n}: {type(item).__name__}: {item}", file=sys.stderr)
            continue
        try:
            message = decode_payload(item, args.protocol)
        except JttError as exc:
            bad += 1
            print(f"taxiterm: frame {n}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        good += 1
        print(_dump(message))
    if decoder.pending:
        bad += 1
        print(f"taxiterm: {decoder.pending} byte(s) after the last 0x7E: an unfinished frame", file=sys.stderr)
    if good + bad == 0:
        raise CommandError("no frame found (a frame starts and ends with 7E)")
    return 1 if bad else 0


def _encode(args) -> int:
    raw = sys.stdin.buffer.read() if args.input == "-" else read_bytes(args.input, "message file")
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{args.input}: not UTF-8 text (jt encode takes JSON; jt decode reads frames)") from None
    try:
        loaded = json.loads(source)
    except json.JSONDecodeError as exc:
        raise CommandError(f"not JSON: {exc}") from None
    messages = loaded if isinstance(loaded, list) else [loaded]
    frames = []
    for i, message in enumerate(messages):
        try:
            frames += split(message, args.max_body) if args.max_body else [encode(message)]
        except JttError as exc:
            raise CommandError(f"message {i + 1}: {exc}") from None
    if args.out:
        write_output(args.out, b"".join(frames), "frames")
    else:
        for frame in frames:
            print(frame.hex().upper() if args.upper else frame.hex())
    return 0


def _deregister(args) -> int:
    """Tell the configured JT/T 808 platform the terminal leaves it (0x0003), then forget the auth code."""
    import queue

    from terminal.app import config as config_mod
    from terminal.link.jtt_link.links import vehicle_of
    from terminal.link.jtt_link.tcp_link import JttLink, wall_ms
    try:
        config = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        raise CommandError(str(exc)) from exc
    cfg = dict(config["jt808"])
    if not cfg.get("auth_file"):
        cfg["auth_file"] = str(Path(config["terminal"]["state_dir"]) / "jt808.auth")
    if not Path(cfg["auth_file"]).exists():      # not a usage error: exit status 1, as documented
        print(f"taxiterm: not registered with a JT/T 808 platform (no {cfg['auth_file']}): nothing to deregister",
              file=sys.stderr)
        return 1
    link = JttLink("jt808", "jt808", cfg, queue.Queue(), wall_ms, vehicle=vehicle_of(config))
    link.start()
    try:
        done = link.deregister(args.timeout)
    finally:
        link.stop()
    if not done:
        print(f"taxiterm: the platform at {cfg['host']}:{cfg['port']} did not accept the deregistration "
              f"({link.last_error or 'no answer'}); the auth code is kept", file=sys.stderr)
        return 1
    print(f"deregistered from {cfg['host']}:{cfg['port']}; the next start registers anew")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser("jt", help="decode / build JT/T 808 and JT/T 905 frames (JSON)")
    sub = parser.add_subparsers(dest="jt_command", metavar="ACTION", required=True)
    dec = sub.add_parser("decode", help="print every frame in HEX, a hex/binary FILE or stdin (-) as JSON")
    dec.add_argument("input", help="hex digits (spaces allowed), a file (hex text or binary), or -")
    dec.add_argument("--protocol", choices=PROTOCOLS, default="jt808",
                     help="jt808 (2013 and 2019 told apart by the header) or jt905 (default jt808)")
    dec.set_defaults(func=_decode)
    enc = sub.add_parser("encode", help="build frames from JSON {header, body} (a file or - for stdin)")
    enc.add_argument("input", nargs="?", default="-", help="JSON file, one message or a list (default stdin)")
    enc.add_argument("--out", help="write the binary frames to this file instead of printing hex")
    enc.add_argument("--max-body", type=int, default=0,
                     help="JT/T 808: split bodies longer than this into packages (1-1023)")
    enc.add_argument("--upper", action="store_true", help="print hex in upper case")
    enc.set_defaults(func=_encode)
    dereg = sub.add_parser("deregister", help="JT/T 808: deregister (0x0003) from the configured platform "
                                              "and forget the auth code (the terminal leaves that platform)")
    dereg.add_argument("--config", required=True, help="configuration file (TOML, docs/config.md)")
    dereg.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for the platform (default 15)")
    dereg.set_defaults(func=_deregister)
