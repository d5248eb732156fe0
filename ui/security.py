"""Guards for public use: admin token check, API keys, per-client rate limits, body limits,
framing policy."""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from fastapi import HTTPException, Request

__all__ = [
    "AdminGuard",
    "BodyLimit",
    "RateLimiter",
    "client_key",
    "presented_key",
    "frame_ancestors",
]


def client_key(request: Request | Any, api_keys: Collection[str] = ()) -> str:
    """Who a request counts against: its API key when it is one of ``api_keys``, else its
    address. Any other key counts as no key: a visitor who sends a fresh made-up key with
    each question is still one client.

    ``request`` is Starlette's or Gradio's (``gr.Request``: the same ``headers`` and ``client``).
    The address is the peer's, or the one a trusted proxy forwarded (TRUSTED_PROXIES, applied
    by the server: ``ui.app.server_config``).
    """
    key = presented_key(request)
    if key and key in api_keys:
        return "key:" + key
    return "ip:" + (request.client.host if request.client else "unknown")


def presented_key(request: Request | Any) -> str | None:
    """The API key a request carries: ``X-API-Key``, or ``Authorization: Bearer`` (OpenAI's)."""
    headers = request.headers or {}
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def lacks_api_key(request: Request | Any, api_keys: Collection[str]) -> bool:
    """True when API keys are configured and the request carries none of them."""
    return bool(api_keys) and presented_key(request) not in api_keys


class RateLimiter:
    """At most ``per_minute`` events per client in any sliding minute (0: no limit)."""

    def __init__(self, per_minute: int, message: str = "too many questions; please wait a moment"):
        self.per_minute = per_minute
        self.message = message
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count an event of ``client``; 429 with Retry-After when it is over the limit."""
        retry = self._count(client, record=True)
        if retry:
            raise HTTPException(429, self.message, {"Retry-After": str(retry)})

    def exceeded(self, client: str) -> int:
        """Seconds until ``client`` may act again (0: it may now); counts nothing."""
        return self._count(client, record=False)

    def record(self, client: str) -> None:
        self._count(client, record=True, refuse=False)

    def _count(self, client: str, record: bool, refuse: bool = True) -> int:
        if self.per_minute <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            events = self._events.setdefault(client, deque())
            while events and now - events[0] >= 60:
                events.popleft()
            if refuse and len(events) >= self.per_minute:
                return max(1, int(60 - (now - events[0])) + 1)
            if record:
                events.append(now)
            if len(self._events) > 10000:  # forget idle clients
                for k in [k for k, v in self._events.items() if not v or now - v[-1] > 60]:
                    del self._events[k]
        return 0


class AdminGuard:
    """The admin token check: ``Authorization: Bearer <token>`` compared in constant time, and
    a client that sent ``failures_per_minute`` wrong tokens gets 429 until the minute is over
    (guessing is slowed to that rate; other clients are not affected)."""

    def __init__(self, token: str, failures_per_minute: int = 10) -> None:
        self.token = token
        self.failures = RateLimiter(failures_per_minute)

    def matches(self, given: str, client: str) -> bool:
        """Whether ``given`` is the token; False without comparing while ``client`` is barred."""
        if not self.token or self.failures.exceeded(client):
            return False
        if hmac.compare_digest(given.encode(), self.token.encode()):
            return True
        self.failures.record(client)
        return False

    def check(self, request: Request, api_keys: Collection[str] = ()) -> None:
        """Refuse the request unless it carries the token: 403 (no token set), 429, 401."""
        if not self.token:
            raise HTTPException(403, "changing the library is switched off: no ADMIN_TOKEN is set")
        client = client_key(request, api_keys)
        retry = self.failures.exceeded(client)
        if retry:
            raise HTTPException(
                429, "too many wrong admin tokens; please wait", {"Retry-After": str(retry)}
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not self.matches(given, client):
            raise HTTPException(
                401, "a valid admin token is required", {"WWW-Authenticate": "Bearer"}
            )


class BodyLimit:
    """ASGI middleware: a request body over its route's limit gets 413, counted on the bytes
    that arrive (a declared Content-Length over it is refused before anything is read; a
    chunked body without one is cut off at the limit instead of being read whole).

    ``limit_for(method, path)`` gives the limit in bytes."""

    def __init__(self, app: Any, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self.refuse(send, limit)
            return
        received, refused, started = 0, False, False

        async def counted() -> dict:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await self.refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: dict) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out; what the app says after the cut-off is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, guarded)

    @staticmethod
    async def refuse(send: Callable, limit: int) -> None:
        shown = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit // 1024} KiB"
        body = json.dumps({"error": f"request body over the {shown} limit"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def frame_ancestors(origins: list[str]) -> str:
    return "frame-ancestors " + " ".join(["'self'", *origins])
