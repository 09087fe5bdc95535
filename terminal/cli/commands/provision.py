"""``taxiterm provision``: give a terminal its identity, and the authority's tool for technician authorisations.

``provision device`` creates the per-device key (0600) in the state directory, installs
the vendor and authority public keys and the vendor-sealed software manifest, and
starts the audit trail. ``provision public-key`` prints the device's public key for
the authority's registry. ``provision authorise`` is run by the authority (with its
private key) to issue a technician authorisation for one device. See docs/provisioning.md.
"""

import sys
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._output import check_output, write_output
from terminal.cli.commands._seal_common import (
    add_state_arg,
    load_private,
    load_public,
    now_ms,
    open_audit,
    read_bytes,
    running_identity,
    state_from,
)
from terminal.trust import identity, keys, seal, signing

HOUR_MS = 3600 * 1000


def register(subparsers) -> None:
    parser = subparsers.add_parser("provision", help="provision a terminal; issue technician authorisations")
    sub = parser.add_subparsers(dest="provision_command", metavar="ACTION", required=True)

    dev = sub.add_parser("device", help="create the device key, install vendor/authority keys and manifest")
    add_state_arg(dev)
    dev.add_argument("--device-id", required=True, help="the terminal's id (e.g. its serial number)")
    dev.add_argument("--vendor-key", required=True, metavar="PUB", help="vendor public key (PEM)")
    dev.add_argument("--authority-key", required=True, metavar="PUB", help="authority public key (PEM)")
    dev.add_argument("--manifest", metavar="FILE", help="vendor-sealed software manifest (taxiterm identity --seal)")
    dev.add_argument("--audit-capacity", type=int, default=keys.DEFAULT_AUDIT_CAPACITY,
                     help="audit records held before legal changes lock (at least 1000)")
    store = dev.add_mutually_exclusive_group()
    store.add_argument("--pkcs11-module", metavar="SO", help="PKCS#11 module holding the device key (e.g. "
                       "/usr/lib/softhsm/libsofthsm2.so, tpm2-pkcs11); the key is created in it, non-extractable")
    store.add_argument("--dev-file-key", action="store_true",
                       help="DEVELOPMENT ONLY: a readable key file; identity and every export say so")
    dev.add_argument("--token-label", help="label of the initialised token (with --pkcs11-module)")
    dev.add_argument("--pin-file", metavar="FILE", help="file holding the token's user PIN (mode 0600)")
    dev.add_argument("--softhsm2-conf", metavar="FILE", help="SoftHSM configuration (SOFTHSM2_CONF) for the token")
    dev.add_argument("--certify-with", metavar="KEY", help="vendor private key: certify the device key now")
    dev.set_defaults(func=device_handler)

    cert = sub.add_parser("certify", help="(vendor) sign the certificate of a provisioned device's key")
    add_state_arg(cert)
    cert.add_argument("--key", required=True, metavar="KEY", help="vendor private key (PEM)")
    cert.set_defaults(func=certify_handler)

    pub = sub.add_parser("public-key", help="print the device's public key (PEM) for the authority")
    add_state_arg(pub)
    pub.set_defaults(func=public_key_handler)

    auth = sub.add_parser("authorise", help="(authority) sign a technician authorisation for one device")
    auth.add_argument("--key", required=True, metavar="KEY", help="authority private key (PEM)")
    auth.add_argument("--device-id", required=True)
    auth.add_argument("--technician", required=True, help="technician id")
    auth.add_argument("--actions", required=True, help="comma-separated: " + ",".join(seal.ACTIONS))
    auth.add_argument("--hours", type=float, default=4.0, help="valid from now for this many hours (max 24)")
    auth.add_argument("--reusable", action="store_true", help="usable repeatedly within the window (default: once)")
    auth.add_argument("--out", required=True, metavar="FILE")
    auth.set_defaults(func=authorise_handler)


