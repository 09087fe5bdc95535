"""Ed25519 through the system OpenSSL already in the process: the trust room's light signer.

The car's process signs its audit trail and meter state and checks tariffs, the sealed
manifest and platform commands with Ed25519. ``hashlib`` has already loaded the system
``libcrypto`` (OpenSSL ≥ 1.1.1 has Ed25519 behind ``EVP_DigestSign``/``EVP_DigestVerify``);
calling it through ctypes costs about 0.4 MB, where the ``cryptography`` package maps its
own bundled OpenSSL and Rust bindings (about 10 MB resident). The checks are OpenSSL's
own in both cases: the same RFC 8032 verification, nothing relaxed.

Keys here are ``PrivateKey``/``PublicKey``; the rest of the product may also hold
``cryptography`` keys (tests, the tools, a key made by ``taxiterm provision``): the
module-level ``sign``/``verify``/``raw_public``/``is_private``/``is_public`` accept both, and
``cryptography`` is imported only when such a key (or a format this module does not
read) is met. Where no usable libcrypto is found, the same classes sign and verify with
``cryptography`` instead.
"""

import base64
import ctypes
import os
import sys

NID_ED25519 = 1087
KEY_LEN = 32
SIGNATURE_LEN = 64
# DER of the only Ed25519 encodings the terminal writes (RFC 8410): PKCS#8 v1 without the
# optional public key, and SubjectPublicKeyInfo. Anything else goes to ``cryptography``.
PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class InvalidSignature(Exception):
    """The signature is not this key's over these bytes."""


_LIB = None
_LIB_LOOKED = False


def _libcrypto_path() -> str | None:
    """The libcrypto ``_hashlib`` links (the one already mapped: no second copy)."""
    import _hashlib  # noqa: F401 - maps the system libcrypto
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            for line in maps:
                path = line.rstrip("\n").split(maxsplit=5)[-1]
                if "/libcrypto" in path and os.path.exists(path):
                    return path
    except OSError:
        pass
    from ctypes.util import find_library
    return find_library("crypto")


def _lib():
    global _LIB, _LIB_LOOKED
    if _LIB_LOOKED:
        return _LIB
    _LIB_LOOKED = True
    try:
        path = _libcrypto_path()
        lib = ctypes.CDLL(path) if path else None
        if lib is None or not hasattr(lib, "EVP_DigestSign") or not hasattr(lib, "EVP_PKEY_new_raw_private_key"):
            return None
    except OSError:
        return None
    vp, sz = ctypes.c_void_p, ctypes.c_size_t
    for name, res, args in (
            ("EVP_PKEY_new_raw_private_key", vp, [ctypes.c_int, vp, ctypes.c_char_p, sz]),
            ("EVP_PKEY_new_raw_public_key", vp, [ctypes.c_int, vp, ctypes.c_char_p, sz]),
            ("EVP_PKEY_get_raw_public_key", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.POINTER(sz)]),
            ("EVP_PKEY_free", None, [vp]),
            ("EVP_MD_CTX_new", vp, []),
            ("EVP_MD_CTX_free", None, [vp]),
            ("EVP_DigestSignInit", ctypes.c_int, [vp, vp, vp, vp, vp]),
            ("EVP_DigestSign", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.POINTER(sz), ctypes.c_char_p, sz]),
            ("EVP_DigestVerifyInit", ctypes.c_int, [vp, vp, vp, vp, vp]),
            ("EVP_DigestVerify", ctypes.c_int, [vp, ctypes.c_char_p, sz, ctypes.c_char_p, sz]),
            ("ERR_clear_error", None, [])):
        func = getattr(lib, name)
        func.restype, func.argtypes = res, args
    _LIB = lib
    return lib


class _Pkey:
    """An OpenSSL EVP_PKEY owned by one key object."""

    def __init__(self, lib, pointer) -> None:
        self.lib, self.pointer = lib, pointer

    def __del__(self) -> None:
        if self.pointer:
            self.lib.EVP_PKEY_free(self.pointer)
            self.pointer = None


def _pkey(private: bool, raw: bytes):
    lib = _lib()
    if lib is None:
        return None
    make = lib.EVP_PKEY_new_raw_private_key if private else lib.EVP_PKEY_new_raw_public_key
    pointer = make(NID_ED25519, None, raw, len(raw))
    if not pointer:
        lib.ERR_clear_error()
        raise ValueError("OpenSSL refused the Ed25519 key")
    return _Pkey(lib, pointer)


