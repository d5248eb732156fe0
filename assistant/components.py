"""Building the heavy parts from settings: the embedding model, the store and the searcher.

The composition root (the CLI, later the server) calls these; the core takes what they build as
arguments, so tests can inject their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import Settings

if TYPE_CHECKING:
    from vectorstore import ChunkStore, HybridSearcher, SentenceEmbedder

    from .core import Assistant

__all__ = [
    "build_llm",
    "build_assistant",
    "build_embedder",
    "build_searcher",
    "build_store",
    "fingerprint",
]


def build_embedder(settings: Settings) -> SentenceEmbedder:
    from vectorstore import SentenceEmbedder

    return SentenceEmbedder(settings.embedding_model, batch_size=settings.embedding_batch_size)


def fingerprint(settings: Settings, embedder: SentenceEmbedder) -> dict[str, str | int]:
    """What the vectors in the store depend on; a change means `ingest --rebuild`."""
    return {
        "model": embedder.model_id,
        "dim": embedder.dimension,
        "chunk_max_tokens": min(settings.chunk_max_tokens, embedder.max_tokens),
        "chunk_min_tokens": settings.chunk_min_tokens,
    }


def build_store(settings: Settings, embedder: SentenceEmbedder) -> ChunkStore:
    from vectorstore import ChunkStore, connect

    client = connect(settings.data_dir, settings.chroma_url)
    return ChunkStore(client, settings.collection, fingerprint(settings, embedder))


def build_searcher(
    settings: Settings, embedder: SentenceEmbedder, store: ChunkStore | None = None
) -> HybridSearcher:
    from vectorstore import HybridSearcher

    store = store or build_store(settings, embedder)
    store.open()
    return HybridSearcher(
        store,
        embedder,
        lexical_dir=settings.data_dir / "lexical" / settings.collection,
        fusion=settings.fusion,
        alpha=settings.fusion_alpha,
        depth=settings.fusion_depth,
        refresh_seconds=settings.store_refresh_seconds,
    )


def build_llm(settings: Settings) -> Any:
    """A LangChain chat model for the configured OpenAI-compatible endpoint, or None."""
    if not settings.llm_base_url:
        return None
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key.get_secret_value() or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=0.0,
        max_tokens=settings.llm_max_tokens,
    )


FROM_SETTINGS: Any = object()  # build_assistant's default: the LLM the settings name, if any


def build_assistant(
    settings: Settings, searcher: HybridSearcher | None = None, llm: Any = FROM_SETTINGS
) -> Assistant:
    """The assistant; ``llm`` is a LangChain chat model, None for none, or (by default) the
    endpoint named by the settings."""
    from .compose import ComposeConfig
    from .core import Assistant

    searcher = searcher or build_searcher(settings, build_embedder(settings))
    return Assistant(
        searcher,
        llm=build_llm(settings) if llm is FROM_SETTINGS else llm,
        min_support=settings.llm_min_support,
        k=settings.answer_passages,
        compose=ComposeConfig(
            max_sentences=settings.answer_max_sentences,
            min_dense=settings.abstain_min_similarity,
            min_coverage=settings.abstain_min_coverage,
            document_base_url=settings.document_base_url,
        ),
    )