def device_handler(args) -> int:
    state = state_from(args, provisioned=False)
    vendor = load_public(args.vendor_key)
    authority = load_public(args.authority_key)
    manifest = None
    if args.manifest:
        manifest = read_bytes(args.manifest, "manifest")
        try:
            identity.open_manifest(manifest, vendor)
        except (signing.SignatureError, identity.IdentityError) as exc:
            raise CommandError(f"manifest refused: {exc}") from None
    t = now_ms()
    if not args.pkcs11_module and not args.dev_file_key:
        raise CommandError("choose where the device key lives: --pkcs11-module SO (a vehicle) or --dev-file-key "
                           "(development only)")
    # Everything that can be refused is refused before the device key exists: a device is provisioned once.
    vendor_private = load_private(args.certify_with) if args.certify_with else None
    if vendor_private is not None and signing.key_id(vendor_private.public_key()) != signing.key_id(vendor):
        raise CommandError("the certifying key is not the vendor key installed on this device")
    if state.root.exists() and not state.root.is_dir():
        raise CommandError(f"{state.root} is a file, not a state directory")
    token_args = None
    if args.pkcs11_module:
        if not args.token_label or not args.pin_file:
            raise CommandError("--pkcs11-module needs --token-label and --pin-file")
        token_args = {"module": args.pkcs11_module, "token_label": args.token_label, "pin_file": Path(args.pin_file),
                      "softhsm2_conf": str(Path(args.softhsm2_conf).resolve()) if args.softhsm2_conf else None}
    made = [d for d in (state.root, state.root / "keys") if not d.exists()]
    try:
        device_key = state.provision(args.device_id, vendor, authority, t, args.audit_capacity, token_args)
    except (keys.KeyFileError, OSError) as exc:
        for folder in reversed(made):       # what this attempt made and left empty: as it was before
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, keys.KeyFileError):
            raise CommandError(str(exc)) from None
        raise CommandError(f"cannot make the state directory {state.root}: {exc.strerror or exc}") from None
    if vendor_private is not None:
        certify(state, vendor_private, vendor, t)
    if manifest is not None:
        state.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        state.manifest_path.write_bytes(manifest)
    status = running_identity(state, t)
    audit = open_audit(state, status.software_id)
    audit.append("provisioned", "device_id", None, args.device_id, actor="provisioning")
    audit.append("key_installed", "vendor", None, signing.key_id(vendor), actor="provisioning")
    audit.append("key_installed", "authority", None, signing.key_id(authority), actor="provisioning")
    audit.append("key_installed", "device", state.key_store(), signing.key_id(device_key.public_key()),
                 actor="provisioning")
    audit.close()
    print(f"provisioned {args.device_id} in {state.root}")
    if state.key_store() != "pkcs11":
        print("WARNING: DEVELOPMENT file key (readable on disk); a vehicle needs --pkcs11-module", file=sys.stderr)
    print(f"device key id {signing.key_id(device_key.public_key())}; public key {state.device_pub_path}")
    print(f"identity {status.display()}" + ("" if status.ok else f" ({status.reason})"))
    return 0


def certify(state, vendor_private, vendor_public, t_ms: int) -> None:
    """Write STATE/keys/device.cert: the vendor's signature over device id, public key and key store."""
    from terminal.trust import token
    if signing.key_id(vendor_private.public_key()) != signing.key_id(vendor_public):
        raise CommandError("the certifying key is not the vendor key installed on this device")
    state.certificate_path.write_bytes(token.make_certificate(vendor_private, state.device_id(),
                                                              state.device_public(), state.key_store(), t_ms))


def certify_handler(args) -> int:
    state = state_from(args)
    certify(state, load_private(args.key), state.role_key("vendor"), now_ms())
    print(f"certified device {state.device_id()} key {signing.key_id(state.device_public())} "
          f"({state.key_store()}) -> {state.certificate_path}")
    return 0


def public_key_handler(args) -> int:
    state = state_from(args)
    sys.stdout.write(keys.public_pem(state.device_public()).decode("ascii"))
    return 0


def authorise_handler(args) -> int:
    key = load_private(args.key)
    check_output(args.out, "authorisation")
    actions = [a.strip() for a in args.actions.split(",") if a.strip()]
    start = now_ms()
    try:
        data = seal.make_authorisation(key, args.device_id, args.technician, actions, start,
                                       start + int(args.hours * HOUR_MS), single_use=not args.reusable)
    except seal.AuthorisationError as exc:
        raise CommandError(str(exc)) from None
    write_output(args.out, data, "authorisation")
    print(f"authorisation for {args.technician} on {args.device_id} ({', '.join(actions)}) -> {args.out}")
    return 0
