"""Platform-link room, JT/T links: the links a configuration asks for, each on its own outbox view.

``build(config, events, clock)`` returns one ``(JttLink, LinkOutbox)`` per JT/T link
named in ``[links] use``; the caller attaches the views to the terminal's outbox
(``Outbox.add_links``) and starts the links. ``LinkOutbox`` is the outbox view of one
link: the outbox's own delivery rules, plus sending the blind-area batch the link
gathered at the end of every pump.
"""

from __future__ import annotations

from pathlib import Path

from terminal.link.jtt import uplink
from terminal.link.jtt_link import tcp_link
from terminal.link.outbox import Outbox

JT_LINKS = ("jt808", "jt905")


class LinkOutbox(Outbox):
    def pump(self) -> int:
        # Publish before deleting what was acknowledged: the delete is a durable write, and an
        # alarm waiting behind it would wait for the disk. Publishing goes by cursor, so the
        # rows still present are not sent again. The delete itself mostly rides with the next
        # message stored (Outbox.enqueue).
        with self._ack_lock:
            held, held_at, self._acked = self._acked, self._acked_at, []
        sent = super().pump()
        flush = getattr(self.publisher, "flush", None)
        if flush is not None:
            flush()
        with self._ack_lock:
            if held:
                self._acked, self._acked_at = held + self._acked, held_at
        self._delete_acked_if_due()
        return sent


def vehicle_of(config: dict) -> uplink.Vehicle:
    t = config["terminal"]
    return uplink.Vehicle(plate=t.get("plate", ""), business_license=t.get("company", ""),
                          driver_cert=t.get("driver_cert", ""))


def build(config: dict, events, clock, storage) -> list[tuple[tcp_link.JttLink, LinkOutbox]]:
    built = []
    for name in config.get("links", {}).get("use", ["mqtt"]):
        if name not in JT_LINKS:
            continue
        cfg = dict(config[name])
        if not cfg.get("auth_file"):
            cfg["auth_file"] = str(Path(config["terminal"]["state_dir"]) / f"{name}.auth")
        link = tcp_link.JttLink(name, name, cfg, events, clock, vehicle=vehicle_of(config))
        view = LinkOutbox(storage, link, capacity=config["outbox"]["capacity"], window=cfg["window"], link=name)
        built.append((link, view))
    return built