def _crypto_private(raw: bytes):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    return Ed25519PrivateKey.from_private_bytes(raw)


def _crypto_public(raw: bytes):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    return Ed25519PublicKey.from_public_bytes(raw)


def _pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN " + label.encode() + b"-----\n" + b"\n".join(lines) + b"\n-----END " + label.encode() + b"-----\n"


def _name(value) -> str:
    """``Encoding.PEM`` → ``PEM`` (cryptography's enums, by name: importing them costs the package)."""
    return str(getattr(value, "name", None) or value).rsplit(".", 1)[-1]


class PublicKey:
    """An Ed25519 public key (32 raw bytes)."""

    def __init__(self, raw: bytes) -> None:
        raw = bytes(raw)
        if len(raw) != KEY_LEN:
            raise ValueError(f"an Ed25519 public key is {KEY_LEN} bytes, got {len(raw)}")
        self.raw = raw
        self._pkey = _pkey(False, raw)
        self._fallback = None if self._pkey is not None else _crypto_public(raw)

    @classmethod
    def from_public_bytes(cls, raw: bytes) -> "PublicKey":
        return cls(raw)

    def public_bytes_raw(self) -> bytes:
        return self.raw

    def public_bytes(self, encoding, format) -> bytes:  # noqa: A002 - cryptography's signature
        """``cryptography``'s call: Raw/Raw, or PEM/DER SubjectPublicKeyInfo."""
        enc, fmt = _name(encoding), _name(format)
        if enc == "Raw" and fmt == "Raw":
            return self.raw
        if fmt == "SubjectPublicKeyInfo":
            der = SPKI_PREFIX + self.raw
            if enc == "DER":
                return der
            if enc == "PEM":
                return _pem("PUBLIC KEY", der)
        raise ValueError(f"an Ed25519 public key has no {enc}/{fmt} encoding here")

    def verify(self, signature: bytes, data: bytes) -> None:
        """Return if ``signature`` is this key's over ``data``, else raise ``InvalidSignature``."""
        if self._fallback is not None:
            from cryptography.exceptions import InvalidSignature as CryptoInvalid
            try:
                self._fallback.verify(signature, data)
            except CryptoInvalid:
                raise InvalidSignature("Ed25519 signature does not verify") from None
            return
        signature, data = bytes(signature), bytes(data)
        lib = self._pkey.lib
        ctx = lib.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new")
        try:
            if lib.EVP_DigestVerifyInit(ctx, None, None, None, self._pkey.pointer) != 1:
                raise ValueError("OpenSSL cannot verify with this Ed25519 key")
            ok = lib.EVP_DigestVerify(ctx, signature, len(signature), data, len(data))
        finally:
            lib.EVP_MD_CTX_free(ctx)
        if ok != 1:
            lib.ERR_clear_error()
            raise InvalidSignature("Ed25519 signature does not verify")

    def __eq__(self, other) -> bool:
        return is_public(other) and raw_public(other) == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class PrivateKey:
    """An Ed25519 private key (its 32-byte seed)."""

    def __init__(self, seed: bytes) -> None:
        seed = bytes(seed)
        if len(seed) != KEY_LEN:
            raise ValueError(f"an Ed25519 private key is {KEY_LEN} bytes, got {len(seed)}")
        self._seed = seed
        self._pkey = _pkey(True, seed)
        self._fallback = None if self._pkey is not None else _crypto_private(seed)
        self._public: PublicKey | None = None

    @classmethod
    def generate(cls) -> "PrivateKey":
        return cls(os.urandom(KEY_LEN))

    @classmethod
    def from_private_bytes(cls, seed: bytes) -> "PrivateKey":
        return cls(seed)

    def private_bytes_raw(self) -> bytes:
        return self._seed

    def private_bytes(self, encoding, format, encryption_algorithm) -> bytes:  # noqa: A002
        """``cryptography``'s call: Raw/Raw, or unencrypted PEM/DER PKCS#8."""
        enc, fmt = _name(encoding), _name(format)
        if type(encryption_algorithm).__name__ != "NoEncryption":
            raise ValueError("only unencrypted private keys are written")
        if enc == "Raw" and fmt == "Raw":
            return self._seed
        if fmt == "PKCS8":
            der = PKCS8_PREFIX + self._seed
            if enc == "DER":
                return der
            if enc == "PEM":
                return _pem("PRIVATE KEY", der)
        raise ValueError(f"an Ed25519 private key has no {enc}/{fmt} encoding here")

    def public_key(self) -> PublicKey:
        if self._public is None:
            if self._fallback is not None:
                self._public = PublicKey(raw_public(self._fallback.public_key()))
            else:
                lib = self._pkey.lib
                out = ctypes.create_string_buffer(KEY_LEN)
                size = ctypes.c_size_t(KEY_LEN)
                if lib.EVP_PKEY_get_raw_public_key(self._pkey.pointer, out, ctypes.byref(size)) != 1:
                    lib.ERR_clear_error()
                    raise ValueError("OpenSSL cannot give the Ed25519 public key")
                self._public = PublicKey(out.raw[:size.value])
        return self._public

    def sign(self, data: bytes) -> bytes:
        if self._fallback is not None:
            return self._fallback.sign(data)
        data = bytes(data)
        lib = self._pkey.lib
        ctx = lib.EVP_MD_CTX_new()
        if not ctx:
            raise MemoryError("EVP_MD_CTX_new")
        out = ctypes.create_string_buffer(SIGNATURE_LEN)
        size = ctypes.c_size_t(SIGNATURE_LEN)
        try:
            if lib.EVP_DigestSignInit(ctx, None, None, None, self._pkey.pointer) != 1 or \
                    lib.EVP_DigestSign(ctx, out, ctypes.byref(size), data, len(data)) != 1:
                lib.ERR_clear_error()
                raise ValueError("OpenSSL could not sign with the Ed25519 key")
        finally:
            lib.EVP_MD_CTX_free(ctx)
        return out.raw[:size.value]


