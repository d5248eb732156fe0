"""Guards for public use: admin token check, API keys, per-client rate limit, framing policy."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from typing import Any

from fastapi import HTTPException, Request

__all__ = ["RateLimiter", "check_admin", "client_key", "frame_ancestors"]


def check_admin(request: Request, token: str) -> None:
    """Refuse unless ``Authorization: Bearer <token>`` matches (compared in constant time)."""
    if not token:
        raise HTTPException(403, "changing the library is switched off: no ADMIN_TOKEN is set")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "a valid admin token is required", {"WWW-Authenticate": "Bearer"})


def client_key(request: Request | Any) -> str:
    """Who a request counts against: its API key if it has one, else its address.

    ``request`` is Starlette's or Gradio's (``gr.Request``: the same ``headers`` and ``client``).
    """
    key = request.headers.get("x-api-key")
    if key:
        return "key:" + key
    return "ip:" + (request.client.host if request.client else "unknown")


class RateLimiter:
    """At most ``per_minute`` events per client in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(client, deque())
            while events and now - events[0] >= 60:
                events.popleft()
            if len(events) >= self.per_minute:
                retry = max(1, int(60 - (now - events[0])) + 1)
                raise HTTPException(
                    429, "too many questions; please wait a moment", {"Retry-After": str(retry)}
                )
            events.append(now)
            if len(self._events) > 10000:  # forget idle clients
                for k in [k for k, v in self._events.items() if not v or now - v[-1] > 60]:
                    del self._events[k]


def frame_ancestors(origins: list[str]) -> str:
    return "frame-ancestors " + " ".join(["'self'", *origins])
