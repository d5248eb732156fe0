"""Server-sent events from a synchronous answer stream, holding one answer slot while it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from starlette.responses import StreamingResponse

__all__ = ["EventStreamResponse", "stream_in_slot"]

_END = object()


async def stream_in_slot(slots: anyio.CapacityLimiter, events: Iterator[str]) -> AsyncIterator[str]:
    """Yield ``events`` (produced in a worker thread) while holding one of ``slots``.

    The slot is taken on behalf of a token of this stream, not of the current task: when a
    visitor disconnects, Starlette closes this generator from another task, and an
    ``async with slots`` would then fail to release (the slot leaked, and after
    MAX_CONCURRENT_ANSWERS such visitors every answer waited forever). The worker step in
    flight is waited for, then the producer is closed, so it stops (an LLM stream included).
    """
    borrower = object()
    await slots.acquire_on_behalf_of(borrower)
    try:
        while True:
            event = await anyio.to_thread.run_sync(next, events, _END)
            if event is _END:
                return
            yield event
    finally:
        slots.release_on_behalf_of(borrower)
        close = getattr(events, "close", None)
        if close is not None:
            close()


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` that closes its event generator when the response ends, however
    it ends. Starlette only stops iterating when a visitor disconnects; the generator, paused
    at a ``yield``, would be closed by the garbage collector at some later time, and the
    answer slot it holds stayed taken until then."""

    def __init__(self, events: AsyncIterator[str], **kwargs: Any) -> None:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(events, media_type="text/event-stream", headers=headers, **kwargs)
        self._events = events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self._events, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await close()
