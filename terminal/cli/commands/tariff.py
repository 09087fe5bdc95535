"""``taxiterm tariff``: validate, show, install (under the seal) and sign tariff files; list the installed ones.

``install`` accepts only a file whose FILE.sig verifies with the authority key
installed at provisioning, and only with the seal switch closed or a technician
authorisation for ``install_tariff``; the dated activation inside the file is kept,
the old files stay for history, and the change goes to the audit trail.
``sign`` is the authority's tool. See docs/tariff-signing.md.
"""

import datetime
import json
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._output import write_output
from terminal.cli.commands._seal_common import (
    add_state_arg,
    device_seal,
    load_private,
    load_public,
    now_ms,
    open_audit,
    read_bytes,
    running_identity,
    running_terminal,
    state_from,
)
from terminal.trust import keys, ledger, seal
from terminal.trust.audit import AuditError
from terminal.trust.tariff_store import (
    TariffFileError,
    TariffStore,
    parse_tariff_file,
    read_signed,
    sign_tariff,
    verify_tariff,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser("tariff", help="validate, show, install or sign a tariff file")
    sub = parser.add_subparsers(dest="tariff_command", metavar="ACTION", required=True)
    for name, func, text in (("validate", validate_handler, "check contents and the authority's signature"),
                             ("show", show_handler, "print the tariffs a file holds")):
        p = sub.add_parser(name, help=text)
        p.add_argument("file", metavar="FILE")
        add_state_arg(p)
        p.add_argument("--authority-key", metavar="PUB", help="check with this key instead of the installed one")
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)
    inst = sub.add_parser("install", help="install a signed tariff (seal switch closed or --authorisation)")
    inst.add_argument("file", metavar="FILE")
    add_state_arg(inst)
    inst.add_argument("--authorisation", metavar="AUTH", help="technician authorisation signed by the authority")
    inst.set_defaults(func=install_handler)
    sign = sub.add_parser("sign", help="(authority) write FILE.sig with the authority's private key")
    sign.add_argument("file", metavar="FILE")
    sign.add_argument("--key", required=True, metavar="KEY")
    sign.set_defaults(func=sign_handler)
    lst = sub.add_parser("list", help="installed tariff files, oldest first")
    add_state_arg(lst)
    lst.set_defaults(func=list_handler)


def _authority_key(args):
    """The key to check signatures with and, when there is none, why (a file can be read without one)."""
    if args.authority_key:
        return load_public(args.authority_key), ""
    state = state_from(args, provisioned=False)
    if not state.provisioned:
        return None, f"no authority key: {state.root} is not provisioned; give --authority-key PUB or --state DIR"
    try:
        return state.role_key("authority"), ""
    except keys.KeyFileError as exc:
        raise CommandError(str(exc)) from None


def _checked(args, unsigned_ok: bool):
    """The file's tariffs and what is known of its signature: "authority", "unsigned" or "not checked".

    An unsigned file is read when ``unsigned_ok`` (show), or when there is no authority key to
    validate it against (no state directory, no --authority-key); validating for a terminal that
    has a key requires the signature.
    """
    try:
        data, sig = read_signed(Path(args.file))
        if sig is None and not unsigned_ok and _authority_key(args)[0] is not None:
            return verify_tariff(data, sig, None, args.file), "", ""      # raises: no signature file
        if sig is None:
            return parse_tariff_file(data, args.file), "unsigned", (
                f"UNSIGNED (no {args.file}.sig): the contents are valid, but a terminal installs only "
                "an authority-signed file")
        key, why = _authority_key(args)
        if key is None:
            return parse_tariff_file(data, args.file), "not checked", f"signature NOT CHECKED ({why})"
        return verify_tariff(data, sig, key, args.file), "authority", "signed by the authority"
    except TariffFileError as exc:
        raise CommandError(str(exc)) from None


