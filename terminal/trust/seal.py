"""The seal (铅封): which legally relevant changes are allowed now, and technician authorisations.

The K constant, the tariff, calibration mode and clock corrections change only while
the *seal switch* (a GPIO jumper under the physical lead seal) is closed, or with a
*technician authorisation*: an envelope signed by the authority key for this device,
naming the technician, the allowed actions and a validity window (at most 24 h),
single use by default (its nonce is spent in the audit trail). While the audit trail is
full, every legal change is locked except the inspector's acknowledgement.

``Seal`` decides (pure: state in, decision out). ``require`` is the thin shell that
writes the decision to the audit trail and raises ``SealRefused`` on refusal.
See docs/seal.md.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from terminal.trust import signing

if TYPE_CHECKING:   # keys are ed25519.py's or cryptography's; neither module is needed to hold them
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ACTIONS = ("set_k", "install_tariff", "calibration_mode", "clock_correction", "audit_acknowledge", "clear_fault")
MAX_WINDOW_MS = 24 * 3600 * 1000
DEFAULT_MAX_CLOCK_CORRECTION_MS = 5 * 60 * 1000
SWITCH_EVENT = "seal_switch"


class SealRefused(Exception):
    """A legal change was refused (and the refusal was written to the audit trail)."""


class AuthorisationError(ValueError):
    """A technician authorisation is malformed or its signature does not verify."""


class Authorisation:
    """A verified technician authorisation (the payload of an authority-signed envelope)."""

    KEYS = ("device_id", "technician_id", "actions", "not_before_ms", "not_after_ms", "nonce", "single_use")

    def __init__(self, payload: dict) -> None:
        if not isinstance(payload, dict) or set(payload) != set(self.KEYS):
            raise AuthorisationError("authorisation must hold exactly: " + ", ".join(self.KEYS))
        for key in ("device_id", "technician_id", "nonce"):
            if not isinstance(payload[key], str) or not payload[key]:
                raise AuthorisationError(f"authorisation {key} must be a non-empty string")
        for key in ("not_before_ms", "not_after_ms"):
            if not isinstance(payload[key], int) or isinstance(payload[key], bool):
                raise AuthorisationError(f"authorisation {key} must be an integer (Unix epoch ms)")
        if not isinstance(payload["single_use"], bool):
            raise AuthorisationError("authorisation single_use must be true or false")
        actions = payload["actions"]
        if not isinstance(actions, list) or not actions or any(a not in ACTIONS for a in actions):
            raise AuthorisationError("authorisation actions must be a non-empty list of: " + ", ".join(ACTIONS))
        window = payload["not_after_ms"] - payload["not_before_ms"]
        if window <= 0 or window > MAX_WINDOW_MS:
            raise AuthorisationError("authorisation validity window must be positive and at most 24 hours")
        self.device_id = payload["device_id"]
        self.technician_id = payload["technician_id"]
        self.actions = tuple(actions)
        self.not_before_ms = payload["not_before_ms"]
        self.not_after_ms = payload["not_after_ms"]
        self.nonce = payload["nonce"]
        self.single_use = payload["single_use"]
        self.payload = payload


def make_authorisation(authority_key: Ed25519PrivateKey, device_id: str, technician_id: str, actions: list[str],
                       not_before_ms: int, not_after_ms: int, single_use: bool = True,
                       nonce: str | None = None) -> bytes:
    """An authorisation file's bytes (what the authority hands the technician)."""
    payload = {
        "device_id": device_id, "technician_id": technician_id, "actions": list(actions),
        "not_before_ms": not_before_ms, "not_after_ms": not_after_ms,
        "nonce": nonce or os.urandom(16).hex(), "single_use": single_use,
    }
    Authorisation(payload)  # refuse to sign what the terminal would refuse
    return signing.envelope_bytes(authority_key, "authorisation", payload)


def open_authorisation(data: bytes, authority_key: Ed25519PublicKey) -> Authorisation:
    try:
        payload = signing.open_envelope_bytes(data, authority_key, "authorisation", "technician authorisation")
    except signing.SignatureError as exc:
        raise AuthorisationError(str(exc)) from None
    return Authorisation(payload)


class SealDecision:
    """Allowed or not, by which means, who acts, and why."""

    def __init__(self, allowed: bool, action: str, reason: str, via: str | None = None, actor: str = "unknown",
                 authorisation: Authorisation | None = None) -> None:
        self.allowed = allowed
        self.action = action
        self.reason = reason
        self.via = via
        self.actor = actor
        self.authorisation = authorisation

    def __repr__(self) -> str:
        return f"SealDecision(allowed={self.allowed}, action={self.action!r}, via={self.via!r}, reason={self.reason!r})"


