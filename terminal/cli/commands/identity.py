"""``taxiterm identity``: the software identification (version, code checksum, tariff), and sealing a manifest.

Exit status 1 when the legally relevant code does not match the sealed manifest, so a
health check can use it. ``--seal KEY --out FILE`` is the vendor's tool: it writes a
manifest of the code under ``--code-root`` signed with the vendor key. See docs/identity.md.
"""

import json
from pathlib import Path

import terminal
from terminal.cli import CommandError
from terminal.cli.commands._seal_common import (
    add_state_arg,
    load_private,
    now_ms,
    running_identity,
    state_from,
)
from terminal.trust import identity


def register(subparsers) -> None:
    parser = subparsers.add_parser("identity", help="show the software identification (or seal a manifest)")
    add_state_arg(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--code-root", metavar="DIR", help="directory holding meter/ (default: the running code)")
    parser.add_argument("--seal", metavar="VENDOR_KEY", help="(vendor) write a sealed manifest of the code")
    parser.add_argument("--manifest-version", dest="seal_version", default=terminal.__version__,
                        help="version the sealed manifest names (with --seal)")
    parser.add_argument("--out", metavar="FILE", help="where --seal writes the manifest")
    parser.set_defaults(func=handler)


def handler(args) -> int:
    code_root = Path(args.code_root) if args.code_root else None
    if args.seal:
        if not args.out:
            raise CommandError("--seal needs --out FILE")
        key = load_private(args.seal)
        try:
            manifest = identity.make_manifest(code_root or identity.default_code_root(), args.seal_version, now_ms())
        except identity.IdentityError as exc:
            raise CommandError(str(exc)) from None
        Path(args.out).write_bytes(identity.seal_manifest(key, manifest))
        print(f"sealed {identity.software_id(manifest['version'], manifest['meter_digest'])} -> {args.out}")
        return 0
    state = state_from(args)
    status = running_identity(state, now_ms(), code_root)
    store = state.key_store()
    key_line = ("PKCS#11 token (non-extractable)" if store == "pkcs11"
                else "DEVELOPMENT file key: readable on disk, not for a vehicle")
    if args.json:
        print(json.dumps(status.as_dict() | {"device_key_store": store}, sort_keys=True))
    else:
        print(status.display())
        print(f"meter digest {status.meter_digest}")
        print(f"checksum     {status.checksum}")
        print(f"device key   {key_line}")
        print(("sealed: " if status.ok else "NOT SEALED: ") + status.reason)
    return 0 if status.ok else 1