def validate_handler(args) -> int:
    tf, signature, note = _checked(args, unsigned_ok=False)
    if args.json:
        print(json.dumps({"ok": True, "signature": signature} | tf.describe(), ensure_ascii=False, sort_keys=True))
    else:
        print(f"{args.file}: valid, {note}; {len(tf.tariffs)} tariff(s), digest {tf.digest}")
    return 0


def show_handler(args) -> int:
    from terminal.cli.commands._tariff_words import describe

    tf, signature, note = _checked(args, unsigned_ok=True)
    if args.json:
        print(json.dumps({"signature": signature} | tf.describe(), ensure_ascii=False, sort_keys=True))
        return 0
    print(f"{args.file}: {note}, schedule digest {tf.digest}")
    for line in describe(tf.tariffs):
        print(line)
    return 0


def install_handler(args) -> int:
    state = state_from(args)
    try:
        data, sig = read_signed(Path(args.file))
        tf = verify_tariff(data, sig, state.role_key("authority"), args.file)
    except (TariffFileError, keys.KeyFileError) as exc:
        raise CommandError(f"not installed: {exc}") from None
    if tf.sequence < 1:
        raise CommandError("not installed: the tariff file carries no sequence number (sequence = N, signed by "
                           "the authority); an unnumbered file could be an old one replayed")
    authorisation = read_bytes(args.authorisation, "authorisation") if args.authorisation else None
    t = now_ms()
    store = TariffStore(state.tariffs)
    previous = store.entries()[-1]["schedule_digest"] if store.entries() else None
    if previous == tf.digest:
        raise CommandError("not installed: this tariff is already the installed one")
    status = running_identity(state, t)
    audit = open_audit(state, status.software_id)
    try:
        decision = seal.require(device_seal(state, audit), audit, "install_tariff", t, "tariff", authorisation)
        # The record and the index entry commit together; a failed install leaves no record.
        with audit.transaction():
            audit.append("tariff_installed", ",".join(t_.id for t_ in tf.tariffs), previous, tf.digest,
                         actor=decision.actor)
            entry = store.install(tf, sig, t, decision.actor)
            audit.append("tariff_indexed", entry["file"], None, ledger.text(ledger.tariff_core(entry)),
                         actor=decision.actor)
    except (seal.SealRefused, TariffFileError, AuditError) as exc:
        raise CommandError(f"not installed: {exc}") from None
    except OSError as exc:
        raise CommandError(f"not installed: cannot write {state.tariffs}: {exc.strerror}") from None
    finally:
        audit.close()
    for t_ in tf.tariffs:
        print(f"installed {t_.id}: effective {t_.effective_from} (digest {t_.digest[:16]})")
    print(f"by {decision.actor} via {decision.via}; previous files kept in {state.tariffs}")
    _say_if_a_terminal_runs(state)
    return 0


def _say_if_a_terminal_runs(state) -> None:
    """A running terminal reads the installed tariffs at its start: say so, rather than let 'installed,
    effective ...' be read as 'the meter charges it now'."""
    running = running_terminal(state)
    if running:
        print(f"{running}: it meters with the tariffs it read at its start until it is restarted "
              "(sudo systemctl restart taxiterm)")


def sign_handler(args) -> int:
    key = load_private(args.key)
    data = read_bytes(args.file, "tariff file")
    try:
        sig = sign_tariff(key, data)
        parse_tariff_file(data, args.file)
    except TariffFileError as exc:
        raise CommandError(f"not signed: {exc}") from None
    out = write_output(args.file + ".sig", sig, "signature")
    print(f"signed {args.file} -> {out}")
    return 0


def list_handler(args) -> int:
    state = state_from(args)
    try:
        entries = TariffStore(state.tariffs).entries()
    except TariffFileError as exc:
        raise CommandError(str(exc)) from None
    if not entries:
        print("no tariff installed")
    for e in entries:
        when = datetime.datetime.fromtimestamp(e["installed_ms"] / 1000).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        print(f"{e['seq']:4d} {e['file']} {','.join(e['tariff_ids'])} installed {when} by {e['actor']}")
    return 0
