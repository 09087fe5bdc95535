"""Broker set-up for the platform side (link room): TLS material, per-terminal credentials and the ACL.

``BrokerDir`` is one Mosquitto configuration directory made from the shipped templates
in ``broker/`` (``mosquitto.conf``, ``acl.template``):

    DIR/mosquitto.conf   the template with @DIR@, @BIND@, @PORT@ filled in
    DIR/acl              terminal patterns + one block per platform account
    DIR/passwords        Mosquitto password file (PBKDF2-SHA512, "$7$" lines)
    DIR/ca.pem ca.key    the broker's own CA (terminals pin ca.pem as mqtt.tls_ca)
    DIR/server.pem .key  the listener's certificate for the given names / addresses
    DIR/accounts.json    {"prefix", "terminals": [...], "platform": [...]}

``add_terminal`` / ``add_platform`` create an account with a fresh random password
and return it; the ACL is rewritten each time. Send Mosquitto SIGHUP to reload.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import re
import secrets
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "broker"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
PBKDF2_ITERATIONS = 101   # what mosquitto_passwd 2.0 writes


class BrokerSetupError(ValueError):
    """A name, directory or template the broker set-up cannot use."""


def password_line(user: str, password: str, salt: bytes | None = None,
                  iterations: int = PBKDF2_ITERATIONS) -> str:
    """One Mosquitto 2.0 password-file line: ``user:$7$iterations$salt$PBKDF2-SHA512`` (base64)."""
    salt = salt or os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"{user}:$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def _template(name: str) -> str:
    path = TEMPLATES / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BrokerSetupError(f"broker template {path} missing ({exc.strerror})") from None


class BrokerDir:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.accounts_path = self.root / "accounts.json"

    # -- creating -------------------------------------------------------------------------------------
    def init(self, *, names: list[str], addresses: list[str], port: int = 8883, bind: str = "0.0.0.0",
             prefix: str = "taxi", valid_days: int = 825, tls_from: str | Path | None = None) -> None:
        """``tls_from``: a directory whose ca.pem, ca.key, server.pem and server.key are
        copied instead of making new ones (a second broker of the same CA and names)."""
        if not _PREFIX.match(prefix):
            raise BrokerSetupError(f"prefix must be topic levels without wildcards, got {prefix!r}")
        if self.accounts_path.exists():
            raise BrokerSetupError(f"{self.root} already holds a broker configuration")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        if tls_from is None:
            make_tls(self.root, names, addresses, valid_days)
        else:
            copy_tls(Path(tls_from), self.root)
        conf = _template("mosquitto.conf").replace("@DIR@", str(self.root)).replace("@BIND@", bind) \
            .replace("@PORT@", str(port))
        (self.root / "mosquitto.conf").write_text(conf, encoding="utf-8")
        (self.root / "passwords").write_text("", encoding="utf-8")
        self._save({"prefix": prefix, "terminals": [], "platform": []})
        self.write_acl()

    def add_terminal(self, terminal_id: str, password: str | None = None) -> str:
        return self._add("terminals", terminal_id, password)

    def add_platform(self, name: str, password: str | None = None) -> str:
        return self._add("platform", name, password)

    def _add(self, role: str, name: str, password: str | None) -> str:
        if not _NAME.match(name or ""):
            raise BrokerSetupError(f"account name must be 1-64 of A-Z a-z 0-9 _ . -, got {name!r}")
        accounts = self.accounts()
        if name in accounts["terminals"] or name in accounts["platform"]:
            raise BrokerSetupError(f"account {name!r} exists already")
        password = password or secrets.token_urlsafe(24)
        with open(self.root / "passwords", "a", encoding="utf-8") as out:
            out.write(password_line(name, password) + "\n")
        accounts[role].append(name)
        self._save(accounts)
        self.write_acl()
        return password

    def write_acl(self) -> None:
        accounts = self.accounts()
        prefix = accounts["prefix"]
        blocks = "\n".join(f"user {name}\ntopic read {prefix}/+/up/#\ntopic read {prefix}/+/status\n"
                           f"topic write {prefix}/+/down/#\n" for name in accounts["platform"])
        acl = _template("acl.template").replace("@PREFIX@", prefix).replace("@PLATFORM_USERS@", blocks)
        (self.root / "acl").write_text(acl, encoding="utf-8")

    # -- reading --------------------------------------------------------------------------------------
    def accounts(self) -> dict:
        try:
            return json.loads(self.accounts_path.read_text(encoding="utf-8"))
        except OSError:
            raise BrokerSetupError(f"{self.root} is not a broker directory (taxiterm broker init)") from None

    def _save(self, accounts: dict) -> None:
        tmp = self.accounts_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(accounts, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, self.accounts_path)

    @property
    def ca(self) -> Path:
        return self.root / "ca.pem"

    @property
    def config(self) -> Path:
        return self.root / "mosquitto.conf"


def make_tls(directory: Path, names: list[str], addresses: list[str], valid_days: int = 825) -> None:
    """A CA of the broker's own and a listener certificate for ``names`` and ``addresses``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if not names and not addresses:
        raise BrokerSetupError("the server certificate needs at least one host name or address")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "taxiterm broker CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    try:
        sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    except ValueError as exc:
        raise BrokerSetupError(f"bad address: {exc}") from None
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or addresses)[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    (directory / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    _write_secret(directory / "ca.key", ca_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    (directory / "server.pem").write_bytes(cert.public_bytes(pem))
    _write_secret(directory / "server.key", key.private_bytes(pem, pkcs8, serialization.NoEncryption()))


def copy_tls(source: Path, directory: Path) -> None:
    for name in ("ca.pem", "server.pem"):
        try:
            (directory / name).write_bytes((source / name).read_bytes())
        except OSError as exc:
            raise BrokerSetupError(f"cannot copy {source / name}: {exc.strerror}") from None
    for name in ("ca.key", "server.key"):
        try:
            _write_secret(directory / name, (source / name).read_bytes())
        except OSError as exc:
            raise BrokerSetupError(f"cannot copy {source / name}: {exc.strerror}") from None


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