# -- the product's calls: light keys and cryptography's keys alike ------------------------------

def _crypto_class(name: str):
    """cryptography's Ed25519 class, only if cryptography is already imported (else no key of it exists)."""
    module = sys.modules.get("cryptography.hazmat.primitives.asymmetric.ed25519")
    return getattr(module, name, None) if module is not None else None


def is_private(key) -> bool:
    if isinstance(key, PrivateKey):
        return True
    cls = _crypto_class("Ed25519PrivateKey")
    return cls is not None and isinstance(key, cls)


def is_public(key) -> bool:
    if isinstance(key, PublicKey):
        return True
    cls = _crypto_class("Ed25519PublicKey")
    return cls is not None and isinstance(key, cls)


def raw_public(key) -> bytes:
    """The 32 raw bytes of an Ed25519 public key of either kind."""
    if isinstance(key, PublicKey):
        return key.raw
    from cryptography.hazmat.primitives import serialization
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def verify(key, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is the Ed25519 public ``key``'s over ``data`` (either kind of key)."""
    if isinstance(key, PublicKey):
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
    from cryptography.exceptions import InvalidSignature as CryptoInvalid
    try:
        key.verify(signature, data)
    except CryptoInvalid:
        return False
    return True


def _unpem(data: bytes, label: bytes) -> bytes | None:
    """The DER inside one strict PEM block with ``label``, or None (then cryptography decides)."""
    text = data.strip()
    head, tail = b"-----BEGIN " + label + b"-----", b"-----END " + label + b"-----"
    if not text.startswith(head) or not text.endswith(tail):
        return None
    body = text[len(head):-len(tail)]
    if b"-----" in body or b":" in body:
        return None
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except ValueError:
        return None


def private_pem(key: PrivateKey) -> bytes:
    return _pem("PRIVATE KEY", PKCS8_PREFIX + key.private_bytes_raw())


def public_pem(key: PublicKey) -> bytes:
    return _pem("PUBLIC KEY", SPKI_PREFIX + key.raw)


def load_pem_private(data: bytes) -> PrivateKey | None:
    """A PEM PKCS#8 Ed25519 private key in the form the terminal writes, else None."""
    der = _unpem(data, b"PRIVATE KEY")
    if der is None or len(der) != len(PKCS8_PREFIX) + KEY_LEN or not der.startswith(PKCS8_PREFIX):
        return None
    return PrivateKey(der[len(PKCS8_PREFIX):])


def load_pem_public(data: bytes) -> PublicKey | None:
    """A PEM SubjectPublicKeyInfo Ed25519 public key, else None."""
    der = _unpem(data, b"PUBLIC KEY")
    if der is None or len(der) != len(SPKI_PREFIX) + KEY_LEN or not der.startswith(SPKI_PREFIX):
        return None
    return PublicKey(der[len(SPKI_PREFIX):])
