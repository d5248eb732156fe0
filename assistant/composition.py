"""The composition root: builds every part from the settings and wires them together.

The embedding model, the store, the searcher, the LLM, the assistant, the document library and
the web app are built here and nowhere else; the CLI parses arguments, calls these and prints.
The core takes what they build as arguments, so tests can inject their own. This is the one
module allowed to import upward (ingest and ui: tests/test_layout.py); it imports them late,
so ``import assistant`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .settings import Settings

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from fastapi import FastAPI

    from ingest import IngestOptions, IngestReport, Library
    from vectorstore import ChunkStore, HybridSearcher, SentenceEmbedder

    from .core import Assistant

__all__ = [
    "build_assistant",
    "build_embedder",
    "build_library",
    "build_llm",
    "build_searcher",
    "build_store",
    "build_web_app",
    "fingerprint",
    "ingest_options",
    "page_text_reader",
    "run_ingest",
    "server_config",
]


# EMBEDDING_BACKEND auto, for a new store on a CPU: the fastest encoder that keeps quality
# (README, "Embedding backends"). onnx gives torch's vectors; onnx-int8 kept SciFact within 0.005
# but cost the blind dev split 0.05 of gold citations, so it is a choice, not the default.
DEFAULT_BACKEND = "onnx"


def build_embedder(settings: Settings) -> SentenceEmbedder:
    from vectorstore import SentenceEmbedder, cuda_available

    device = settings.embedding_device
    if device == "auto":
        device = "cuda" if cuda_available() else "cpu"
    backend = settings.embedding_backend
    if backend == "auto":
        backend = "torch" if device == "cuda" else DEFAULT_BACKEND
    elif backend != "torch" and device == "cuda":
        device = "cpu"  # ONNX runs on the CPU here (no onnxruntime-gpu)
    batch = settings.embedding_batch_size
    if device == "cuda" and "embedding_batch_size" not in settings.model_fields_set:
        batch = 256  # a GPU wants larger batches than the CPU's default
    return SentenceEmbedder(
        settings.embedding_model,
        batch_size=batch,
        device=device,
        backend=backend,
        cache_dir=settings.model_cache_dir,
    )


def fingerprint(settings: Settings, embedder: SentenceEmbedder) -> dict[str, str | int]:
    """What the vectors in the store depend on; a change means `ingest --rebuild`."""
    return {
        "model": embedder.model_id,
        "dim": embedder.dimension,
        "encoder": embedder.encoder,
        "chunk_max_tokens": min(settings.chunk_max_tokens, embedder.max_tokens),
        "chunk_min_tokens": settings.chunk_min_tokens,
    }


def build_store(settings: Settings, embedder: SentenceEmbedder) -> ChunkStore:
    """The store; with EMBEDDING_BACKEND auto, ``embedder`` takes the encoder an existing store
    was built with (its queries must be embedded as its passages were)."""
    from vectorstore import ChunkStore, connect

    client = connect(settings.data_dir, settings.chroma_url)
    store = ChunkStore(client, settings.collection, fingerprint(settings, embedder))
    if settings.embedding_backend == "auto":
        built_with = store.recorded_fingerprint().get("encoder")
        if built_with and built_with != embedder.encoder:
            embedder.use_encoder(str(built_with))
            store.fingerprint["encoder"] = embedder.encoder
    return store


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

    # langchain-openai sends the cap as "max_completion_tokens", which llama.cpp's server (and
    # other OpenAI-compatible ones) ignore: a model that loops then writes until LLM_TIMEOUT.
    # They read "max_tokens", which OpenAI's own API deprecates, so it goes to the others only.
    hosted = urlsplit(settings.llm_base_url).hostname == "api.openai.com"
    return ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key.get_secret_value() or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=0,
        temperature=0.0,
        max_tokens=settings.llm_max_tokens,
        extra_body=None if hosted else {"max_tokens": settings.llm_max_tokens},
    )


FROM_SETTINGS: Any = object()  # build_assistant's default: the LLM the settings name, if any


def build_assistant(
    settings: Settings, searcher: HybridSearcher | None = None, llm: Any = FROM_SETTINGS
) -> Assistant:
    """The assistant; ``llm`` is a LangChain chat model, None for none, or (by default) the
    endpoint named by the settings."""
    from .core import Assistant
    from .extractive import ExtractiveConfig

    searcher = searcher or build_searcher(settings, build_embedder(settings))
    return Assistant(
        searcher,
        llm=build_llm(settings) if llm is FROM_SETTINGS else llm,
        min_support=settings.llm_min_support,
        refusal_min_confidence=settings.llm_refusal_min_confidence,
        llm_passages=settings.llm_passages,
        k=settings.answer_passages,
        dated_passages=settings.answer_dated_passages,
        compose=ExtractiveConfig(
            max_sentences=settings.answer_max_sentences,
            document_base_url=settings.document_base_url,
        ),
        min_confidence=settings.answer_min_confidence,
        min_similarity=settings.abstain_min_similarity,
        fixed_scope=settings.scope(),
        trace_min_similarity=settings.trace_min_similarity,
    )


def ingest_options(settings: Settings) -> IngestOptions:
    """How the settings say files become passages (one object for every ingest call)."""
    from ingest import ChunkingConfig, IngestOptions
    from ingest.web import WebPolicy

    return IngestOptions(
        root=settings.corpus_dir,
        config=ChunkingConfig(settings.chunk_max_tokens, settings.chunk_min_tokens),
        catalog_file=settings.catalog_file,
        max_file_bytes=int(settings.max_file_mb * 2**20),
        max_passages=settings.max_passages_per_document,
        commit_every=settings.ingest_commit_chunks,
        web=WebPolicy(
            allow_private=settings.web_allow_private,
            allow_hosts=frozenset(settings.web_allow_hosts),
            timeout=settings.web_timeout,
            max_bytes=int(settings.max_file_mb * 2**20),
            delay_seconds=settings.web_delay_seconds,
        ),
        web_sources_file=settings.web_sources_file,
        ocr=settings.ocr,
    )


def run_ingest(
    settings: Settings,
    paths: list[Path],
    *,
    prune: bool = False,
    rebuild: bool = False,
    progress: bool = True,
    urls: list[str] | None = None,
) -> IngestReport:
    """What `policy-assistant ingest` does: sync ``paths`` and web pages ``urls`` into the
    store, then bring the lexical index up to date.

    ``rebuild`` ingests the whole corpus folder, and ``paths`` beside it, into a new generation
    of the store, switched in when complete: the old one answers until then, and stays whole
    if the rebuild is killed (``ChunkStore.rebuilding``). A rebuild never narrows the library
    to ``paths``."""
    from ingest import ingest

    embedder = build_embedder(settings)
    store = build_store(settings, embedder)
    options = ingest_options(settings)
    urls = list(urls or [])
    if rebuild:
        from vectorstore import is_url

        # the pages already in the library come along (the folder's sources file is read too)
        # (read under the store's own fingerprint: a rebuild is how settings that change the
        # vectors take effect)
        pages = [s for s in store.as_recorded().documents() if is_url(s)] if store.exists() else []
        with store.rebuilding() as fresh:
            everything = list(dict.fromkeys([settings.corpus_dir, *paths]))
            report = ingest(
                everything, fresh, embedder, options, progress=progress, urls=pages + urls
            )
    else:
        report = ingest(paths, store, embedder, options, prune=prune, progress=progress, urls=urls)
    build_searcher(settings, embedder, store).refresh(force=True)
    return report


def watch_corpus(
    settings: Settings,
    on_report: Callable[[IngestReport], None],
    *,
    stop: threading.Event | None = None,
) -> None:
    """What `ingest --watch` does after its first sync: sync CORPUS_DIR (pruning, so removed
    files leave the library) whenever its files change, and every SYNC_INTERVAL_MINUTES;
    ``on_report`` gets each sync's report. Blocks until ``stop`` is set (or interrupted)."""
    from ingest.watch import watch_folder

    def sync() -> None:
        on_report(run_ingest(settings, [settings.corpus_dir], prune=True, progress=False))

    watch_folder(
        settings.corpus_dir, sync, interval_minutes=settings.sync_interval_minutes, stop=stop
    )


