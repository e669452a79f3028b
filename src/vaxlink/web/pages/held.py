"""Results of a POST kept for the GET that follows it (POST-redirect-GET): the counter's and the search's
answers are shown at a URL that carries only a random token, never the searched name or number, and only
to the user who asked, for a few minutes."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

LIFETIME_SECONDS = 900
SIZE = 2000
T = TypeVar("T")


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


def app_kept(request: Request, name: str, make: Callable[[], T]) -> T:
    """The app's one `name`, made at its first use."""
    app_state = request.app.state
    if not hasattr(app_state, name):
        setattr(app_state, name, make())
    kept: T = getattr(app_state, name)
    return kept


def held(request: Request) -> Held:
    return app_kept(request, "vx_held", Held)
