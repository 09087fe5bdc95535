"""Keys and the provisioned state directory: the per-device Ed25519 key and the installed vendor/authority keys.

Roles (docs/provisioning.md): the *device* key is created on the terminal at
provisioning and never leaves it; it signs the audit trail and inspector exports. The
*vendor* public key checks software updates and the sealed software manifest. The
*authority* public key checks tariffs and technician authorisations.

State directory layout::

    STATE/device.json        {"device_id": "...", "provisioned_ms": ...}
    STATE/keys/device.key    PEM PKCS#8 private key, mode 0600 (development file key only)
    STATE/keys/token.json    the PKCS#11 token holding the device key instead (terminal/trust/token.py)
    STATE/keys/device.cert   the vendor's certificate of the device key (terminal/trust/token.py)
    STATE/keys/device.pub    PEM public key (also handed to the authority)
    STATE/keys/vendor.pub    PEM public key installed at provisioning
    STATE/keys/authority.pub PEM public key installed at provisioning
    STATE/keys/platform.pub  PEM public key of the supervision platform: checks its downlink commands
    STATE/identity/manifest.json  sealed software manifest (vendor-signed envelope)
    STATE/tariffs/           installed signed tariff files and their index
    STATE/terminal.db        the terminal's SQLite database (audit trail tables among others)
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from terminal.trust import ed25519

if TYPE_CHECKING:   # the car's process reads its keys without the cryptography package (ed25519.py)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DEFAULT_STATE_DIR = "/var/lib/taxiterm"
ROLES = ("vendor", "authority")
DEFAULT_AUDIT_CAPACITY = 1000


class KeyFileError(ValueError):
    """A key file is missing, unreadable, of the wrong kind or too widely readable."""


def generate() -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    if isinstance(key, ed25519.PrivateKey):
        return ed25519.private_pem(key)
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: Ed25519PublicKey) -> bytes:
    if isinstance(key, ed25519.PublicKey):
        return ed25519.public_pem(key)
    from cryptography.hazmat.primitives import serialization
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write_private(path: Path, key: Ed25519PrivateKey) -> None:
    """Create ``path`` with mode 0600 (never overwrite an existing key)."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
        out.flush()
        os.fsync(out.fileno())


def write_public(path: Path, key: Ed25519PublicKey) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(public_pem(key))
    os.replace(tmp, path)


def load_private(path: Path) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read private key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"private key {path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    light = ed25519.load_pem_private(data)      # the form the terminal writes; any other: cryptography
    if light is not None:
        return light
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if not ed25519.is_private(key):
        raise KeyFileError(f"{path} is not an Ed25519 private key")
    return key


def parse_public(data: bytes, what: str) -> Ed25519PublicKey:
    light = ed25519.load_pem_public(data)
    if light is not None:
        return light
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{what} is not a PEM public key ({exc})") from None
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key      # a device key in a PKCS#11 token
    if not ed25519.is_public(key):
        raise KeyFileError(f"{what} is not an Ed25519 (or P-256 device) public key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read public key {path}: {exc.strerror}") from None
    return parse_public(data, str(path))


