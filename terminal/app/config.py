"""The terminal's configuration file (TOML), checked whole at start.

Every key, its default, unit and meaning is documented in docs/config.md. An unknown
key or a bad value is a ``ConfigError`` naming it; the terminal does not start on a
configuration it would have to guess about.
"""

import re
import tomllib
from pathlib import Path

DEFAULTS: dict[str, dict] = {
    "terminal": {
        "id": "T0001",
        "state_dir": "/var/lib/taxiterm",
        "driver_cert": "",            # qualification certificate number used by the sign-in key
        "plate": "",
        "company": "",
        "supervision_phone": "12328",
        "receipt_lang": "zh",
        "require_sealed_identity": True,
        "receipt_verify_url": "https://verify.taxiterm.invalid/r",   # e-receipt QR links start here
    },
    "meter": {"k": 1000, "source": "pulses", "dip_ms": 10000, "max_kmh": 250, "speed_window_ms": 1000,
              "speed_window_pulses": 20, "kind": "internal", "link_port": ""},
    "report": {"vacant_s": 30, "occupied_s": 10, "alarm_s": 5, "health_s": 300, "fix_max_age_s": 5},
    "alarm": {"hold_ms": 3000},
    "orders": {"answer_s": 20},
    "outbox": {"capacity": 100000, "window": 100},
    "keys": {"long_ms": 2000},
    "pulse": {"period_ms": 1000},
    "sign": {"query_s": 5},
    "recorder": {"continuous_s": 14400, "rest_s": 1200, "daily_s": 28800},   # docs/recorder.md
    # downlink commands: authentication and the bounds on what the platform link accepts (docs/mqtt.md)
    "downlink": {"platform_key": "", "window_s": 300, "max_bytes": 8192, "max_depth": 8,
                 "error_acks_per_s": 2, "error_ack_burst": 10, "fault_audit_s": 3600},
    "mqtt": {},      # passed to terminal.link.mqtt.LinkConfig (keys documented in docs/config.md)
    "board": {},     # overrides of the board profile (docs/board.md)
    "links": {"use": ["mqtt"]},   # which platform links run: any of mqtt, jt808, jt905 (docs/jtt.md)
    "jt808": {},     # passed to terminal.link.jtt_link.tcp_link.link_config (keys documented in docs/config.md)
    "jt905": {},
}
LINKS = ("mqtt", "jt808", "jt905")
_TERMINAL_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class ConfigError(ValueError):
    """A configuration the terminal will not start with; the message names the key."""


def _check_type(section: str, key: str, value, default) -> None:
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{section}.{key} must be {type(default).__name__}, got {value!r}")


def from_dict(data: dict) -> dict:
    """Merge ``data`` over the defaults and check it; returns the complete configuration."""
    config: dict[str, dict] = {name: dict(values) for name, values in DEFAULTS.items()}
    for section, table in data.items():
        if section not in DEFAULTS:
            raise ConfigError(f"unknown section [{section}]; known: {', '.join(DEFAULTS)}")
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table")
        if section in ("mqtt", "board", "jt808", "jt905"):
            config[section] = dict(table)
            continue
        for key, value in table.items():
            if key not in DEFAULTS[section]:
                raise ConfigError(f"unknown key {section}.{key}; known: {', '.join(DEFAULTS[section])}")
            _check_type(section, key, value, DEFAULTS[section][key])
            config[section][key] = value
    for section, key, low, high in (
        ("report", "vacant_s", 1, 86400), ("report", "occupied_s", 1, 86400), ("report", "alarm_s", 1, 3600),
        ("report", "health_s", 10, 86400), ("alarm", "hold_ms", 500, 10000), ("orders", "answer_s", 5, 300),
        ("outbox", "capacity", 1000, 10_000_000), ("outbox", "window", 1, 65000), ("keys", "long_ms", 300, 10000),
        ("pulse", "period_ms", 100, 10000), ("sign", "query_s", 1, 600),
        ("recorder", "continuous_s", 600, 86400), ("recorder", "rest_s", 60, 86400),
        ("recorder", "daily_s", 600, 86400),
        ("report", "fix_max_age_s", 1, 600), ("downlink", "window_s", 10, 86400),
        ("downlink", "max_bytes", 512, 65536), ("downlink", "max_depth", 4, 64),
        ("downlink", "error_acks_per_s", 1, 1000), ("downlink", "error_ack_burst", 1, 10000),
        ("downlink", "fault_audit_s", 1, 86400),
    ):
        if not low <= config[section][key] <= high:
            raise ConfigError(f"{section}.{key} must be from {low} to {high}, got {config[section][key]}")
    if config["meter"]["kind"] not in ("internal", "link"):
        raise ConfigError(f"meter.kind must be internal or link, got {config['meter']['kind']!r}")
    if config["terminal"]["receipt_lang"] not in ("zh", "en"):
        raise ConfigError("terminal.receipt_lang must be zh or en")
    from printer.e_receipt import EReceiptError, check_base_url
    try:
        check_base_url(config["terminal"]["receipt_verify_url"])
    except EReceiptError as exc:
        raise ConfigError(f"terminal.receipt_verify_url: {exc}") from None
    if not _TERMINAL_ID.fullmatch(config["terminal"]["id"]):    # it is the MQTT client id and a topic level
        raise ConfigError(f"terminal.id must be 1-64 of A-Z a-z 0-9 _ . -, got {config['terminal']['id']!r}")
    config["mqtt"].setdefault("terminal_id", config["terminal"]["id"])
    _check_meter(config["meter"])
    _check_links(config)
    return config


def _check_meter(meter: dict) -> None:
    """The in-process meter's own bounds (meter/odometer.py, meter/taximeter.py), named as config keys:
    a bad K found here, not as the meter's exception when a fresh terminal first builds its meter."""
    from meter.taximeter import PARAM_RANGES

    if not 100 <= meter["k"] <= 100000:
        raise ConfigError(f"meter.k must be from 100 to 100000 pulses/km, got {meter['k']}")
    if meter["source"] not in ("pulses", "gnss"):
        raise ConfigError(f"meter.source must be pulses or gnss, got {meter['source']!r}")
    for key, (low, high) in PARAM_RANGES.items():
        if not low <= meter[key] <= high:
            raise ConfigError(f"meter.{key} must be from {low} to {high}, got {meter[key]}")


def _check_links(config: dict) -> None:
    """``[links] use``: a non-empty list of distinct link names; each JT/T link's table checked whole."""
    use = config["links"]["use"]
    if not use or any(name not in LINKS for name in use) or len(set(use)) != len(use):
        raise ConfigError(f"links.use must list distinct links from {', '.join(LINKS)}, got {use!r}")
    for name in ("jt808", "jt905"):
        if name in use:
            from terminal.link.jtt_link.tcp_link import link_config  # the JT/T stack only when used
            try:
                config[name] = link_config(name, config[name], config["terminal"])
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def load(path: str | Path) -> dict:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text (a configuration is TOML, docs/config.md)") from None
    return from_dict(data)