def build_library(
    settings: Settings, embedder: SentenceEmbedder, store: ChunkStore, searcher: HybridSearcher
) -> Library:
    from ingest import Library

    return Library(
        store,
        embedder,
        searcher,
        ingest_options(settings),
        max_upload_bytes=int(settings.max_upload_mb * 2**20),
    )


def build_web_app(
    settings: Settings,
    *,
    chat: bool = True,
    sync: bool = True,
    embedder: SentenceEmbedder | None = None,
    progress: bool = False,
    watch: bool = False,
    background: bool = False,
) -> FastAPI:
    """The web app over one searcher, assistant and library.

    ``sync`` syncs CORPUS_DIR first; with ``background`` (what `serve` does) in a thread while
    the app already answers: documents become answerable as they are committed, and the health
    endpoint, the chat and every answer meanwhile say how far indexing is. ``progress`` prints
    the sync's start and its report on stderr. ``watch`` then keeps syncing the folder whenever its files change (and every
    SYNC_INTERVAL_MINUTES), through the library, so the Library tab shows the last sync."""
    import sys

    from ui.app import create_app

    embedder = embedder or build_embedder(settings)
    store = build_store(settings, embedder)
    sync = sync and settings.corpus_dir.is_dir()
    if sync:
        store.open(create=True)  # the app starts on an empty store while the sync fills it
    searcher = build_searcher(settings, embedder, store)
    searcher.refresh(force=True)
    library = build_library(settings, embedder, store, searcher)
    if sync:
        if progress:
            print(
                f"syncing the library with {settings.corpus_dir}"
                + (" in the background" if background else "")
                + " (new or changed documents are embedded; /api/v1/health shows how far it is)",
                file=sys.stderr,
            )

        def report(result: Any) -> None:
            if isinstance(result, Exception):
                print(f"library: the sync failed: {result}", file=sys.stderr)
                return
            print(f"library: {result.summary()}", file=sys.stderr)
            for source, reason in result.failed:
                print(f"failed: {source}: {reason}", file=sys.stderr)

        if background:
            library.sync_in_background(
                report, watch_minutes=settings.sync_interval_minutes if watch else None
            )
        else:
            report(library.reingest(prune=False, wait=True))
    if watch and not (sync and background) and settings.corpus_dir.is_dir():
        import threading

        threading.Thread(
            target=library.watch,
            args=(settings.sync_interval_minutes,),
            name="library-watch",
            daemon=True,
        ).start()
    assistant = build_assistant(settings, searcher)
    assistant.indexing_note = library.indexing_note
    return create_app(assistant, library, settings, chat=chat)


