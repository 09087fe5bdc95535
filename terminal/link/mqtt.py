"""MQTT link: the terminal's one connection to the platform broker (paho-mqtt 2.x).

This is the front door. It connects as the terminal id, MQTT 5 first and 3.1.1 when the
broker refuses 5, over TLS and with username/password when the configuration says so. A
last will marks the terminal offline (retained); on every connect it publishes a retained
online status and subscribes to its downlink commands. It reconnects by itself with an
exponential backoff.

paho's network thread never touches the terminal's state: it only puts Events on the
loop's queue (kinds ``link``, ``puback``, ``platform``; see ``docs/storage.md``). No
downlink message can kill it: the payload is decoded under the bounds of
``terminal.link.downlink.decode`` and any exception in a callback is caught and
counted. Should the network thread die all the same, the supervisor notices within
half a second, logs it and starts a new connection (``restarts``); ``healthy()`` is
what the systemd watchdog asks. The
loop publishes through ``publish()`` (paho's publish is thread-safe). Unacknowledged
messages are NOT kept by paho across a reconnect: the outbox, which has them on disk,
publishes them again, marked resent.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from drivers.event import Event
from terminal.link.downlink import MAX_BYTES, MAX_DEPTH, downlink_event_data  # noqa: F401 - also for tools
from terminal.storage.database import wall_clock_ms

log = logging.getLogger(__name__)

DOWNLINK_COMMANDS = ("order_offer", "order_cancel", "alarm_confirm", "alarm_release", "params", "notice", "time_sync")
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
# CONNACK reason "Unsupported protocol version": 0x84 in MQTT 5; what paho reports when a
# 3.1.1-only broker answers a v5 CONNECT with return code 1.
_UNSUPPORTED_PROTOCOL = 0x84
SUPERVISE_S = 0.5             # how often the supervisor looks at the network thread
NET_RESTART_GRACE_S = 10.0    # a replaced network thread counts as healthy for this long


class LinkConfigError(ValueError):
    """A configuration the link cannot use; the message names the key."""


@dataclass(frozen=True)
class LinkConfig:
    """The ``[mqtt]`` configuration of the terminal (keys documented in docs/storage.md)."""

    terminal_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    prefix: str = "taxi"
    protocol: str = "5"  # "5" (falls back to 3.1.1 when refused) or "3.1.1"
    keepalive_s: int = 30
    username: str | None = None
    password: str | None = None
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    connect_timeout_s: float = 5.0

    @classmethod
    def from_dict(cls, data: dict) -> LinkConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LinkConfigError(f"mqtt: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "terminal_id" not in data:
            raise LinkConfigError("mqtt: terminal_id is required")
        config = cls(**data)
        config.validate()
        return config

    def validate(self) -> None:
        if not isinstance(self.terminal_id, str) or not _TOPIC_LEVEL.match(self.terminal_id):
            raise LinkConfigError(f"mqtt.terminal_id must be 1-64 of A-Z a-z 0-9 _ . -, got {self.terminal_id!r}")
        if not isinstance(self.prefix, str) or not _PREFIX.match(self.prefix):
            raise LinkConfigError(f"mqtt.prefix must be topic levels without wildcards, got {self.prefix!r}")
        if not isinstance(self.host, str) or not self.host:
            raise LinkConfigError("mqtt.host must be a host name or address")
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 65535:
            raise LinkConfigError(f"mqtt.port must be 1..65535, got {self.port!r}")
        if self.protocol not in ("5", "3.1.1"):
            raise LinkConfigError(f"mqtt.protocol must be \"5\" or \"3.1.1\", got {self.protocol!r}")
        if isinstance(self.keepalive_s, bool) or not isinstance(self.keepalive_s, int) or not 5 <= self.keepalive_s <= 65535:
            raise LinkConfigError(f"mqtt.keepalive_s must be an integer 5..65535, got {self.keepalive_s!r}")
        if (self.username is None) != (self.password is None):
            raise LinkConfigError("mqtt.username and mqtt.password go together")
        for key in ("reconnect_min_s", "reconnect_max_s", "connect_timeout_s"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise LinkConfigError(f"mqtt.{key} must be a positive number of seconds, got {value!r}")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise LinkConfigError("mqtt.reconnect_max_s must not be below mqtt.reconnect_min_s")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise LinkConfigError("mqtt.tls_cert and mqtt.tls_key go together")
        if self.tls_cert is not None and self.tls_ca is None:
            raise LinkConfigError("mqtt.tls_cert needs mqtt.tls_ca")
        for key in ("tls_ca", "tls_cert", "tls_key"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise LinkConfigError(f"mqtt.{key}: no such file {path}")

    # -- the topic tree -------------------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.terminal_id}"

    @property
    def status_topic(self) -> str:
        return f"{self.base}/status"

    @property
    def downlink_filter(self) -> str:
        return f"{self.base}/down/#"

    def up_topic(self, kind: str) -> str:
        return f"{self.base}/up/{kind}"


def falls_back(protocol: str, configured: str, reason_value: int) -> bool:
    """Whether a refused CONNECT means: try again with MQTT 3.1.1."""
    return protocol == "5" and configured == "5" and reason_value == _UNSUPPORTED_PROTOCOL


class MqttLink:
    """The connection. ``start()`` returns at once; connection state arrives as ``link`` events."""

    def __init__(
        self,
        config: LinkConfig | dict,
        events: queue.Queue,
        clock: Callable[[], int] = wall_clock_ms,
        software: str = "",
        max_bytes: int = MAX_BYTES,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        self.config = config if isinstance(config, LinkConfig) else LinkConfig.from_dict(config)
        self.config.validate()
        self._events = events
        self._clock = clock
        self.software = software
        self.protocol = self.config.protocol
        self._lock = threading.Lock()
        self._client: mqtt.Client | None = None
        self._up = False
        self._own_mids: set[int] = set()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.last_error: str | None = None
        self.connects = 0
        self.restarts = 0           # network threads found dead and replaced
        self.callback_faults = 0    # exceptions caught inside paho callbacks
        self.max_bytes, self.max_depth = max_bytes, max_depth
        self._net_started = False
        self._dead_since: float | None = None

    # -- public ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._up

    def start(self) -> None:
        if self._supervisor is not None:
            raise RuntimeError("link already started")
        self._supervisor = threading.Thread(target=self._supervise, name="mqtt-link", daemon=True)
        self._supervisor.start()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int | None:
        """Hand one message to paho; its mid, or None when the link is down (nothing sent)."""
        with self._lock:
            client, up = self._client, self._up
        if client is None or not up:
            return None
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return info.mid

    def stop(self, timeout_s: float = 3.0) -> None:
        """Say offline (retained), disconnect cleanly and end the network threads."""
        self._stopping.set()
        with self._lock:
            client, up = self._client, self._up
        if client is not None:
            if up:
                body = {"online": False, "ts": self._clock(), "terminal_id": self.config.terminal_id}
                info = client.publish(self.config.status_topic, _json(body), qos=1, retain=True)
                if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    info.wait_for_publish(timeout_s)
                client.disconnect()
            client.loop_stop()
        self._wake.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout_s)

    def status(self) -> dict:
        return {"up": self._up, "protocol": self.protocol, "connects": self.connects, "last_error": self.last_error,
                "restarts": self.restarts}

    def healthy(self) -> bool:
        """The link's threads are alive (or a dead one is being replaced); says nothing of the broker."""
        if self._stopping.is_set() or self._supervisor is None:
            return True
        if not self._supervisor.is_alive():
            return False
        dead = self._dead_since
        return dead is None or time.monotonic() - dead < NET_RESTART_GRACE_S


    # -- the connection supervisor -----------------------------------------------------------------

    def _supervise(self) -> None:
        # paho reconnects by itself; a new client is needed to change protocol version, or when
        # its network thread died (it must not, but then the terminal would be deaf for good).
        while True:
            # Under the lock: stop() never sees a client whose network thread is half started.
            with self._lock:
                if self._stopping.is_set():
                    return
                client = self._new_client()
                self._client = client
                client.connect_async(self.config.host, self.config.port, self.config.keepalive_s,
                                     **({"clean_start": True} if self.protocol == "5" else {}))
                client.loop_start()
                self._net_started = True
                self._dead_since = None
            log.info("mqtt: connecting to %s:%d (MQTT %s%s)", self.config.host, self.config.port, self.protocol,
                     ", TLS" if self.config.tls_ca else "")
            while not self._wake.wait(SUPERVISE_S):
                if client._thread is None and not self._stopping.is_set():  # paho's thread ended by itself
                    break
            if self._stopping.is_set():
                return
            if self._wake.is_set():
                self._wake.clear()
                client.disconnect()
                client.loop_stop()
                log.warning("mqtt: broker refused MQTT 5; using MQTT 3.1.1 from now on")
                self.protocol = "3.1.1"
                continue
            self._dead_since = time.monotonic()
            with self._lock:
                was_up, self._up = self._up, False
                self._own_mids.clear()
            self.restarts += 1
            log.error("mqtt: network thread died; starting a new connection (restart %d)", self.restarts)
            sock = client.socket()
            if sock is not None:
                try:
                    sock.close()   # the broker also drops it when the new connection takes the client id
                except OSError:
                    pass  # already closed with the thread
            if was_up:
                self._events.put(Event("link", self._clock(), {"up": False, "reason": "network thread died"}))

    def _new_client(self) -> mqtt.Client:
        cfg = self.config
        if self.protocol == "5":
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.terminal_id, protocol=mqtt.MQTTv5)
        else:
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.terminal_id,
                                 protocol=mqtt.MQTTv311, clean_session=True)
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls_ca is not None:
            client.tls_set(ca_certs=cfg.tls_ca, certfile=cfg.tls_cert, keyfile=cfg.tls_key)
        client.enable_logger(logging.getLogger("terminal.link.paho"))   # packets at DEBUG, errors at ERROR
        client.will_set(cfg.status_topic, _json({"online": False}), qos=1, retain=True)
        client.reconnect_delay_set(cfg.reconnect_min_s, cfg.reconnect_max_s)
        client.connect_timeout = cfg.connect_timeout_s
        client.max_inflight_messages_set(0)  # the outbox keeps the window, not paho
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_connect_fail = self._on_connect_fail
        return client

    # -- paho callbacks: network thread; they only put events on the queue ---------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            if reason_code.value in (0x86, 0x87, 4, 5):
                log.warning("mqtt: %s refused the terminal's credentials: %s", self.config.host, reason_code)
            self.last_error = f"connection refused: {reason_code}"
            if falls_back(self.protocol, self.config.protocol, reason_code.value):
                self._wake.set()
            else:
                log.warning("mqtt: %s", self.last_error)
            return
        # Forget what paho would resend on its own: the outbox republishes from disk.
        client.drop_out_messages()
        if self.protocol == "5":
            # Retain As Published: a command published with the retain flag shows it even when
            # delivered live, so the terminal refuses it then too (a retained command would be
            # replayed to every later connection).
            client.subscribe(self.config.downlink_filter, options=SubscribeOptions(qos=1, retainAsPublished=True))
        else:
            client.subscribe(self.config.downlink_filter, qos=1)
        body = {"online": True, "ts": self._clock(), "software": self.software,
                "terminal_id": self.config.terminal_id}
        info = client.publish(self.config.status_topic, _json(body), qos=1, retain=True)
        receive_maximum = getattr(properties, "ReceiveMaximum", None) if properties is not None else None
        maximum_packet_size = getattr(properties, "MaximumPacketSize", None) if properties is not None else None
        with self._lock:
            self._own_mids.add(info.mid)
            self._up = True
        self.connects += 1
        self.last_error = None
        log.info("mqtt: connected to %s:%d (MQTT %s%s), connection %d", self.config.host, self.config.port,
                 self.protocol, ", TLS" if self.config.tls_ca else "", self.connects)
        self._events.put(Event("link", self._clock(), {
            "up": True, "protocol": self.protocol, "receive_maximum": receive_maximum,
            "maximum_packet_size": maximum_packet_size,
            "session_present": bool(flags.session_present),
        }))

    def _on_connect_fail(self, client, userdata) -> None:
        error = f"cannot reach {self.config.host}:{self.config.port}"
        # paho calls this inside its ``except OSError``: the exception says why (refused, no
        # route, the broker's certificate not trusted...)
        exc = sys.exc_info()[1]
        if isinstance(exc, ssl.SSLCertVerificationError):
            error = (f"TLS with {self.config.host}:{self.config.port} failed: certificate verify failed: "
                     f"{exc.verify_message} (is mqtt.tls_ca the broker's CA?)")
        elif isinstance(exc, ssl.SSLError):
            error = f"TLS with {self.config.host}:{self.config.port} failed: {exc.reason or exc}"
        elif exc is not None:
            error = f"{error}: {exc.strerror or exc}" if isinstance(exc, OSError) else f"{error}: {exc}"
        if error != self.last_error:
            log.warning("mqtt: %s", error)
        self.last_error = error

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._lock:
            was_up, self._up = self._up, False
            self._own_mids.clear()
        if was_up:
            self.last_error = f"disconnected: {reason_code}"
            log.warning("mqtt: link down: %s", reason_code)
            self._events.put(Event("link", self._clock(), {"up": False, "reason": str(reason_code)}))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            if mid in self._own_mids:
                self._own_mids.discard(mid)
                return
        self._events.put(Event("puback", self._clock(), {
            "mid": mid, "ok": not reason_code.is_failure, "reason": str(reason_code),
        }))

    def _on_message(self, client, userdata, message) -> None:
        try:
            log.debug("mqtt: downlink on %s, %d bytes%s", message.topic, len(message.payload),
                      ", retained" if message.retain else "")
            data = downlink_event_data(message.topic, message.payload, self.config.base,
                                       retained=bool(message.retain), max_bytes=self.max_bytes,
                                       max_depth=self.max_depth)
            self._events.put(Event("platform", self._clock(), data))
        except Exception:  # noqa: BLE001 - a message must never end the network thread
            self.callback_faults += 1
            log.exception("mqtt: downlink message dropped")


def _json(body: dict) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
