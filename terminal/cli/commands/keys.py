"""``taxiterm keys``: make Ed25519 key pairs for development and tests, show a key's fingerprint.

Real vendor and authority keys are made and kept offline by their owners
(docs/provisioning.md); this command makes the same kind of key for a test bench.
"""

import sys
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._seal_common import load_public
from terminal.trust import keys, signing


def register(subparsers) -> None:
    parser = subparsers.add_parser("keys", help="make a test/dev Ed25519 key pair, show fingerprints")
    sub = parser.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    gen = sub.add_parser("gen", help="write PREFIX.key (mode 0600) and PREFIX.pub")
    gen.add_argument("prefix", metavar="PREFIX", help="path prefix, e.g. dev/vendor")
    gen.set_defaults(func=gen_handler)
    show = sub.add_parser("show", help="print a public key's fingerprint")
    show.add_argument("public_key", metavar="PUB")
    show.set_defaults(func=show_handler)


def gen_handler(args) -> int:
    if not args.prefix.strip() or args.prefix.endswith(("/", ".")) or Path(args.prefix).is_dir():
        raise CommandError(f"PREFIX {args.prefix!r} names no file: give a path prefix such as dev/vendor "
                           "(writes dev/vendor.key and dev/vendor.pub)")
    prefix = Path(args.prefix)
    key_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    if pub_path.exists():
        raise CommandError(f"{pub_path} already exists; refusing to overwrite a key")
    folder = next((p for p in (key_path.parent, *key_path.parent.parents) if p.exists()), None)
    if folder is not None and not folder.is_dir():
        raise CommandError(f"cannot write {key_path}: {folder} is a file, not a directory")
    key = keys.generate()
    try:
        key_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)     # e.g. dev/ for dev/vendor
        keys.write_private(key_path, key)
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write {key_path}: {exc.strerror}") from None
    keys.write_public(pub_path, key.public_key())
    print(f"{key_path} (private, 0600)\n{pub_path} (public) key id {signing.key_id(key.public_key())}")
    return 0


def show_handler(args) -> int:
    key = load_public(args.public_key)
    sys.stdout.write(f"{signing.key_id(key)}\n")
    return 0
