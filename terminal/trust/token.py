"""The device key in a PKCS#11 token (trust room): a non-extractable P-256 ECDSA key, and its certificate.

The key pair is generated *inside* the token at provisioning (``CKA_SENSITIVE`` true,
``CKA_EXTRACTABLE`` false): no process, including the terminal's own, can read the private
key; signing happens in the token. The algorithm is ECDSA over P-256 with SHA-256: every
PKCS#11 token supports it (TPM 2.0 through tpm2-pkcs11, secure elements, SoftHSM), Ed25519
is not yet universal. A signature is 64 bytes, r || s (PKCS#11's form), like Ed25519's, so the
audit trail, exports and snapshots keep one signature format (docs/provisioning.md).

``STATE/keys/token.json`` names the token: ``{"module", "token_label", "key_label",
"pin_file", "softhsm2_conf"}``; the user PIN is in ``pin_file`` (mode 0600, readable by the
terminal's service account only). Tests and the demo use SoftHSM (Debian ``softhsm2``).

The *device certificate* (``STATE/keys/device.cert``) is an envelope signed by the vendor key
(purpose ``certificate``) binding device id, public key and key store; an inspector needs only
the vendor's public key (the root) to trust an export's device key.
"""

import hashlib
import json
import os
import stat
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from terminal.trust import signing

CONFIG = "token.json"
KEY_LABEL = "taxiterm-device"
CERT_KIND = "device-certificate"
_LIBS: dict = {}
_SESSIONS: dict = {}
_LOCK = threading.Lock()


class TokenError(ValueError):
    """The token, its PIN or the key in it cannot be used. Nothing was signed."""


def _lib(module: str, softhsm2_conf: str | None):
    try:
        import pkcs11
    except ImportError:
        raise TokenError("python-pkcs11 is not installed (pip install python-pkcs11)") from None
    if module not in _LIBS:
        if softhsm2_conf:
            os.environ.setdefault("SOFTHSM2_CONF", softhsm2_conf)
        try:
            _LIBS[module] = pkcs11.lib(module)
        except (RuntimeError, OSError) as exc:
            raise TokenError(f"cannot load PKCS#11 module {module}: {exc}") from None
    return _LIBS[module]


def _token(config: dict):
    import pkcs11
    lib = _lib(config["module"], config.get("softhsm2_conf"))
    try:
        return lib.get_token(token_label=config["token_label"])
    except pkcs11.exceptions.NoSuchToken:
        lib.reinitialize()      # a token initialised after this process loaded the module
        try:
            return lib.get_token(token_label=config["token_label"])
        except pkcs11.exceptions.NoSuchToken:
            raise TokenError(f"no PKCS#11 token labelled {config['token_label']!r}") from None


def read_pin(path: Path) -> str:
    path = Path(path)
    try:
        mode = path.stat().st_mode
        pin = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TokenError(f"cannot read the token PIN {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise TokenError(f"token PIN {path} is readable by others (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    return pin


def _point(public) -> ec.EllipticCurvePublicKey:
    from pkcs11 import Attribute
    raw = bytes(public[Attribute.EC_POINT])
    if len(raw) == 67 and raw[0] == 0x04 and raw[1] == 65:     # DER OCTET STRING around the point
        raw = raw[2:]
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


class TokenKey:
    """A signer whose private half never leaves the token: ``sign_message`` and ``public_key``."""

    store = "pkcs11"

    def __init__(self, config: dict, pin: str) -> None:
        self.config = config
        self.pin = pin
        self._public = None
        self._session = None
        self._private = None

    def _open(self):
        """One logged-in session per token and process, kept open: PKCS#11 logs an application in
        once per token (a second login is refused), and a login per signature would be slow."""
        import pkcs11
        from pkcs11 import ObjectClass
        if self._session is None:
            where = (self.config["module"], self.config["token_label"], self.config["key_label"])
            if where not in _SESSIONS:
                try:
                    session = _token(self.config).open(user_pin=self.pin)
                    private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=self.config["key_label"])
                    public = _point(session.get_key(object_class=ObjectClass.PUBLIC_KEY,
                                                    label=self.config["key_label"]))
                except pkcs11.exceptions.PKCS11Error as exc:
                    raise TokenError(f"cannot open the device key in the token: {type(exc).__name__}") from None
                _SESSIONS[where] = (session, private, public)
            self._session, self._private, self._public = _SESSIONS[where]
        return self._session

    def public_key(self) -> ec.EllipticCurvePublicKey:
        with _LOCK:
            self._open()
            return self._public

    def sign_message(self, message: bytes) -> bytes:
        """ECDSA P-256 over SHA-256(message), made in the token: 64 bytes r || s."""
        import pkcs11
        from pkcs11 import Mechanism
        with _LOCK:
            self._open()
            try:
                return bytes(self._private.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA))
            except pkcs11.exceptions.PKCS11Error as exc:
                raise TokenError(f"the token refused to sign: {type(exc).__name__}") from None


def generate(keys_dir: Path, module: str, token_label: str, pin_file: Path,
             softhsm2_conf: str | None = None) -> TokenKey:
    """Create the non-extractable device key pair in an initialised token; write token.json."""
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.util.ec import encode_named_curve_parameters
    config = {"module": str(module), "token_label": token_label, "key_label": KEY_LABEL,
              "pin_file": str(Path(pin_file).resolve()), "softhsm2_conf": softhsm2_conf}
    pin = read_pin(pin_file)
    try:
        with _token(config).open(rw=True, user_pin=pin) as session:
            params = session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            params.generate_keypair(store=True, label=KEY_LABEL, private_template={
                Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.SIGN: True})
    except pkcs11.exceptions.PKCS11Error as exc:
        raise TokenError(f"cannot create the device key in the token: {type(exc).__name__}") from None
    (Path(keys_dir) / CONFIG).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return TokenKey(config, pin)


def load(keys_dir: Path) -> TokenKey:
    path = Path(keys_dir) / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        missing = [k for k in ("module", "token_label", "key_label", "pin_file") if not config.get(k)]
    except (OSError, ValueError, AttributeError) as exc:
        raise TokenError(f"device key token configuration {path} unreadable: {exc}") from None
    if missing:
        raise TokenError(f"device key token configuration {path} lacks {', '.join(missing)}")
    return TokenKey(config, read_pin(Path(config["pin_file"])))


# --- the device certificate ---------------------------------------------------------------------------

def make_certificate(vendor_key, device_id: str, device_public, key_store: str, t_ms: int) -> bytes:
    from terminal.trust import keys
    payload = {"kind": CERT_KIND, "device_id": device_id, "key_store": key_store,
               "public_key": keys.public_pem(device_public).decode("ascii"),
               "key_id": signing.key_id(device_public), "issued_ms": t_ms}
    return signing.envelope_bytes(vendor_key, "certificate", payload)


def check_certificate(envelope, root_public, device_id: str, device_public) -> dict:
    """The certificate's payload if ``root_public`` signed it for this device and key; SignatureError otherwise."""
    payload = signing.open_envelope(envelope, root_public, "certificate", "device certificate")
    if payload.get("kind") != CERT_KIND:
        raise signing.SignatureError("device certificate: not a device certificate")
    if payload.get("device_id") != device_id:
        raise signing.SignatureError(f"device certificate is for device {payload.get('device_id')}, "
                                     f"not {device_id}")
    if payload.get("key_id") != signing.key_id(device_public):
        raise signing.SignatureError(f"device certificate names key {payload.get('key_id')}, the export is "
                                     f"signed by {signing.key_id(device_public)}")
    return payload
