"""Hybrid search: dense (Chroma) and lexical (BM25) candidates, fused, limited to committed documents."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .chroma import ChunkStore
from .errors import StoreDamagedError
from .fusion import reciprocal_rank_fusion, weighted_score_fusion
from .lexical import INDEX_CONFIG, LexicalIndex
from .records import Chunk, DocumentRecord, chunk_id
from .scope import Scope

log = logging.getLogger(__name__)

__all__ = ["HybridSearcher", "SearchHit", "lexical_text", "referenced_units"]

# "Article 23", "paragraph 13", "recital 102", "section 5": a question that names a unit of a
# document wants that unit; candidates whose locator is that unit get a boost in fusion.
_UNIT = re.compile(
    r"\b(article|artikel|art\.|paragraph|para\.|paragraphe|absatz|recital|section|rule)\s+"
    r"(\d{1,3}[a-z]?(?:\.\d{1,2})?)",
    re.I,
)
_UNIT_NAMES = {"artikel": "article", "art.": "article", "para.": "paragraph",
               "paragraphe": "paragraph", "absatz": "paragraph"}  # fmt: skip
LOCATOR_BOOST = 0.2  # on the 0-1 fused scale; bench/retrieval.py has no such queries


def referenced_units(query: str) -> list[tuple[str, str]]:
    """("article", "23")-style references named in ``query``."""
    return [
        (_UNIT_NAMES.get(kind.lower(), kind.lower()), number)
        for kind, number in _UNIT.findall(query)
    ]


def _locator_matches(locator: str | None, units: list[tuple[str, str]]) -> bool:
    if not locator:
        return False
    low = locator.lower()
    return any(
        re.search(rf"\b{kind}\s+{re.escape(number)}(?![\d.])", low) for kind, number in units
    )


@dataclass(frozen=True)
class SearchHit:
    """A passage found by search, with its fused score."""

    chunk: Chunk
    score: float
    dense_score: float | None = None  # cosine similarity, when the dense list had the chunk
    lexical_score: float | None = None  # raw BM25, when the lexical list had the chunk

    def as_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "source": c.source,
            "title": c.title,
            "page": c.page,
            "locator": c.locator,
            "score": round(self.score, 6),
            "text": c.text,
        }


def lexical_text(chunk: Chunk) -> str:
    """What BM25 indexes: the passage with its document title and locator."""
    return " ".join(p for p in (chunk.title, chunk.locator or "", chunk.text) if p)


def _settings_hash(fingerprint: dict[str, Any], epoch: int) -> Any:
    h = hashlib.sha256(repr(sorted(fingerprint.items())).encode() + INDEX_CONFIG.encode())
    if epoch:  # generation 0 keeps the signatures saved before generations existed
        h.update(f"generation {epoch}\n".encode())
    return h


def manifest_signature(
    records: dict[str, DocumentRecord], fingerprint: dict[str, Any], epoch: int = 0
) -> str:
    """What the lexical index was built from; a rebuilt generation (``epoch``) counts as a
    change even with the same documents (a rebuild re-reads titles from the catalogue)."""
    h = _settings_hash(fingerprint, epoch)
    for key in sorted(r.key for r in records.values()):
        h.update(key.encode() + b"\n")
    return h.hexdigest()


def segment_space(fingerprint: dict[str, Any], epoch: int = 0) -> str:
    """The folder name of the lexical segments of one generation and settings: another
    generation (a rebuild) starts from scratch."""
    return "segments-" + _settings_hash(fingerprint, epoch).hexdigest()[:20]


class HybridSearcher:
    """Searches ``store`` with ``embedder`` (a LangChain ``Embeddings``) and a BM25 index.

    The set of committed documents is re-read at most every ``refresh_seconds``; when it changed
    (this or another process ingested), the lexical index is updated: the documents new to it
    are read from the segments cached under ``lexical_dir`` or from Chroma.
    A rebuild switched in by another process is followed the same way: the store reopens on the
    new generation and the lexical index is rebuilt from it.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: Any,
        lexical_dir: Path,
        *,
        fusion: Literal["weighted", "rrf"] = "weighted",
        alpha: float = 0.5,
        depth: int = 100,
        refresh_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.lexical_dir = Path(lexical_dir)
        self.fusion = fusion
        self.alpha = alpha
        self.depth = depth
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._visible: frozenset[str] = frozenset()
        self._lexical: LexicalIndex | None = None
        self._generation = store.generation
        self._epoch = store.epoch
        self.documents: dict[str, DocumentRecord] = {}

    # --- keeping in step with the store -----------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Re-read the manifest; update the lexical index if the documents changed (only the
        documents new to it are read and tokenised)."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._checked_at < self.refresh_seconds:
                return
            self.store.follow()  # another process switched in a rebuilt generation: reopen
            records = self.store.documents()
            signature = manifest_signature(records, self.store.fingerprint, self.store.epoch)
            if self._lexical is None or self._lexical.signature != signature:
                if (
                    self._lexical is not None
                    and self.store.generation == self._generation
                    and self.store.epoch == self._epoch
                ):
                    # another process changed the documents: an embedded store must reload
                    # its vector index to see their passages
                    self.store.reconnect()
                self._lexical = self._load_or_build_lexical(records, signature)
            self._generation, self._epoch = self.store.generation, self.store.epoch
            self.documents = records
            self._visible = frozenset(r.key for r in records.values())
            self._checked_at = now

    def _load_or_build_lexical(
        self, records: dict[str, DocumentRecord], signature: str
    ) -> LexicalIndex:
        """The index of ``records``: the current one's segments kept (same generation), the
        others from the segments cached under ``lexical_dir``, the rest read from Chroma."""
        # another generation (a rebuild) has another folder: sync starts it from scratch
        folder = self.lexical_dir / segment_space(self.store.fingerprint, self.store.epoch)
        total = sum(max(r.chunks, 0) for r in records.values())
        return LexicalIndex.sync(
            self._lexical,
            records.values(),
            signature,
            folder,
            lambda new: self._passages(new, total),
        )

    def _passages(
        self, records: list[DocumentRecord], total: int
    ) -> Iterator[tuple[DocumentRecord, list[tuple[str, str]]]]:
        """(record, [(chunk id, lexical text)]) of each of ``records``: a document at a time,
        or every chunk in one pass when they are a good part of the library (``total`` chunks)."""
        many = len(records) > 16 and sum(max(r.chunks, 0) for r in records) > total / 4
        if not many:
            for record in records:
                # by id (ingest derives them from the version), a lookup; by key, a filter
                # over the whole collection (0.25 s at 100,000 passages)
                ids = [
                    chunk_id(record.source, record.content_hash, i, record.chunking)
                    for i in range(max(record.chunks, 0))
                ]
                chunks = [c for c in self.store.get_chunks(ids) if c.key == record.key]
                if not chunks or len(chunks) != record.chunks:  # ids made otherwise
                    chunks = self.store.chunks_of(record)
                yield record, [(c.id, lexical_text(c)) for c in chunks]
            return
        wanted = {r.key: r for r in records}
        found: dict[str, list[Chunk]] = {key: [] for key in wanted}
        for chunk in self.store.iter_chunks():
            if chunk.key in found:
                found[chunk.key].append(chunk)
        for key, chunks in found.items():
            chunks.sort(key=lambda c: c.chunk_index)
            yield wanted[key], [(c.id, lexical_text(c)) for c in chunks]

    # --- searching --------------------------------------------------------------------------------
    def allowed(self, scope: Scope | None) -> frozenset[str] | None:
        """The documents ``scope`` admits (None: no scope, the whole library)."""
        if not scope:
            return None
        self.refresh()
        return scope.sources(self.documents.values())

    def dense(
        self, query: str, k: int, allowed: frozenset[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        self.refresh()
        if allowed is not None and not allowed:
            return []
        vector = self.embedder.embed_query(query)
        # a scope is a Chroma filter, so the k nearest are the k nearest in scope
        where = {"source": {"$in": sorted(allowed)}} if allowed is not None else None
        # over-fetch a little: chunks of uncommitted versions are dropped below
        try:
            hits = self.store.dense_search(vector, k + 16, where=where)
        except StoreDamagedError as exc:  # the vector index only: passages may still be readable
            log.error("dense search failed, answering from the lexical index only: %s", exc)
            return []
        return [(c, s) for c, s in hits if self._is_visible(c)][:k]

    def lexical(
        self, query: str, k: int, allowed: frozenset[str] | None = None
    ) -> list[tuple[str, float]]:
        self.refresh()
        assert self._lexical is not None
        if allowed is not None and not allowed:
            return []
        return self._lexical.search(query, k, allowed)

    def search(self, query: str, k: int = 8, scope: Scope | None = None) -> list[SearchHit]:
        """The ``k`` best passages for ``query``, best first; only from the documents ``scope``
        admits when one is given (retrieval is filtered, so k come back when k match)."""
        depth = max(self.depth, k)
        allowed = self.allowed(scope)
        dense = self.dense(query, depth, allowed)
        lexical = self.lexical(query, depth, allowed)
        dense_ranking = [(c.id, s) for c, s in dense]
        if self.fusion == "rrf":
            fused = reciprocal_rank_fusion([dense_ranking, lexical])
        else:
            fused = weighted_score_fusion(dense_ranking, lexical, self.alpha)
        known = {c.id: c for c, _ in dense}
        units = referenced_units(query)
        if units:
            fused = self._boost_units(fused, units, known)
        top = fused[:k]
        missing = [id_ for id_, _ in top if id_ not in known]
        known.update({c.id: c for c in self.store.get_chunks(missing)})
        dense_scores, lexical_scores = dict(dense_ranking), dict(lexical)
        return [
            SearchHit(known[id_], score, dense_scores.get(id_), lexical_scores.get(id_))
            for id_, score in top
            if id_ in known
            and self._is_visible(known[id_])
            and (allowed is None or known[id_].source in allowed)
        ]

    def _boost_units(
        self, fused: list[tuple[str, float]], units: list[tuple[str, str]], known: dict[str, Chunk]
    ) -> list[tuple[str, float]]:
        pool = fused[: self.depth]
        known.update(
            {c.id: c for c in self.store.get_chunks([i for i, _ in pool if i not in known])}
        )
        boost = LOCATOR_BOOST if self.fusion == "weighted" else 1.0 / 61
        boosted = [
            (i, s + boost if i in known and _locator_matches(known[i].locator, units) else s)
            for i, s in pool
        ]
        return sorted(boosted, key=lambda kv: kv[1], reverse=True) + fused[self.depth :]

    def term_weights(self, text: str) -> dict[str, float]:
        """idf of each index term of ``text`` (question words left out)."""
        self.refresh()
        assert self._lexical is not None
        return self._lexical.term_weights(text)

    def term_coverage(self, query: str, texts: list[str]) -> float:
        """Share of the query's idf weight whose terms occur in ``texts`` (0 to 1).

        Low when the rare words of a question (a name, a number) are nowhere in the passages
        found: a sign that the library does not hold the answer.
        """
        self.refresh()
        assert self._lexical is not None
        weights = self._lexical.term_weights(query)
        total = sum(weights.values())
        if not total:
            return 0.0
        present = self._lexical.terms(" ".join(texts))
        return sum(w for t, w in weights.items() if t in present) / total

    def _is_visible(self, chunk: Chunk) -> bool:
        return chunk.key in self._visible
