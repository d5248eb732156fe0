"""Keeping the library in step with its folder: a sync whenever files in it change (debounced),
and, with an interval, also on a clock (for the web pages its SOURCES.web lists).

One sync at a time: each runs under the store's write lock like any ingest, and a change that
arrives during a sync leads to one more sync after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["watch_folder"]

log = logging.getLogger(__name__)
DEBOUNCE_MS = 1500  # changes within this time are one change (a copy of many files)


def watch_folder(
    folder: Path,
    sync: Callable[[], object],
    *,
    interval_minutes: float = 0.0,
    stop: threading.Event | None = None,
) -> None:
    """Run ``sync`` each time files under ``folder`` change, and every ``interval_minutes``
    when it is above 0, until ``stop`` is set (or Ctrl-C). A failing sync is logged and the
    watch goes on."""
    from watchfiles import watch

    timeout_ms = int(interval_minutes * 60_000) if interval_minutes > 0 else 5_000
    for changes in watch(
        folder,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        rust_timeout=timeout_ms,
        yield_on_timeout=interval_minutes > 0,
    ):
        try:
            sync()
        except Exception:  # a busy store, an unreachable site: the next change tries again
            log.exception("the sync after %s failed", "a change" if changes else "the interval")
