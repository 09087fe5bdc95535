"""``taxiterm broker``: the platform broker's configuration and each terminal's credentials.

``init DIR`` writes a Mosquitto configuration from the shipped templates (broker/):
TLS listener with a CA and server certificate of its own, password file, ACL.
``add-terminal DIR TID`` creates the terminal's account (a fresh random password) and
prints the ``[mqtt]`` section for that terminal's configuration; ``add-platform DIR
NAME`` an account of the platform role. Reload a running Mosquitto with SIGHUP.
"""

from __future__ import annotations

from terminal.cli import CommandError
from terminal.link.broker_setup import BrokerDir, BrokerSetupError


def register(subparsers) -> None:
    parser = subparsers.add_parser("broker", help="platform broker configuration and terminal credentials")
    sub = parser.add_subparsers(dest="broker_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="write DIR/mosquitto.conf, acl, passwords and TLS material")
    init.add_argument("dir", metavar="DIR")
    init.add_argument("--host", action="append", default=[], help="server name for the certificate (repeatable)")
    init.add_argument("--ip", action="append", default=[], help="server address for the certificate (repeatable)")
    init.add_argument("--port", type=int, default=8883)
    init.add_argument("--bind", default="0.0.0.0")
    init.add_argument("--prefix", default="taxi")
    init.set_defaults(func=init_handler)
    for name, role in (("add-terminal", "terminal"), ("add-platform", "platform")):
        add = sub.add_parser(name, help=f"create a {role} account with a fresh password")
        add.add_argument("dir", metavar="DIR")
        add.add_argument("name", metavar="TID" if role == "terminal" else "NAME")
        add.set_defaults(func=add_handler, role=role)


def init_handler(args) -> int:
    if not 1 <= args.port <= 65535:
        raise CommandError(f"--port {args.port}: must be 1..65535")
    try:
        BrokerDir(args.dir).init(names=args.host, addresses=args.ip, port=args.port, bind=args.bind,
                                 prefix=args.prefix)
    except BrokerSetupError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot write the broker configuration in {args.dir}: {exc.strerror or exc}") from None
    print(f"{args.dir}/mosquitto.conf written; run: mosquitto -c {args.dir}/mosquitto.conf")
    return 0


def add_handler(args) -> int:
    setup = BrokerDir(args.dir)
    try:
        if args.role == "terminal":
            password = setup.add_terminal(args.name)
        else:
            password = setup.add_platform(args.name)
    except BrokerSetupError as exc:
        raise CommandError(str(exc)) from None
    if args.role == "terminal":
        host = _server_name(setup)
        print(f'[mqtt]\nterminal_id = "{args.name}"\nusername = "{args.name}"\npassword = "{password}"\n'
              f'tls_ca = "/etc/taxiterm/broker-ca.pem"   # a copy of {setup.ca}\n'
              + (f'host = "{host}"\n' if host else "")
              + f'port = {_listener_port(setup)}\nprefix = "{setup.accounts()["prefix"]}"')
    else:
        print(f"{args.name}: {password}")
    print("# reload a running mosquitto: kill -HUP <pid>")
    return 0


def _listener_port(setup: BrokerDir) -> int:
    """The port ``init`` wrote into the broker's configuration (8883 unless --port said otherwise)."""
    for line in setup.config.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "listener" and words[1].isdigit():
            return int(words[1])
    return 8883


def _server_name(setup: BrokerDir) -> str | None:
    """The first name (else address) in the broker's server certificate: what the terminal must connect to
    for the certificate to match."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate((setup.root / "server.pem").read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    found = names.get_values_for_type(x509.DNSName) or [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    return found[0] if found else None
