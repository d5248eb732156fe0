"""The store's errors, re-exported for the doors (CLI, HTTP API, UI), which do not import vectorstore.

Each message is one line a user can act on, e.g. "the store is empty: run `policy-assistant ingest`".
"""

from __future__ import annotations

from vectorstore.errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreEmptyError,
    StoreError,
    StoreMismatchError,
    StoreUnavailableError,
)

__all__ = [
    "StoreBusyError",
    "StoreDamagedError",
    "StoreEmptyError",
    "StoreError",
    "StoreMismatchError",
    "StoreUnavailableError",
]
