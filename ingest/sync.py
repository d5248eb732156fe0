"""The ingest job: read files, chunk them, embed them and sync them into the store.

Unchanged files (same content hash) are skipped, changed ones replaced, and with ``prune`` the
documents whose files are gone are removed. A file with the same bytes as a document already in
the library under another name is not indexed twice: it is listed in ``duplicates`` (with a note)
and the first copy stays the one that answers. Chunks of many documents are embedded in shared
batches (the encoder is the bottleneck); each document is committed once all its chunks are
written, so an interrupted run leaves whole documents only.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vectorstore import Chunk, ChunkStore, DocumentRecord, StoreDamagedError, chunk_id

from .catalog import CatalogEntry, read_catalog
from .chunking import CHUNKER_VERSION, ChunkingConfig, DraftChunk, embedding_text, pack
from .errors import IngestError, TooLargeError
from .readers import SUPPORTED_SUFFIXES, read_document
from .structure import annotate

__all__ = ["IngestReport", "ingest", "prepare_document"]

EMBED_BUFFER = 256  # chunks embedded together; big enough to keep the encoder's batches full
MAX_CHUNK_CHARS = 4000  # a 200-token passage of real text is under 1,500 characters


@dataclass
class IngestReport:
    """What an ingest did; ``failed`` holds (source, one-line reason) pairs."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (source, the original)
    chunks_written: int = 0
    elapsed: float = 0.0
    rebuilt: bool = False  # the store was unreadable and was rebuilt from the corpus folder

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        duplicates = f", {len(self.duplicates)} duplicate(s) skipped" if self.duplicates else ""
        rebuilt = "store rebuilt (it could not be read); " if self.rebuilt else ""
        return (
            f"{rebuilt}added {len(self.added)}, updated {len(self.updated)}, unchanged "
            f"{len(self.unchanged)}, removed {len(self.removed)}, failed {len(self.failed)}; "
            f"{self.chunks_written} chunks written in {self.elapsed:.1f} s{duplicates}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "notes": [{"source": s, "note": n} for s, n in self.notes],
            "duplicates": [{"source": s, "original": o} for s, o in self.duplicates],
            "chunks_written": self.chunks_written,
            "rebuilt": self.rebuilt,
            "elapsed": round(self.elapsed, 3),
        }


@dataclass
class _Pending:
    record: DocumentRecord
    chunks: list[Chunk]
    texts: list[str]  # what is embedded
    status: str  # added or updated


