"""The hybrid search as a LangChain retriever: passages become Documents with their citation data."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

__all__ = ["HybridRetriever"]


class HybridRetriever(BaseRetriever):
    """Wraps a ``vectorstore.HybridSearcher``; metadata carries source, page, locator and scores."""

    searcher: Any
    k: int = 8

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        docs = []
        for hit in self.searcher.search(query, k=self.k):
            c = hit.chunk
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
                    },
                )
            )
        return docs
