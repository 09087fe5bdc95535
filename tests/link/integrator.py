"""An outside platform built from the published contract only (link room, tests).

Everything here comes from docs/mqtt.md, the JSON Schema files in terminal/link/schemas/ and the
broker configuration in broker/: the topic tree, QoS 1 subscriptions, the signed bytes
("taxiterm-command-v1" LF topic LF canonical JSON) with a canonical JSON written from the doc's
words, Ed25519 from ``cryptography``, and schema checks by ``jsonschema`` over the schema files.
Nothing of the terminal's own signer, checker or platform emulator is imported.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jsonschema import Draft202012Validator
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "terminal" / "link" / "schemas"
DOMAIN = b"taxiterm-command-v1"
WAIT_S = 15.0      # how long something that must happen may take; never a speed claim


# -- the signed bytes, from the doc's words --------------------------------------------------------

_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def canonical_json(value) -> str:
    """Keys sorted by code point, no whitespace, strings without \\uXXXX for non-ASCII, integers plain."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(_string(k) + ":" + canonical_json(value[k]) for k in sorted(value)) + "}"
    raise TypeError(f"commands carry no {type(value).__name__}")


def signed_bytes(topic: str, command: dict) -> bytes:
    body = {k: v for k, v in command.items() if k != "sig"}
    return DOMAIN + b"\n" + topic.encode("utf-8") + b"\n" + canonical_json(body).encode("utf-8")


def sign(topic: str, command: dict, key: Ed25519PrivateKey) -> dict:
    return {**command, "sig": key.sign(signed_bytes(topic, command)).hex()}


# -- the schemas, as published ----------------------------------------------------------------------

def _registry() -> Registry:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.json"))]
    return Registry().with_resources([(d["$id"], Resource.from_contents(d)) for d in docs])


REGISTRY = _registry()


def schema_errors(name: str, payload) -> list[str]:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return [e.message for e in Draft202012Validator(schema, registry=REGISTRY).iter_errors(payload)]


# -- the platform's MQTT client ---------------------------------------------------------------------

class Received:
    def __init__(self, topic: str, raw: bytes, qos: int, retain: bool) -> None:
        self.topic, self.raw, self.qos, self.retain = topic, raw, qos, retain
        self.tid = topic.split("/")[1] if topic.count("/") >= 2 else ""
        self.kind = topic.rsplit("/", 1)[-1]
        self.payload = json.loads(raw) if raw else None


class Integrator:
    """A platform account on the shipped broker: reads ``taxi/+/up/#`` and ``taxi/+/status``
    (QoS 1, Retain As Published so the retain flag shows), publishes signed commands."""

    def __init__(self, broker, name: str, key: Ed25519PrivateKey | None, *, prefix: str = "taxi",
                 filters: tuple[str, ...] | None = None, persistent: bool = False, role: str = "platform") -> None:
        self.key, self.prefix = key, prefix
        self.messages: list[Received] = []
        self.refused_subscriptions: list[int] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._filters = filters if filters is not None else (f"{prefix}/+/up/#", f"{prefix}/+/status")
        self._n = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        options = broker.client_options(name, role)
        self.client.username_pw_set(options["username"], options["password"])
        self.client.tls_set(ca_certs=options["tls_ca"])
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.05, 0.5)
        props = None
        if persistent:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect(broker.host, broker.port, clean_start=not persistent, properties=props)
        self.client.loop_start()
        if self._filters:
            assert self._subscribed.wait(WAIT_S), f"{name} never subscribed"
        else:
            end = time.monotonic() + WAIT_S
            while not self.client.is_connected():
                assert time.monotonic() < end, f"{name} never connected"
                time.sleep(0.01)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure and self._filters:
            client.subscribe([(f, SubscribeOptions(qos=1, retainAsPublished=True)) for f in self._filters])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self.refused_subscriptions += [rc.value for rc in reason_codes if rc.is_failure]
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._lock:
            self.messages.append(Received(message.topic, bytes(message.payload), message.qos, bool(message.retain)))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # -- reading ----------------------------------------------------------------------------------
    def received(self, kind: str | None = None, tid: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if (kind is None or m.kind == kind) and (tid is None or m.tid == tid)]

    def wait_for(self, predicate, what: str, after: int = 0, timeout_s: float = WAIT_S) -> Received:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self._lock:
                found = [m for m in self.messages[after:] if m.payload is not None and predicate(m)]
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError(f"never received: {what}")

    def mark(self) -> int:
        with self._lock:
            return len(self.messages)

    def ack(self, cmd_id, after: int = 0, timeout_s: float = WAIT_S) -> dict:
        return self.wait_for(lambda m: m.kind == "ack" and m.payload.get("cmd_id") == cmd_id,
                             f"ack of {cmd_id}", after, timeout_s).payload

    # -- commanding -------------------------------------------------------------------------------
    def topic(self, tid: str, command: str) -> str:
        return f"{self.prefix}/{tid}/down/{command}"

    def command(self, tid: str, command: str, body: dict | None = None, *, cmd_id: str | None = None,
                ts: int | None = None, signed_for: str | None = None, key: Ed25519PrivateKey | None = None,
                retain: bool = False, qos: int = 1, raw: bytes | None = None) -> str:
        """Publish one command, signed the documented way (``signed_for``: sign as if for that topic)."""
        if cmd_id is None:
            self._n += 1
            cmd_id = f"x{self._n}-{time.time_ns() % 10**9}"
        topic = self.topic(tid, command)
        if raw is None:
            message = {"cmd_id": cmd_id, "ts": int(time.time() * 1000) if ts is None else ts, **(body or {})}
            signer = key or self.key
            if signer is not None:
                message = sign(signed_for or topic, message, signer)
            raw = json.dumps(message, ensure_ascii=False).encode("utf-8")
        info = self.client.publish(topic, raw, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(WAIT_S)
        return cmd_id
