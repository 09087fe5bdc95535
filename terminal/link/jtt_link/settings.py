"""Platform-link room, JT/T links: a link's settings (``[jt808]`` / ``[jt905]``, docs/config.md), checked whole.

``link_config(protocol, table, terminal)`` returns the table over ``DEFAULTS`` with the
terminal's 808 phone number (BCD[6], or BCD[10] with ``proto_ver``) or 905 ISU id filled
in from ``[terminal] id`` when not given; any unknown key, wrong type or value out of
range is a ``ValueError`` naming it. ``load_auth`` / ``store_auth``: the 808 auth code kept in
``auth_file`` (written durably, fsync + rename, before it is used).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS = {"host": "127.0.0.1", "port": 7611, "tls": False, "ca_file": "", "server_name": "",
            "phone": "", "isu": "", "proto_ver": -1, "heartbeat_s": 60, "reply_timeout_s": 10,
            "reconnect_min_s": 1.0, "reconnect_max_s": 60.0, "auth_file": "", "window": 1000,
            "province": 44, "city": 100, "manufacture": "TAXIT", "model": "TT-1", "dev_id": "",
            "plate_color": 1, "imei": "", "sw_version": ""}


def link_config(protocol: str, table: dict, terminal: dict) -> dict:
    """A link's settings: ``table`` (``[jt808]`` / ``[jt905]``) over the defaults; ids from ``[terminal]``."""
    unknown = sorted(set(table) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"unknown key {protocol}.{unknown[0]}; known: {', '.join(DEFAULTS)}")
    cfg = dict(DEFAULTS, **table)
    for key, value in table.items():
        default = DEFAULTS[key]
        kind = (int, float) if isinstance(default, float) else type(default)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kind):
            raise ValueError(f"{protocol}.{key} must be {type(default).__name__}, got {value!r}")
    digits = "".join(ch for ch in str(terminal.get("id", "")) if ch.isdigit())
    if protocol == "jt808":
        width = 20 if cfg["proto_ver"] >= 0 else 12
        cfg["phone"] = (cfg["phone"] or digits).zfill(width)[-width:]
        if not cfg["phone"].isdigit():
            raise ValueError(f"{protocol}.phone must be digits, got {cfg['phone']!r}")
    else:
        cfg["isu"] = (cfg["isu"] or digits).zfill(12)[-12:]
        if not cfg["isu"].isdigit():
            raise ValueError(f"{protocol}.isu must be 12 digits, got {cfg['isu']!r}")
    if not 1 <= cfg["port"] <= 65535 or not 5 <= cfg["heartbeat_s"] <= 3600 or cfg["reconnect_min_s"] <= 0 \
            or cfg["reconnect_max_s"] < cfg["reconnect_min_s"] or not 1 <= cfg["window"] <= 65000:
        raise ValueError(f"[{protocol}] port, heartbeat_s (5-3600), reconnect_*_s or window out of range")
    return cfg


def load_auth(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    code = path.read_text(encoding="utf-8").strip()
    return code or None


def store_auth(path: Path | None, code: str | None) -> None:
    """``None`` deletes the file (a refused authentication, a deregistration)."""
    if path is None:
        return
    if code is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(code)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
