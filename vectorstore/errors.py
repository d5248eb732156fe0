"""Errors raised by the store; each message is one line a user can act on."""

from __future__ import annotations

__all__ = [
    "StoreDamagedError",
    "StoreEmptyError",
    "StoreError",
    "StoreMismatchError",
    "StoreBusyError",
    "StoreUnavailableError",
]


class StoreError(Exception):
    """Base class of every store error."""


class StoreMismatchError(StoreError):
    """The store was built with another embedding model or other chunking settings."""


class StoreEmptyError(StoreError):
    """The store holds no documents yet."""


class StoreUnavailableError(StoreError):
    """The Chroma server named by CHROMA_URL cannot be reached."""


class StoreBusyError(StoreError):
    """Another process is writing to the embedded store."""


class StoreDamagedError(StoreError):
    """Chroma cannot read the collection's vector index (left torn by a killed writer).

    Chroma (1.x, embedded) writes its HNSW index files in place every ``sync_threshold`` records; a
    process killed in the middle leaves files it refuses to load, and then every read of the
    collection fails (chroma-core/chroma#5366). ``policy-assistant ingest`` rebuilds the store from
    the corpus folder when it meets this error.

    ``problem`` says what Chroma could not read; the message adds what to do about it.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"{problem}; an ingest was probably killed while it wrote its index: "
            "run `policy-assistant ingest` to rebuild the store"
        )
        self.problem = problem
