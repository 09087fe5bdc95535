"""Desk state across restarts (application room): the emergency alarm, the order desk and the platform parameters.

One JSON value under the kv key ``platform.desks``, written in the same transaction
as the command, key, tick or meter change that changed it and the reports that change
sends (``PlatformDesk.apply``, reached through ``Terminal.carry_out``); a change that
sends nothing is saved when it happens or at the end of the loop turn (``save_if_changed``).
``load()`` gives it back at start; an alarm that was active is then reported again.
"""

from __future__ import annotations

import json

KEY = "platform.desks"


class DeskState:
    def __init__(self, storage) -> None:
        self.storage = storage
        self._saved: str | None = storage.kv_get(KEY)
        self._seen: str | None = None     # repr of the value last written or found unchanged

    def load(self) -> dict | None:
        if self._saved is None:
            return None
        try:
            value = json.loads(self._saved)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def save(self, snapshot: dict) -> None:
        # Asked several times a second: the value's repr (made in C, no sorting) is compared
        # first. Equal reprs of plain data are equal JSON; a repr that differs only in the
        # order of keys costs the JSON comparison below and no write.
        seen = repr(snapshot)
        if seen == self._seen:
            return
        text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False)
        if text != self._saved:
            self.storage.kv_set(KEY, text)
            self._saved = text
        self._seen = seen

    def save_if_changed(self, snapshot: dict) -> None:
        self.save(snapshot)