def remove_document(library: Library, source: str) -> str | None:
    """Remove one document; None when done, else the one-line reason (the CLI's door: the
    library's errors stay inside the composition root)."""
    from ingest import LibraryError

    try:
        library.remove(source)
    except LibraryError as exc:
        return str(exc)
    return None


def open_library(
    settings: Settings, embedder: SentenceEmbedder | None = None
) -> tuple[HybridSearcher, Library]:
    """The searcher and the library over the store as it is (no sync)."""
    embedder = embedder or build_embedder(settings)
    store = build_store(settings, embedder)
    searcher = build_searcher(settings, embedder, store)
    return searcher, build_library(settings, embedder, store, searcher)


def build_mcp_server(settings: Settings, embedder: SentenceEmbedder | None = None) -> Any:
    """The MCP server (``ui.mcp_server``) over the synced store, for the stdio transport."""
    from ui.mcp_server import build_mcp

    searcher, library = open_library(settings, embedder)
    return build_mcp(build_assistant(settings, searcher), library, settings)


def server_config(app: FastAPI, settings: Settings) -> Any:
    """The uvicorn configuration of ``serve`` (``ui.app.server_config``)."""
    from ui.app import server_config as config

    return config(app, settings)


def page_text_reader(corpus_dir: Path) -> Any:
    """(source, page) -> text of that page of the original file, read again with the readers
    (what the citation-validity check compares quotes with)."""
    from ingest.readers import read_document

    cache: dict[str, list] = {}

    def page_text(source: str, page: int | None) -> str | None:
        if source not in cache:
            path = corpus_dir / source
            try:
                cache[source] = read_document(path, path.read_bytes()).blocks
            except Exception:
                cache[source] = []
        blocks = cache[source]
        if not blocks:
            return None
        return "\n".join(b.text for b in blocks if page is None or b.page == page)

    return page_text