class Seal:
    """The seal policy of one device. Feed it the switch state; ask it before every legal change."""

    def __init__(self, device_id: str, authority_key: Ed25519PublicKey | None, switch_closed: bool = False) -> None:
        self.device_id = device_id
        self.authority_key = authority_key
        self.switch_closed = switch_closed

    def on_switch(self, closed: bool) -> bool:
        """The seal switch input changed; True when the state really changed (worth an audit record)."""
        changed = closed != self.switch_closed
        self.switch_closed = closed
        return changed

    def decide(self, action: str, t_ms: int, authorisation: bytes | None = None, audit_full: bool = False,
               nonce_used=lambda nonce: False, actor: str = "technician") -> SealDecision:
        if action not in ACTIONS:
            return SealDecision(False, action, f"unknown legal action {action!r}")
        if audit_full and action != "audit_acknowledge":
            return SealDecision(False, action, "audit trail is full: legal changes are locked until an inspector "
                                               "exports and acknowledges it")
        if authorisation is None:
            if self.switch_closed:
                return SealDecision(True, action, "seal switch closed", via="seal_switch", actor=actor)
            return SealDecision(False, action, "seal switch is open and no technician authorisation was given")
        if self.authority_key is None:
            return SealDecision(False, action, "no authority key is installed to check the authorisation")
        try:
            auth = open_authorisation(authorisation, self.authority_key)
        except AuthorisationError as exc:
            return SealDecision(False, action, f"authorisation rejected: {exc}")
        who = f"technician:{auth.technician_id}"
        if auth.device_id != self.device_id:
            return SealDecision(False, action, f"authorisation is for device {auth.device_id}, not {self.device_id}",
                                actor=who)
        if action not in auth.actions:
            return SealDecision(False, action, f"authorisation does not allow {action}", actor=who)
        if t_ms < auth.not_before_ms:
            return SealDecision(False, action, "authorisation is not valid yet", actor=who)
        if t_ms > auth.not_after_ms:
            return SealDecision(False, action, "authorisation has expired", actor=who)
        if auth.single_use and nonce_used(auth.nonce):
            return SealDecision(False, action, f"single-use authorisation {auth.nonce} was already used", actor=who)
        return SealDecision(True, action, f"authorised by the authority for {auth.technician_id}",
                            via="authorisation", actor=who, authorisation=auth)


def clock_correction_problem(delta_ms: int, meter_state: str,
                             max_ms: int = DEFAULT_MAX_CLOCK_CORRECTION_MS) -> str | None:
    """Why a clock correction may not be applied now, or None: small, and only when for hire."""
    if meter_state != "for_hire":
        return f"clock corrections only while for hire (meter is {meter_state})"
    if abs(delta_ms) > max_ms:
        return f"clock correction of {delta_ms} ms exceeds the {max_ms} ms limit"
    return None


def switch_closed_from_audit(audit) -> bool:
    """The seal switch state as last recorded by the terminal (open when never recorded)."""
    rec = audit.latest(SWITCH_EVENT)
    return rec is not None and rec["new"] == "closed"


def record_switch(seal: Seal, audit, closed: bool, t_ms: int) -> dict | None:
    """Apply a seal-switch input change and audit it when the state changed."""
    old = "closed" if seal.switch_closed else "open"
    if not seal.on_switch(closed):
        return None
    return audit.append(SWITCH_EVENT, "seal", old, "closed" if closed else "open", actor="seal_switch", t_ms=t_ms)


def require(seal: Seal, audit, action: str, t_ms: int, parameter: str, authorisation: bytes | None = None,
            actor: str = "technician") -> SealDecision:
    """Decide, write the outcome to the audit trail, and raise ``SealRefused`` when refused.

    An allowed single-use authorisation is spent here (its nonce recorded), so the
    caller's own audit record of the change follows this one.
    """
    decision = seal.decide(action, t_ms, authorisation, audit_full=audit.full, nonce_used=audit.nonce_used,
                           actor=actor)
    if not decision.allowed:
        audit.append("seal_refused", action, None, decision.reason, actor=decision.actor, t_ms=t_ms)
        raise SealRefused(f"{action} refused: {decision.reason}")
    if decision.via == "authorisation":
        auth = decision.authorisation
        if auth.single_use:
            audit.use_nonce(auth.nonce, "authorisation_used", action, decision.actor, t_ms=t_ms)
        else:
            audit.append("authorisation_used", action, None, auth.nonce, actor=decision.actor, t_ms=t_ms)
    return decision
