"""The hybrid search as a LangChain retriever: passages become Documents with their citation data."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

__all__ = ["DOCUMENT_FIELDS", "HybridRetriever"]

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
        docs = []
        records = self.searcher.documents
        for hit in self.searcher.search(query, k=self.k, scope=self.scope):
            c = hit.chunk
            record = records.get(c.source)
            docs.append(
                Document(
                    id=c.id,
                    page_content=c.text,
                    metadata={
                        "source": c.source,
                        "title": c.title,
                        "page": c.page,
                        "locator": c.locator,
                        "chunk_index": c.chunk_index,
                        "score": hit.score,
                        "dense_score": hit.dense_score,
                        "lexical_score": hit.lexical_score,
                        **{f: getattr(record, f, None) for f in DOCUMENT_FIELDS},
                    },
                )
            )
        return docs