class DeviceState:
    """The provisioned state directory: where each key, the manifest, tariffs and the database live."""

    def __init__(self, root) -> None:
        self.root = Path(root)
        self.keys = self.root / "keys"
        self.device_json = self.root / "device.json"
        self.device_key_path = self.keys / "device.key"
        self.device_pub_path = self.keys / "device.pub"
        self.manifest_path = self.root / "identity" / "manifest.json"
        self.tariffs = self.root / "tariffs"
        self.database = self.root / "terminal.db"

    def role_path(self, role: str) -> Path:
        if role not in ROLES:
            raise ValueError(f"unknown key role {role!r}")
        return self.keys / f"{role}.pub"

    @property
    def token_config(self) -> Path:
        return self.keys / "token.json"

    @property
    def certificate_path(self) -> Path:
        return self.keys / "device.cert"

    @property
    def provisioned(self) -> bool:
        return self.device_json.exists() and (self.device_key_path.exists() or self.token_config.exists())

    def key_store(self) -> str:
        """"pkcs11" (key in a token) or "file-development" (a readable key file: development only)."""
        return "pkcs11" if self.token_config.exists() else "file-development"

    def require_provisioned(self) -> None:
        if not self.provisioned:
            raise KeyFileError(f"{self.root} is not a provisioned state directory (run 'taxiterm provision device')")

    def device_id(self) -> str:
        self.require_provisioned()
        try:
            info = json.loads(self.device_json.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyFileError(f"cannot read {self.device_json}: {exc}") from None
        device_id = info.get("device_id") if isinstance(info, dict) else None
        if not isinstance(device_id, str) or not device_id:
            raise KeyFileError(f"{self.device_json} has no device_id")
        return device_id

    def device_key(self) -> Ed25519PrivateKey:
        """The device's signer: the token key when provisioned with one, else the development file key."""
        self.require_provisioned()
        if self.token_config.exists():
            from terminal.trust import token
            try:
                return token.load(self.keys)
            except token.TokenError as exc:
                raise KeyFileError(str(exc)) from None
        return load_private(self.device_key_path)

    def device_public(self) -> Ed25519PublicKey:
        return load_public(self.device_pub_path)

    def role_key(self, role: str) -> Ed25519PublicKey:
        return load_public(self.role_path(role))

    # The platform key is installed apart from the roles above: a fleet may change platforms
    # without re-provisioning the device (docs/provisioning.md, docs/mqtt.md).
    @property
    def platform_key_path(self) -> Path:
        return self.keys / "platform.pub"

    def platform_key(self) -> Ed25519PublicKey | None:
        """The platform's command-signing public key, or None when none is installed."""
        if not self.platform_key_path.exists():
            return None
        return load_public(self.platform_key_path)

    def install_platform_key(self, key: Ed25519PublicKey) -> Path:
        self.keys.mkdir(parents=True, exist_ok=True)
        write_public(self.platform_key_path, key)
        return self.platform_key_path

    def audit_capacity(self) -> int:
        """Audit trail capacity fixed at provisioning (records before legal changes lock)."""
        self.require_provisioned()
        info = json.loads(self.device_json.read_text(encoding="utf-8"))
        return int(info.get("audit_capacity", DEFAULT_AUDIT_CAPACITY))

    def provision(self, device_id: str, vendor: Ed25519PublicKey, authority: Ed25519PublicKey, t_ms: int,
                  audit_capacity: int = 1000, token_args: dict | None = None) -> Ed25519PrivateKey:
        """Create the device key and install the role keys. Refuses an already provisioned directory."""
        if not device_id or any(ch in device_id for ch in "\0\n/") or len(device_id) > 64:
            raise KeyFileError("device id must be 1-64 characters without '/', NUL or newline")
        if audit_capacity < DEFAULT_AUDIT_CAPACITY:
            raise KeyFileError(f"audit capacity must be at least {DEFAULT_AUDIT_CAPACITY} records")
        if self.device_json.exists() or self.device_key_path.exists():
            raise KeyFileError(f"{self.root} is already provisioned; a device is provisioned once")
        self.keys.mkdir(parents=True, exist_ok=True)
        os.chmod(self.keys, 0o700)
        if token_args is not None:
            from terminal.trust import token
            try:
                key = token.generate(self.keys, **token_args)
            except token.TokenError as exc:
                raise KeyFileError(str(exc)) from None
        else:
            key = generate()
            write_private(self.device_key_path, key)
        write_public(self.device_pub_path, key.public_key())
        write_public(self.role_path("vendor"), vendor)
        write_public(self.role_path("authority"), authority)
        tmp = self.device_json.with_name("device.json.tmp")
        tmp.write_text(json.dumps({"device_id": device_id, "provisioned_ms": t_ms,
                                   "audit_capacity": audit_capacity,
                                   "key_store": "pkcs11" if token_args is not None else "file-development"})
                       + "\n", encoding="utf-8")
        os.replace(tmp, self.device_json)
        return key
