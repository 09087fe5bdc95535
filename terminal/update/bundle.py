"""Update bundles: build, sign and verify a software bundle (tar) before anything on the device is touched.

A bundle is a tar archive (gzip-compressed) whose first two members are
``manifest.json`` (canonical JSON: format, product, version, min_version, target,
created_ms, files with path/size/sha256/mode) and ``manifest.sig`` (one base64 line:
Ed25519 by the vendor key over the exact manifest bytes, purpose "update"), followed by
``files/<path>`` for every listed file and nothing else. See docs/updates.md.
"""

import hashlib
import io
import os
import re
import tarfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from terminal.trust import identity, signing

FORMAT = 1
PRODUCT = "taxiterm"
DEFAULT_TARGET = "taxiterm"
METER_MANIFEST = "meter-manifest.json"
MAX_MANIFEST = 4 * 1024 * 1024
MAX_FILES = 20000
_VERSION = re.compile(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")

Progress = Callable[[str, int, int], None]


class BundleError(ValueError):
    """The bundle is refused: bad signature, wrong target, older version, truncated or altered."""


def parse_version(text) -> tuple[int, int, int]:
    if not isinstance(text, str) or not _VERSION.match(text):
        raise BundleError(f"version {text!r} is not MAJOR.MINOR.PATCH")
    return tuple(int(part) for part in text.split("."))


def _check_path(path) -> str:
    if not isinstance(path, str) or not path or "\\" in path or "\0" in path:
        raise BundleError(f"file path {path!r} is not a plain relative path")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise BundleError(f"file path {path!r} leaves the slot or is not normalised")
    if path.startswith(".bundle/"):
        raise BundleError(f"file path {path!r} is reserved")
    return path


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def tree_version(source: Path) -> str | None:
    """``__version__`` declared in the tree's terminal/__init__.py, None when the tree has none."""
    path = Path(source) / "terminal" / "__init__.py"
    if not path.is_file():
        return None
    found = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', path.read_text(encoding="utf-8"), re.M)
    return found.group(1) if found else None


def build(source: Path, version: str, vendor_key: Ed25519PrivateKey, out: Path, target: str = DEFAULT_TARGET,
          min_version: str = "0.0.0", t_ms: int | None = None) -> dict:
    """Pack every regular file under ``source`` into a signed bundle at ``out``; returns the manifest.

    When ``source`` holds a ``meter/`` package, a vendor-sealed software manifest for it is
    added as ``meter-manifest.json`` (the identity the terminal checks at start).
    """
    source = Path(source)
    parse_version(version)
    parse_version(min_version)
    if not source.is_dir():
        raise BundleError(f"{source} is not a directory")
    declared = tree_version(source)
    if declared is not None and declared != version:
        raise BundleError(f"version {version} is not the tree's own version {declared} "
                          "(terminal/__init__.py __version__): the slot would read NOT SEALED")
    t_ms = time.time_ns() // 1_000_000 if t_ms is None else t_ms
    contents: dict[str, tuple[bytes, int]] = {}
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or path.is_dir():
            continue
        if path.is_symlink() or not path.is_file():
            raise BundleError(f"{path} is not a regular file; bundles hold regular files only")
        rel = _check_path(path.relative_to(source).as_posix())
        contents[rel] = (path.read_bytes(), 0o755 if os.access(path, os.X_OK) else 0o644)
    if (source / "meter").is_dir():
        sealed = identity.seal_manifest(vendor_key, identity.make_manifest(source, version, t_ms))
        contents[METER_MANIFEST] = (sealed, 0o644)
    if not contents:
        raise BundleError(f"{source} holds no files")
    manifest = {
        "format": FORMAT, "product": PRODUCT, "version": version, "min_version": min_version, "target": target,
        "created_ms": t_ms,
        "files": [{"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "mode": mode}
                  for rel, (data, mode) in sorted(contents.items())],
    }
    manifest_bytes = signing.canonical_json(manifest) + b"\n"
    sig = signing.detached_signature(vendor_key, "update", manifest_bytes)
    tmp = Path(str(out) + ".tmp")
    with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in [("manifest.json", manifest_bytes, 0o644), ("manifest.sig", sig, 0o644)] + [
            ("files/" + rel, data, mode) for rel, (data, mode) in sorted(contents.items())
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = t_ms // 1000
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, out)
    return manifest


def check_manifest(manifest, installed_version: str, target: str) -> dict:
    if not isinstance(manifest, dict):
        raise BundleError("manifest is not an object")
    expected = {"format", "product", "version", "min_version", "target", "created_ms", "files"}
    if set(manifest) != expected:
        raise BundleError("manifest fields differ from format 1: " + ", ".join(sorted(set(manifest) ^ expected)))
    if manifest["format"] != FORMAT or manifest["product"] != PRODUCT:
        raise BundleError("not a taxiterm bundle of format 1")
    if manifest["target"] != target:
        raise BundleError(f"bundle is for target {manifest['target']!r}, this device is {target!r}")
    new, installed = parse_version(manifest["version"]), parse_version(installed_version)
    if new <= installed:
        raise BundleError(f"version {manifest['version']} is not newer than the installed {installed_version}; "
                          "downgrades and reinstalls are refused")
    if installed < parse_version(manifest["min_version"]):
        raise BundleError(f"bundle needs at least version {manifest['min_version']} installed "
                          f"(installed {installed_version})")
    files = manifest["files"]
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise BundleError("manifest lists no files, or too many")
    seen = set()
    for entry in files:
        if not isinstance(entry, dict) or set(entry) != {"path", "size", "sha256", "mode"}:
            raise BundleError("a manifest file entry needs exactly path, size, sha256, mode")
        path = _check_path(entry["path"])
        if path in seen:
            raise BundleError(f"file {path} is listed twice")
        seen.add(path)
        if not isinstance(entry["size"], int) or entry["size"] < 0:
            raise BundleError(f"file {path}: bad size")
        if not isinstance(entry["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
            raise BundleError(f"file {path}: bad sha256")
        if entry["mode"] not in (0o644, 0o755):
            raise BundleError(f"file {path}: mode must be 644 or 755")
    return manifest


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if not member.isfile():
        raise BundleError(f"member {member.name} is not a regular file")
    if member.size > limit:
        raise BundleError(f"member {member.name} is larger than allowed")
    handle = tar.extractfile(member)
    data = handle.read()
    if len(data) != member.size:
        raise BundleError(f"member {member.name} is truncated")
    return data


def iterate(bundle: Path, vendor_key: Ed25519PublicKey, installed_version: str, target: str,
            progress: Progress = _no_progress):
    """Yield the verified manifest, then (entry, bytes) of each file after checking its hash.

    The bundle is streamed once; the manifest signature is checked before any file is read.
    Any defect raises ``BundleError``: the caller must discard whatever it received.
    """
    try:
        tar = tarfile.open(bundle, "r|*")
    except FileNotFoundError:
        raise BundleError(f"no bundle at {bundle}") from None
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BundleError(f"bundle is not a readable tar archive ({exc})") from None
    try:
        with tar:
            members = iter(tar)
            # A stream is read forwards only: each member's data before the next header.
            first = next(members, None)
            if first is None or first.name != "manifest.json":
                raise BundleError("bundle must start with manifest.json and manifest.sig")
            manifest_bytes = _read_member(tar, first, MAX_MANIFEST)
            second = next(members, None)
            if second is None or second.name != "manifest.sig":
                raise BundleError("bundle must start with manifest.json and manifest.sig")
            sig = _read_member(tar, second, 4096)
            try:
                signing.verify_detached(vendor_key, "update", manifest_bytes, sig, "update bundle manifest")
            except signing.SignatureError as exc:
                raise BundleError(str(exc)) from None
            manifest = signing.parse_json(manifest_bytes, "update bundle manifest")
            manifest = check_manifest(manifest, installed_version, target)
            yield manifest
            wanted = {e["path"]: e for e in manifest["files"]}
            total = sum(e["size"] for e in manifest["files"])
            done = 0
            for member in members:
                if not member.name.startswith("files/"):
                    raise BundleError(f"unexpected member {member.name}")
                path = member.name[len("files/"):]
                entry = wanted.pop(path, None)
                if entry is None:
                    raise BundleError(f"member {member.name} is not listed in the signed manifest (or repeated)")
                data = _read_member(tar, member, entry["size"])
                if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    raise BundleError(f"file {path} does not match the signed manifest (altered)")
                done += len(data)
                progress("verify", done, total)
                yield entry, data
            if wanted:
                raise BundleError(f"bundle is truncated: {len(wanted)} listed files missing, e.g. {sorted(wanted)[0]}")
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise BundleError(f"bundle is truncated or corrupt ({type(exc).__name__}: {exc})") from None


def verify(bundle: Path, vendor_key: Ed25519PublicKey, installed_version: str, target: str = DEFAULT_TARGET,
           progress: Progress = _no_progress) -> dict:
    """Verify the whole bundle without writing anything; returns its manifest."""
    stream = iterate(bundle, vendor_key, installed_version, target, progress)
    manifest = next(stream)
    for _entry, _data in stream:
        pass
    return manifest
