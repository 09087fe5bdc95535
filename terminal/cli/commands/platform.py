"""``taxiterm platform``: what a platform integrator needs for signed downlink commands.

``sign-command`` prints the topic and the signed JSON of one command (docs/mqtt.md,
"Signed commands"), with ``--explain`` also the exact bytes that were signed;
``install-key`` puts the platform's public key into a terminal's state directory
(STATE/keys/platform.pub), after which the terminal accepts commands signed by it only.
"""

import json
import re
import sys
import time
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._seal_common import add_state_arg, load_public, state_from
from terminal.link import downlink
from terminal.trust import keys, signing


def register(subparsers) -> None:
    parser = subparsers.add_parser("platform", help="sign downlink commands; install the platform key")
    sub = parser.add_subparsers(dest="platform_command", metavar="ACTION", required=True)
    sign = sub.add_parser("sign-command", help="print the topic and signed JSON of a downlink command")
    sign.add_argument("--key", required=True, help="the platform's Ed25519 private key (PEM, e.g. from keys gen)")
    sign.add_argument("--terminal", required=True, help="terminal id (one topic level)")
    sign.add_argument("--prefix", default="taxi", help="topic prefix (default taxi)")
    sign.add_argument("--cmd-id", required=True, help="the command's unique id (1-64 characters)")
    sign.add_argument("--ts", type=int, default=None, help="issue time, Unix ms (default now)")
    sign.add_argument("--explain", action="store_true", help="also print the signed bytes (stderr)")
    sign.add_argument("command", choices=downlink.DOWNLINK_COMMANDS)
    sign.add_argument("body", nargs="?", default="{}", help="the command's fields as a JSON object")
    sign.set_defaults(func=sign_handler)
    install = sub.add_parser("install-key", help="install the platform's public key in a terminal")
    add_state_arg(install)
    install.add_argument("public_key", metavar="PUB")
    install.set_defaults(func=install_handler)


def sign_handler(args) -> int:
    try:
        key = keys.load_private(Path(args.key))
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None
    try:
        body = json.loads(args.body)
    except ValueError as exc:
        raise CommandError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict) or {"cmd_id", "ts", "sig"} & set(body):
        raise CommandError("body must be a JSON object without cmd_id, ts or sig (given by options)")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.terminal):     # terminal.id's rule (docs/config.md)
        raise CommandError(f"--terminal must be a terminal id: 1-64 of A-Z a-z 0-9 _ . -, got {args.terminal!r}")
    topic = f"{args.prefix}/{args.terminal}/down/{args.command}"
    ts = args.ts if args.ts is not None else time.time_ns() // 1_000_000
    command = {"cmd_id": args.cmd_id, "ts": ts, **body}
    problem = downlink.parse(topic, command, prefix=args.prefix, terminal_id=args.terminal)
    if isinstance(problem, downlink.Refusal):
        raise CommandError(f"the terminal would refuse it: {problem.ack['reason']}")
    signed = downlink.sign(topic, command, key)
    if args.explain:
        data = downlink.signed_bytes(topic, command)
        sys.stderr.write(f"signed bytes ({len(data)}): {data!r}\nhex: {data.hex()}\n")
    sys.stdout.write(f"{topic}\n{json.dumps(signed, ensure_ascii=False, separators=(',', ':'))}\n")
    return 0


def install_handler(args) -> int:
    state = state_from(args)
    key = load_public(args.public_key)
    path = state.install_platform_key(key)
    print(f"{path}: platform key {signing.key_id(key)}")
    return 0
