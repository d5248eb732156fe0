"""Errors raised by the store; each message is one line a user can act on."""

from __future__ import annotations

__all__ = ["StoreError", "StoreMismatchError", "StoreEmptyError", "StoreUnavailableError"]


class StoreError(Exception):
    """Base class of every store error."""


class StoreMismatchError(StoreError):
    """The store was built with another embedding model or other chunking settings."""


class StoreEmptyError(StoreError):
    """The store holds no documents yet."""


class StoreUnavailableError(StoreError):
    """The Chroma server named by CHROMA_URL cannot be reached."""
