"""``taxiterm update``: install a vendor-signed bundle A/B with trial and rollback; build and sign bundles.

    taxiterm update BUNDLE --root DIR [--health-check CMD]      verify, install, switch, check, commit
    taxiterm update build --key KEY --version V DIR --out FILE  (vendor) build and sign a bundle
    taxiterm update verify BUNDLE                                verify only, touch nothing
    taxiterm update recover --root DIR                           roll back a trial interrupted by power loss

See docs/updates.md.
"""

import os
import sys
from pathlib import Path

import terminal
from terminal.cli import CommandError
from terminal.cli.commands._output import check_output
from terminal.cli.commands._seal_common import (
    Progress,
    add_state_arg,
    load_private,
    load_public,
    now_ms,
    open_audit,
    running_identity,
    running_terminal,
    state_from,
)
from terminal.update import bundle as update_bundle
from terminal.update import slots as update

ROOT_ENV = "TAXITERM_ROOT"
DEFAULT_ROOT = "/opt/taxiterm"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "update", help="install a signed update bundle (or: build, verify, recover)",
        description="taxiterm update BUNDLE | update build DIR --key KEY --version V --out FILE | "
                    "update verify BUNDLE | update recover",
    )
    parser.add_argument("words", nargs="+", metavar="BUNDLE | build DIR | verify BUNDLE | recover")
    add_state_arg(parser)
    parser.add_argument("--root", help=f"A/B software root (default ${ROOT_ENV} or {DEFAULT_ROOT})")
    parser.add_argument("--health-check", metavar="CMD", help="command run on trial; exit 0 commits")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds the health check may take")
    parser.add_argument("--target", default=update_bundle.DEFAULT_TARGET, help="this device's (or the bundle's) target")
    parser.add_argument("--vendor-key", metavar="PUB", help="vendor public key (default: the installed one; "
                        "another key only with --development)")
    parser.add_argument("--development", action="store_true",
                        help="DEVELOPMENT: accept --vendor-key other than the provisioned one (audited with its "
                             "fingerprint)")
    parser.add_argument("--key", metavar="KEY", help="(build) vendor private key")
    parser.add_argument("--version", dest="bundle_version", help="(build) version of the bundle")
    parser.add_argument("--min-version", default="0.0.0", help="(build) oldest version it may update")
    parser.add_argument("--out", metavar="FILE", help="(build) bundle file to write")
    parser.set_defaults(func=handler)


def handler(args) -> int:
    words = args.words
    if words[0] == "build":
        if len(words) != 2 or not (args.key and args.bundle_version and args.out):
            raise CommandError("usage: taxiterm update build DIR --key KEY --version V --out FILE")
        return _build(args, Path(words[1]))
    if words[0] == "recover":
        return _recover(args)
    if words[0] == "verify":
        if len(words) != 2:
            raise CommandError("usage: taxiterm update verify BUNDLE")
        return _verify(args, Path(words[1]))
    if len(words) != 1:
        raise CommandError("usage: taxiterm update BUNDLE [--root DIR] [--health-check CMD]")
    return _install(args, Path(words[0]))


def _root(args) -> Path:
    return Path(args.root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def _vendor(args, state):
    return load_public(args.vendor_key) if args.vendor_key else state.role_key("vendor")


def _build(args, source: Path) -> int:
    key = load_private(args.key)
    check_output(args.out, "bundle")
    try:
        manifest = update_bundle.build(source, args.bundle_version, key, Path(args.out), args.target,
                                       args.min_version)
    except update_bundle.BundleError as exc:
        raise CommandError(f"no bundle built: {exc}") from None
    print(f"built {args.out}: version {manifest['version']} for {manifest['target']}, {len(manifest['files'])} files")
    return 0


def _verify(args, bundle: Path) -> int:
    state = state_from(args, provisioned=not args.vendor_key)
    slots = update.Slots(_root(args))
    running = slots.version(slots.active()) or terminal.__version__
    try:
        manifest = update_bundle.verify(bundle, _vendor(args, state), running, args.target, Progress(sys.stderr))
    except update_bundle.BundleError as exc:
        raise CommandError(f"bundle refused: {exc}") from None
    print(f"{bundle}: valid, version {manifest['version']} (installed {running}), {len(manifest['files'])} files")
    return 0


def _install(args, bundle: Path) -> int:
    from terminal.trust import signing

    if not args.timeout > 0:    # else the health check "fails" at once and the update is rolled back, audited
        raise CommandError(f"--timeout {args.timeout:g}: must be more than 0 seconds")
    state = state_from(args)
    status = running_identity(state, now_ms())
    vendor = _vendor(args, state)
    provisioned = state.role_key("vendor")
    override = signing.key_id(vendor) != signing.key_id(provisioned)
    if override and not args.development:
        raise CommandError(f"not installed: --vendor-key {signing.key_id(vendor)} is not the provisioned vendor key "
                           f"{signing.key_id(provisioned)} (another key only with --development)")
    audit = open_audit(state, status.software_id)
    try:
        if override:
            audit.append("update_vendor_override", "vendor_key", signing.key_id(provisioned), signing.key_id(vendor),
                         actor="development")
        result = update.install(bundle, _root(args), vendor, audit, args.health_check,
                                terminal.__version__, args.target, Progress(sys.stderr), args.timeout)
    except update.UpdateError as exc:
        raise CommandError(str(exc)) from None
    except KeyboardInterrupt:      # Ctrl-C mid-trial: do now what 'update recover' would do at the next start
        done = update.recover(_root(args), audit)
        raise CommandError(f"interrupted: {done or 'no slot was switched; the running software is unchanged'}") \
            from None
    finally:
        audit.close()
    print(f"updated {result['previous']} -> {result['version']} (slot {result['slot']}), committed")
    running = running_terminal(state)
    if running:
        print(f"{running}: it runs {result['previous']} until it is restarted (sudo systemctl restart taxiterm)")
    return 0


def _recover(args) -> int:
    state = state_from(args)
    audit = open_audit(state, running_identity(state, now_ms()).software_id)
    try:
        done = update.recover(_root(args), audit)
    finally:
        audit.close()
    print(done or "no update on trial; nothing to do")
    return 0
