"""Server-sent events from a synchronous answer stream, holding one answer slot while it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anyio

__all__ = ["stream_in_slot"]

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
