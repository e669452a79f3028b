"""Results of a POST kept for the GET that follows it (POST-redirect-GET): the counter's and the search's
answers are shown at a URL that carries only a random token, never the searched name or number, and only
to the user who asked, for a few minutes."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import Any

from fastapi import Request

LIFETIME_SECONDS = 900
SIZE = 2000


class Held:
    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[str, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, owner: str, value: Any) -> str:
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._items[token] = (owner, time.monotonic() + LIFETIME_SECONDS, value)
            while len(self._items) > SIZE:
                self._items.popitem(last=False)
        return token

    def get(self, owner: str, token: str | None) -> Any:
        if not token:
            return None
        with self._lock:
            item = self._items.get(token)
        if item is None or item[0] != owner or item[1] < time.monotonic():
            return None
        return item[2]


def held(request: Request) -> Held:
    app_state = request.app.state
    if not hasattr(app_state, "vx_held"):
        app_state.vx_held = Held()
    h: Held = app_state.vx_held
    return h
