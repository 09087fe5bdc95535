"""``taxiterm identity``: the software identification (version, code checksum, tariff), and sealing a manifest.

Exit status 1 when the legally relevant code does not match the sealed manifest, so a
health check can use it. ``--seal KEY --out FILE`` is the vendor's tool: it writes a
manifest of the code under ``--code-root`` signed with the vendor key. See docs/identity.md.
"""

import json
from pathlib import Path

import terminal
from terminal.cli import CommandError
from terminal.cli.commands._output import check_output, write_output
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
    parser.add_argument("--code-root", "--code", dest="code_root", metavar="DIR",
                        help="directory holding meter/ (default: the running code); without a provisioned state "
                             "directory the code's identity is shown, not checked against a sealed manifest")
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
        check_output(args.out, "manifest")
        try:
            manifest = identity.make_manifest(code_root or identity.default_code_root(), args.seal_version, now_ms())
        except identity.IdentityError as exc:
            raise CommandError(str(exc)) from None
        write_output(args.out, identity.seal_manifest(key, manifest), "manifest")
        print(f"sealed {identity.software_id(manifest['version'], manifest['meter_digest'])} -> {args.out}")
        return 0
    state = state_from(args, provisioned=code_root is None)
    if not state.provisioned:       # --code DIR on a machine that is no terminal: the code alone
        return _code_only(args, code_root, state)
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
        print(f"tariff       {status.tariff_digest or 'none in force: the terminal cannot hire (taxiterm tariff install FILE)'}")
        print(f"device key   {key_line}")
        print(("sealed: " if status.ok else "NOT SEALED: ") + status.reason)
        print(f"K            {_k_source(state)}")
    return 0 if status.ok else 1


def _code_only(args, code_root: Path, state) -> int:
    """The identity of the code under ``code_root`` alone: there is no sealed manifest to compare with."""
    try:
        manifest = identity.make_manifest(code_root, terminal.__version__, now_ms())
    except identity.IdentityError as exc:
        raise CommandError(str(exc)) from None
    software = identity.software_id(manifest["version"], manifest["meter_digest"])
    why = f"{state.root} is not a provisioned state directory: not checked against a sealed manifest"
    if args.json:
        print(json.dumps({"software_id": software, "meter_digest": manifest["meter_digest"], "checked": False,
                          "code_root": str(code_root), "reason": why}, sort_keys=True))
    else:
        print(software)
        print(f"meter digest {manifest['meter_digest']}")
        print(f"code         {code_root}")
        print(f"NOT CHECKED: {why}")
    return 0


def _k_source(state) -> str:
    """Where the terminal's K comes from: the calibration under the seal, else the configuration (sim only)."""
    import sqlite3

    from terminal.trust import calibration
    from terminal.trust.inspect_report import K_UNCALIBRATED

    try:
        with sqlite3.connect(f"file:{state.database}?mode=ro", uri=True) as db:
            row = db.execute("SELECT value FROM kv WHERE key = ?", (calibration.KV_KEY,)).fetchone()
    except sqlite3.Error:
        row = None
    try:
        k = calibration.stored_k(row[0] if row else None)
    except calibration.CalibrationError as exc:
        return f"calibration record unusable: {exc}"
    return f"{k} pulses/km, calibrated under the seal" if k else K_UNCALIBRATED
