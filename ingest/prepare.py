"""One file made ready for the store: read, annotated with its structure, cut into passages
within the limits, and given its manifest record (nothing is written here)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vectorstore import Chunk, DocumentRecord, chunk_id

from . import chunking
from .catalog import CatalogEntry
from .chunking import ChunkingConfig, DraftChunk, embedding_text, pack
from .errors import IngestError, TooManyPassagesError
from .metadata import with_metadata
from .readers import read_document
from .structure import annotate

__all__ = ["MAX_CHUNK_CHARS", "MAX_PASSAGES_PER_DOCUMENT", "prepare_document"]

MAX_CHUNK_CHARS = 4000  # a 200-token passage of real text is under 1,500 characters
# the largest document of the default corpus (the AI Act) makes 1,055 passages; a 15 MB file of one
# repeated word made 24,000 and took 3 GB
MAX_PASSAGES_PER_DOCUMENT = 5000
OCR_NOTE = "text read by OCR"


def _bounded(
    drafts: list[DraftChunk], title: str, config: ChunkingConfig, tokenizer: Any
) -> list[DraftChunk]:
    """Drafts cut to at most ``MAX_CHUNK_CHARS`` characters each.

    Chunks are sized in tokens, but a "word" longer than the tokenizer takes (a run of thousands
    of letters without a space) is a single unknown token: without this cap a 2 MB line of such
    text became one 2 MB passage, quoted whole in answers. Pieces are cut at spaces where there
    are any; a piece whose embedded text would leave the model window keeps its chunk uncut.
    """
    out: list[DraftChunk] = []
    for draft in drafts:
        if len(draft.text) <= MAX_CHUNK_CHARS:
            out.append(draft)
            continue
        pieces = _cut(draft.text, MAX_CHUNK_CHARS)
        texts = [embedding_text(title, draft.heading, draft.locator, p) for p in pieces]
        sizes = [len(ids) for ids in tokenizer(texts)["input_ids"]]
        if max(sizes) > config.max_tokens:
            out.append(draft)
            continue
        out.extend(DraftChunk(p, draft.page, draft.locator, draft.heading) for p in pieces)
    return out


def _cut(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at the last space before the
    limit when there is one in its second half."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", limit // 2, limit + 1)
        cut = cut if cut > 0 else limit
        piece, text = text[:cut].strip(), text[cut:].strip()
        if piece:
            pieces.append(piece)
    if text:
        pieces.append(text)
    return pieces


def prepare_document(
    path: Path,
    source: str,
    data: bytes,
    content_hash: str,
    config: ChunkingConfig,
    tokenizer: Any,
    catalog: dict[str, CatalogEntry],
    *,
    max_passages: int = MAX_PASSAGES_PER_DOCUMENT,
    previous: DocumentRecord | None = None,
    ocr: bool = True,
) -> tuple[DocumentRecord, list[Chunk], list[str], list[str]]:
    """Parse and chunk one file: (record, chunks, texts to embed, notes).

    ``previous`` is the committed version of the same document: an editor's metadata on it
    carries over to the new one.

    A document that would make more than ``max_passages`` passages is refused; the check runs
    first on a lower bound (a passage holds at most ``config.max_tokens`` tokens and every word
    is at least one), so a file of megabytes of one repeated word is refused before it is
    tokenised, in memory and time it costs to read."""
    parsed = read_document(path, data, ocr=ocr)
    words = sum(len(b.text.split()) for b in parsed.blocks)
    if words // config.max_tokens > max_passages:
        raise TooManyPassagesError(
            f"about {words // config.max_tokens:,} passages or more, over the limit of "
            f"{max_passages:,} a document (MAX_PASSAGES_PER_DOCUMENT)"
        )
    entry = catalog.get(source) or catalog.get(path.name)
    title = (entry.title if entry and entry.title else None) or parsed.title
    drafts = _bounded(
        pack(annotate(parsed.blocks), title, config, tokenizer), title, config, tokenizer
    )
    if not drafts:
        raise IngestError("no text to index")
    if parsed.ocr_pages:  # the citation says the text was read by OCR (it may hold misreadings)
        drafts = [
            replace(d, locator=f"{d.locator}, {OCR_NOTE}" if d.locator else OCR_NOTE)
            if d.page in parsed.ocr_pages
            else d
            for d in drafts
        ]
    if len(drafts) > max_passages:
        raise TooManyPassagesError(
            f"{len(drafts):,} passages, over the limit of {max_passages:,} a document "
            "(MAX_PASSAGES_PER_DOCUMENT)"
        )
    chunks = [
        Chunk(
            id=chunk_id(source, content_hash, i, chunking.CHUNKER_VERSION),
            text=d.text,
            source=source,
            title=title,
            content_hash=content_hash,
            chunk_index=i,
            page=d.page,
            locator=d.locator,
            chunking=chunking.CHUNKER_VERSION,
        )
        for i, d in enumerate(drafts)
    ]
    texts = [embedding_text(title, d.heading, d.locator, d.text) for d in drafts]
    record = DocumentRecord(
        source=source,
        title=title,
        content_hash=content_hash,
        chunks=len(chunks),
        kind=parsed.kind,
        size=len(data),
        ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
        pages=parsed.pages,
        url=entry.url if entry else None,
        notes="; ".join(parsed.notes) or None,
        chunking=chunking.CHUNKER_VERSION,
    )
    return with_metadata(record, entry, parsed, previous), chunks, texts, parsed.notes
