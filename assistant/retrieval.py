"""The hybrid search as a LangChain retriever: passages become Documents with their citation data."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

__all__ = ["DOCUMENT_FIELDS", "HybridRetriever", "chunk_document"]

DOCUMENT_FIELDS = ("body", "doc_type", "date", "symbol")


class HybridRetriever(BaseRetriever):
    """Wraps a ``vectorstore.HybridSearcher``; metadata carries source, page, locator, scores
    and the document's metadata (issuing body, type, date, symbol). ``scope`` (a
    ``vectorstore.Scope``) limits the documents searched."""

    searcher: Any
    k: int = 8
    scope: Any = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.searcher.search(query, k=self.k, scope=self.scope)
        records = self.searcher.documents  # as the search (which refreshes them) saw them
        return [
            chunk_document(
                hit.chunk,
                records.get(hit.chunk.source),
                score=hit.score,
                dense_score=hit.dense_score,
                lexical_score=hit.lexical_score,
            )
            for hit in hits
        ]


def chunk_document(chunk: Any, record: Any, **scores: float | None) -> Document:
    """A stored passage as a LangChain Document: what a citation is made from."""
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            "source": chunk.source,
            "title": chunk.title,
            "page": chunk.page,
            "locator": chunk.locator,
            "chunk_index": chunk.chunk_index,
            **scores,
            **{f: getattr(record, f, None) for f in DOCUMENT_FIELDS},
        },
    )
