"""Where passages live: Chroma (embedded or server), the BM25 index and hybrid search over both.

Imports none of the project's other packages. Heavy libraries (torch, chromadb, bm25s) load on
first use, so importing this package is cheap.
"""

from .chroma import ChunkStore, connect
from .embeddings import SentenceEmbedder, cuda_available
from .errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreEmptyError,
    StoreError,
    StoreMismatchError,
    StoreUnavailableError,
)
from .hybrid import HybridSearcher, SearchHit
from .records import Chunk, DocumentRecord, chunk_id, doc_key, is_url
from .scope import Scope, ScopeError

__all__ = [
    "Chunk",
    "ChunkStore",
    "DocumentRecord",
    "HybridSearcher",
    "Scope",
    "ScopeError",
    "SearchHit",
    "SentenceEmbedder",
    "cuda_available",
    "StoreBusyError",
    "StoreDamagedError",
    "StoreEmptyError",
    "StoreError",
    "StoreMismatchError",
    "StoreUnavailableError",
    "chunk_id",
    "connect",
    "doc_key",
    "is_url",
]