def _source_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def collect_files(paths: Iterable[Path], root: Path, catalog_file: str) -> list[Path]:
    """Files named, and files found in folders named (hidden files and the catalogue skipped)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                hidden = any(p.startswith(".") for p in rel.parts)
                if child.is_file() and not hidden and child.name != catalog_file:
                    found.append(child)
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _content_owners(
    files: Sequence[Path], root: Path, committed: dict[str, DocumentRecord], max_file_bytes: int
) -> dict[str, str]:
    """content hash -> the source that holds those bytes in the library (the others with the
    same bytes are duplicates): a committed document whose file is still there comes first,
    then the files of this run in order. A committed file that is part of this run counts with
    its current bytes, so swapping two files' contents is not mistaken for a duplicate."""
    current: dict[str, str] = {}
    for path in files:
        try:
            if path.suffix.lower() in SUPPORTED_SUFFIXES and path.stat().st_size <= max_file_bytes:
                current[_source_name(path, root)] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            continue  # reported by the main loop
    owners: dict[str, str] = {}
    for source in sorted(committed):
        if source in current:
            owners.setdefault(current[source], source)
        elif (root / source).is_file():
            owners.setdefault(committed[source].content_hash, source)
    for source, content_hash in current.items():
        owners.setdefault(content_hash, source)
    return owners


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
) -> tuple[DocumentRecord, list[Chunk], list[str], list[str]]:
    """Parse and chunk one file: (record, chunks, texts to embed, notes)."""
    parsed = read_document(path, data)
    entry = catalog.get(source) or catalog.get(path.name)
    title = (entry.title if entry and entry.title else None) or parsed.title
    drafts = _bounded(
        pack(annotate(parsed.blocks), title, config, tokenizer), title, config, tokenizer
    )
    if not drafts:
        raise IngestError("no text to index")
    chunks = [
        Chunk(
            id=chunk_id(source, content_hash, i, CHUNKER_VERSION),
            text=d.text,
            source=source,
            title=title,
            content_hash=content_hash,
            chunk_index=i,
            page=d.page,
            locator=d.locator,
            chunking=CHUNKER_VERSION,
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
        chunking=CHUNKER_VERSION,
    )
    return record, chunks, texts, parsed.notes


def ingest(
    paths: Sequence[Path],
    store: ChunkStore,
    embedder: Any,
    *,
    root: Path,
    config: ChunkingConfig | None = None,
    prune: bool = False,
    catalog_file: str = "SOURCES.md",
    max_file_bytes: int = 50 * 1024 * 1024,
    progress: bool = True,
    commit_every: int = EMBED_BUFFER,
    wait: bool = True,
) -> IngestReport:
    """Sync ``paths`` (files or folders) into ``store``; sources are named relative to ``root``.

    ``embedder`` is a ``vectorstore.SentenceEmbedder`` (``encode`` and ``tokenizer``). Documents
    are embedded in groups of about ``commit_every`` chunks; each group is committed before the
    next is read, so an interrupted run keeps every group it finished. The store's write lock is
    held throughout: another writing process makes this wait, or raise ``StoreBusyError`` when
    ``wait`` is false.
    """
    from tqdm.auto import tqdm

    with store.writing(wait=wait):
        started = time.perf_counter()
        report = IngestReport()
        try:
            store.open(create=True)
            store.verify()
        except StoreDamagedError as exc:
            # Chroma left a torn index behind a killed writer and can read nothing back: start over
            # from the files, all of them, whatever subset was asked for.
            report.rebuilt = True
            report.notes.append(("(store)", f"{exc.problem}: rebuilding it from {root}"))
            store.drop()
            store.open(create=True)
            paths = [root]
        store.collect_garbage()
        committed = store.documents()
        catalog = read_catalog(Path(root) / catalog_file)
        files = collect_files(paths or [root], Path(root), catalog_file)
        owners = _content_owners(files, Path(root), committed, max_file_bytes)
        config = config or ChunkingConfig()
        config = ChunkingConfig(min(config.max_tokens, embedder.max_tokens), config.min_tokens)

        pending: list[_Pending] = []
        buffered = 0
        file_bar = tqdm(total=len(files), unit="file", desc="files", disable=not progress)
        chunk_bar = tqdm(total=0, unit="chunk", desc="chunks", disable=not progress)

        def flush() -> None:
            nonlocal pending, buffered
            texts = [t for p in pending for t in p.texts]
            if texts:
                # identical passages (a repeated disclaimer, a file of one line repeated) are
                # embedded once
                unique = {t: i for i, t in enumerate(dict.fromkeys(texts))}
                encoded = embedder.encode(list(unique))
                vectors = [encoded[unique[t]] for t in texts]
                offset = 0
                for item in pending:
                    n = len(item.chunks)
                    store.add_chunks(item.chunks, vectors[offset : offset + n])
                    offset += n
                    store.commit_document(item.record)
                    (report.added if item.status == "added" else report.updated).append(
                        item.record.source
                    )
                    report.chunks_written += n
                    chunk_bar.update(n)
            pending, buffered = [], 0

        try:
            for path in files:
                source = _source_name(path, Path(root))
                file_bar.set_postfix_str(source[-40:], refresh=False)
                try:
                    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                        read_document(path, b"")  # raises the unsupported-type error
                    size = path.stat().st_size
                    if size > max_file_bytes:
                        raise TooLargeError(
                            f"file of {size / 2**20:.1f} MiB is over the {max_file_bytes / 2**20:.0f} MiB limit"
                        )
                    data = path.read_bytes()
                    content_hash = hashlib.sha256(data).hexdigest()
                    known = committed.get(source)
                    if known and (known.content_hash, known.chunking) == (
                        content_hash,
                        CHUNKER_VERSION,
                    ):  # a file cut by an older chunker is re-chunked (and re-embedded)
                        report.unchanged.append(source)
                        continue
                    original = owners.get(content_hash, source)
                    if original != source:
                        report.duplicates.append((source, original))
                        report.notes.append(
                            (source, f"same content as {original}: not indexed twice")
                        )
                        if known:  # its earlier, different content is no longer in the file
                            store.remove_document(source)
                            report.removed.append(source)
                        continue
                    record, chunks, texts, notes = prepare_document(
                        path, source, data, content_hash, config, embedder.tokenizer, catalog
                    )
                except IngestError as exc:
                    report.failed.append((source, str(exc)))
                    continue
                except OSError as exc:
                    report.failed.append((source, f"cannot read the file: {exc.strerror or exc}"))
                    continue
                except Exception as exc:  # a reader library choking on a malformed file
                    reason = str(exc).splitlines()[0][:200] if str(exc) else ""
                    report.failed.append(
                        (
                            source,
                            f"malformed {path.suffix.lstrip('.').upper()} file: {type(exc).__name__} {reason}".strip(),
                        )
                    )
                    continue
                finally:
                    file_bar.update(1)
                report.notes.extend((source, n) for n in notes)
                pending.append(_Pending(record, chunks, texts, "updated" if known else "added"))
                chunk_bar.total += len(chunks)
                chunk_bar.refresh()
                buffered += len(chunks)
                if buffered >= commit_every:
                    flush()
            flush()
            if prune:
                for source in sorted(set(committed) - set(report.added) - set(report.updated)):
                    if not (Path(root) / source).exists():
                        store.remove_document(source)
                        report.removed.append(source)
        finally:
            file_bar.close()
            chunk_bar.close()
        report.elapsed = time.perf_counter() - started
        return report
