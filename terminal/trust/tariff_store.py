"""Signed tariffs: verify an authority-signed tariff file and install it, dated activation kept, history kept.

A tariff file is the TOML of docs/tariff.md (``[[tariff]]`` tables, each with its own
``effective_from``) with a top-level ``sequence = N``, the authority's issue number (under its
signature: a file with a sequence not above every installed one is refused, so an older tariff
is never installed again); its signature is a detached file ``FILE.sig``: one base64 line,
Ed25519 by the authority key over the exact file bytes (purpose "tariff", see
docs/tariff-signing.md). Installed files are kept in STATE/tariffs/ with an index;
nothing is ever deleted, so inspectors can check the tariff of any stored trip.

The tariff in force at an instant: the newest installed file that has a tariff
effective by then governs; before its first ``effective_from`` the previous file still
does. So a tariff installed today with a date next month switches by itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from meter.errors import TariffError
from meter.tariff import parse_schedule
from terminal.trust import signing

if TYPE_CHECKING:   # keys are ed25519.py's or cryptography's; neither module is needed to hold them
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

INDEX = "index.json"


class TariffFileError(ValueError):
    """A tariff file that is unsigned, wrongly signed, unreadable or breaks a tariff rule."""


class TariffFile:
    """The exact bytes of a tariff file, the validated schedule they hold and their sequence number."""

    def __init__(self, data: bytes, schedule, sequence: int = 0) -> None:
        self.data = data
        self.schedule = schedule
        self.sequence = sequence
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.digest = schedule.digest()

    @property
    def tariffs(self) -> list:
        return self.schedule.tariffs

    def describe(self) -> dict:
        return {
            "sha256": self.sha256,
            "schedule_digest": self.digest,
            "tariffs": [t.summary() | {"name": t.name, "effective_ms": t.effective_ms, "mode": t.mode}
                        for t in self.tariffs],
        }


def parse_tariff_file(data: bytes, what: str = "tariff file") -> TariffFile:
    """Validate a tariff file's contents (no signature check)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TariffFileError(f"{what} is not UTF-8 text") from None
    try:
        plain = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TariffFileError(f"{what} is not valid TOML: {exc}") from None
    sequence = plain.pop("sequence", 0)
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise TariffFileError(f"{what}: sequence must be a whole number (the authority's issue number)")
    try:
        return TariffFile(data, parse_schedule(plain), sequence)
    except TariffError as exc:
        raise TariffFileError(f"{what}: {exc}") from None


def sign_tariff(authority_key: Ed25519PrivateKey, data: bytes) -> bytes:
    """The contents of FILE.sig for a tariff file."""
    parse_tariff_file(data)  # never sign a tariff the terminal would refuse
    return signing.detached_signature(authority_key, "tariff", data)


def verify_tariff(data: bytes, sig_file: bytes | None, authority_key: Ed25519PublicKey,
                  what: str = "tariff file") -> TariffFile:
    """Check the authority's signature over the exact bytes, then the contents."""
    if sig_file is None:
        raise TariffFileError(f"{what} has no signature file (FILE.sig)")
    try:
        signing.verify_detached(authority_key, "tariff", data, sig_file, what)
    except signing.SignatureError as exc:
        raise TariffFileError(str(exc)) from None
    return parse_tariff_file(data, what)


def read_signed(path: Path) -> tuple[bytes, bytes | None]:
    """A tariff file and its FILE.sig beside it (None when absent)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TariffFileError(f"cannot read {path}: {exc.strerror}") from None
    sig_path = path.with_name(path.name + ".sig")
    try:
        sig = sig_path.read_bytes()
    except FileNotFoundError:
        sig = None
    except OSError as exc:
        raise TariffFileError(f"cannot read {sig_path}: {exc.strerror}") from None
    return data, sig


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class TariffStore:
    """Installed tariff files in a directory, oldest first in ``index.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def entries(self) -> list[dict]:
        path = self.directory / INDEX
        if not path.exists():
            return []
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TariffFileError(f"tariff index {path} is unreadable: {exc}") from None
        return index["installed"]

    def load(self, entry: dict, authority_key: Ed25519PublicKey) -> TariffFile:
        """Re-read an installed file and check it again: the store is not trusted blindly."""
        data, sig = read_signed(self.directory / entry["file"])
        tariff_file = verify_tariff(data, sig, authority_key, f"installed tariff {entry['file']}")
        if tariff_file.sha256 != entry["sha256"]:
            raise TariffFileError(f"installed tariff {entry['file']} differs from its index entry")
        return tariff_file

    def current(self, authority_key: Ed25519PublicKey) -> tuple[dict, TariffFile] | None:
        entries = self.entries()
        if not entries:
            return None
        return entries[-1], self.load(entries[-1], authority_key)

    def active(self, t_ms: int, authority_key: Ed25519PublicKey):
        """(tariff, entry) in force at ``t_ms``, or None when no installed tariff is effective yet."""
        for entry in reversed(self.entries()):
            if entry["first_effective_ms"] > t_ms:
                continue
            tariff = self.load(entry, authority_key).schedule.active(t_ms)
            if tariff is not None:
                return tariff, entry
        return None

    def install(self, tariff_file: TariffFile, sig_file: bytes, t_ms: int, actor: str) -> dict:
        """Store a verified file (and its signature) and append it to the index. Returns the new entry."""
        entries = self.entries()
        if entries and entries[-1]["sha256"] == tariff_file.sha256:
            raise TariffFileError("this tariff file is already the installed one")
        newest = max((e.get("sequence", 0) for e in entries), default=0)
        if entries and tariff_file.sequence <= newest:
            raise TariffFileError(f"tariff sequence {tariff_file.sequence} is not newer than the installed "
                                  f"{newest}: an older tariff is never installed again")
        self.directory.mkdir(parents=True, exist_ok=True)
        seq = len(entries) + 1
        name = f"{seq:04d}-{tariff_file.digest[:12]}.toml"
        entry = {
            "seq": seq,
            "file": name,
            "sha256": tariff_file.sha256,
            "schedule_digest": tariff_file.digest,
            "tariff_ids": [t.id for t in tariff_file.tariffs],
            "tariff_digests": [t.digest for t in tariff_file.tariffs],
            "first_effective_ms": tariff_file.tariffs[0].effective_ms,
            "installed_ms": t_ms,
            "actor": actor,
            "sequence": tariff_file.sequence,
        }
        _write_atomic(self.directory / (name + ".sig"), sig_file)
        _write_atomic(self.directory / name, tariff_file.data)
        _write_atomic(self.directory / INDEX,
                      (json.dumps({"installed": entries + [entry]}, indent=1, ensure_ascii=False) + "\n").encode())
        return entry
