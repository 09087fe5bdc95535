"""``taxiterm inspect [BUNDLE]``: verify and show an inspector export (or this terminal, live).

Without BUNDLE the terminal exports itself in memory and also recomputes the code
digest. Exit status 0 only when every check passes; otherwise 1, naming the first bad
record. ``--acknowledge`` (on the device, with a verified BUNDLE of this device and the
seal switch closed or an ``audit_acknowledge`` authorisation) archives the exported part
of the audit trail and unlocks legal changes. See docs/inspector.md.
"""

import sys
from pathlib import Path

from terminal.cli import CommandError
from terminal.cli.commands._seal_common import (
    add_state_arg,
    device_seal,
    load_public,
    now_ms,
    open_audit,
    read_bytes,
    running_identity,
    state_from,
)
from terminal.cli.commands.export import build_export
from terminal.trust import identity, inspect_report, keys, ledger, seal
from terminal.trust.audit import AuditError


def register(subparsers) -> None:
    parser = subparsers.add_parser("inspect", help="verify and show an export (or this terminal)")
    parser.add_argument("bundle", nargs="?", metavar="BUNDLE", help="export file (default: this terminal, live)")
    add_state_arg(parser)
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    for role in ("device", "vendor", "authority"):
        parser.add_argument(f"--{role}-key", metavar="PUB", help=f"pin the {role} public key (from the registry)")
    parser.add_argument("--platform-head", metavar="COUNTER:HASH|FILE",
                        help="the platform's last known chain head (from trip reports): flags a shorter or "
                             "diverging chain")
    parser.add_argument("--acknowledge", action="store_true",
                        help="acknowledge BUNDLE's audit trail on this device (archives it, unlocks changes)")
    parser.add_argument("--authorisation", metavar="AUTH", help="authorisation for audit_acknowledge or clear_fault")
    parser.add_argument("--clear-fault", action="store_true",
                        help="under the seal: restate the legal state from what is stored and clear the meter "
                             "fault (audited; docs/audit.md)")
    parser.set_defaults(func=handler)


def handler(args) -> int:
    if args.clear_fault:
        return _clear_fault(args)
    pins = {role: load_public(getattr(args, f"{role}_key"))
            for role in ("device", "vendor", "authority") if getattr(args, f"{role}_key")}
    code_root = None
    if args.bundle:
        blob = read_bytes(args.bundle, "export")
        if args.acknowledge:
            # acknowledging on the device: its installed roots, and only its own key (checked below)
            state = state_from(args)
            for role in ("vendor", "authority"):
                pins.setdefault(role, state.role_key(role))
    else:
        state = state_from(args)
        blob = build_export(state, now_ms())
        pins.setdefault("device", state.device_public())
        for role in ("vendor", "authority"):
            pins.setdefault(role, state.role_key(role))
        code_root = identity.default_code_root()
    head = None
    if args.platform_head:
        text = args.platform_head
        if ":" not in text:
            text = read_bytes(text, "platform head").decode("ascii", "replace")
        try:
            head = inspect_report.parse_head(text)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    report = inspect_report.inspect(blob, pins, code_root, head)
    if args.html:
        try:
            Path(args.html).write_text(inspect_report.render_html(report), encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {args.html}: {exc.strerror}") from None
    sys.stdout.write(inspect_report.render_json(report) if args.json else inspect_report.render_text(report))
    if args.acknowledge:
        if not args.bundle:
            raise CommandError("--acknowledge needs the BUNDLE the inspector exported and keeps")
        if not report.ok:
            raise CommandError("not acknowledged: the export does not verify")
        return _acknowledge(args, report)
    return 0 if report.ok else 1


def _acknowledge(args, report) -> int:
    state = state_from(args)
    data = report.data
    if data["device_id"] != state.device_id():
        raise CommandError(f"not acknowledged: export is of device {data['device_id']}, this is {state.device_id()}")
    if data["keys"]["device"] != keys.public_pem(state.device_public()).decode("ascii"):
        raise CommandError("not acknowledged: export was not signed by this device's key")
    records = data["audit"]["records"]
    if not records:
        raise CommandError("not acknowledged: the export holds no audit records")
    last = records[-1]
    authorisation = read_bytes(args.authorisation, "authorisation") if args.authorisation else None
    t = now_ms()
    audit = open_audit(state, running_identity(state, t).software_id)
    try:
        decision = seal.require(device_seal(state, audit), audit, "audit_acknowledge", t, "audit_trail",
                                authorisation, actor="inspector")
        # the records about to be archived carry the legal state: restate it as a checkpoint first
        facts = ledger.fold(audit.records())
        with audit.transaction():
            rec = audit.acknowledge(last["counter"], last["hash"], decision.actor)
            if facts["commissioned"]:
                base = ledger.base_facts(facts["k"], facts["calibration_k"], facts["tariffs"],
                                         facts["audit_capacity"], facts["trip_no"], facts["totals"])
                audit.append("ledger_checkpoint", "meter", None, ledger.text(base), actor=decision.actor)
    except (seal.SealRefused, AuditError) as exc:
        raise CommandError(f"not acknowledged: {exc}") from None
    finally:
        audit.close()
    print(f"acknowledged audit records up to #{last['counter']} (record #{rec['counter']}); "
          "legal changes unlocked", file=sys.stderr)
    return 0


def _clear_fault(args) -> int:
    from terminal.storage.database import Storage
    from terminal.trust import faultclear

    state = state_from(args)
    authorisation = read_bytes(args.authorisation, "authorisation") if args.authorisation else None
    t = now_ms()
    audit = open_audit(state, running_identity(state, t).software_id)
    try:
        with Storage(state.database) as storage:
            decision = seal.require(device_seal(state, audit), audit, "clear_fault", t, "meter", authorisation)
            cleared = faultclear.clear(audit, storage, state, decision.actor, t)
    except (seal.SealRefused, faultclear.ClearRefused, AuditError) as exc:
        raise CommandError(f"fault not cleared: {exc}") from None
    finally:
        audit.close()
    for problem in cleared:
        print(f"cleared: {problem}")
    print(f"meter fault cleared by {decision.actor}; the legal state is restated in the chain")
    return 0
