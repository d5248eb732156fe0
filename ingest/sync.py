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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vectorstore import Chunk, ChunkStore, DocumentRecord, StoreDamagedError, is_url

from . import chunking
from .catalog import read_catalog
from .chunking import ChunkingConfig
from .errors import IngestError, TooLargeError
from .metadata import stamp, with_metadata
from .prepare import MAX_PASSAGES_PER_DOCUMENT, prepare_document
from .readers import SUPPORTED_SUFFIXES, read_document
from .web import (
    Fetcher,
    PageGoneError,
    WebPolicy,
    WebSource,
    expand,
    read_web_sources,
    suffix_for,
)

__all__ = ["IngestOptions", "IngestReport", "SyncProgress", "collect_files", "ingest"]

EMBED_BUFFER = 256  # chunks embedded together; big enough to keep the encoder's batches full


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
    relabelled: list[str] = field(default_factory=list)  # unchanged files, metadata re-derived

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        duplicates = f", {len(self.duplicates)} duplicate(s) skipped" if self.duplicates else ""
        rebuilt = "store rebuilt (it could not be read); " if self.rebuilt else ""
        relabelled = f", metadata of {len(self.relabelled)} re-read" if self.relabelled else ""
        return (
            f"{rebuilt}added {len(self.added)}, updated {len(self.updated)}, unchanged "
            f"{len(self.unchanged)}, removed {len(self.removed)}, failed {len(self.failed)}; "
            f"{self.chunks_written} chunks written in {self.elapsed:.1f} s{duplicates}{relabelled}"
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
            "relabelled": self.relabelled,
            "elapsed": round(self.elapsed, 3),
        }


@dataclass
class SyncProgress:
    """How far a running sync is, for the health endpoint and the chat: ``total`` documents
    (files, then web pages as their lists are read), ``done`` of them finished (unchanged,
    committed, failed or skipped as duplicates)."""

    total: int = 0
    report: IngestReport | None = None
    running: bool = False

    @property
    def done(self) -> int:
        r = self.report
        if r is None:
            return 0
        count = len(r.unchanged) + len(r.added) + len(r.updated) + len(r.failed)
        return min(self.total, count + len(r.duplicates))

    def message(self) -> str:
        if self.running and not self.total:
            return "listing the documents to index"
        return f"indexed {self.done} of {self.total} documents"

    def as_json(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "done": self.done,
            "total": self.total,
            "message": self.message(),
        }


@dataclass
class _Pending:
    record: DocumentRecord
    chunks: list[Chunk]
    texts: list[str]  # what is embedded
    status: str  # added or updated


def _current(known: DocumentRecord | None, content_hash: str) -> bool:
    """The committed version has this content and was cut by this chunker: nothing to do."""
    return known is not None and (known.content_hash, known.chunking) == (
        content_hash,
        chunking.CHUNKER_VERSION,
    )


def _source_name(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def collect_files(
    paths: Iterable[Path],
    root: Path,
    catalog_file: str | Sequence[str],
    report: IngestReport | None = None,
) -> list[Path]:
    """Files named, and files found in folders named (hidden files and the catalogue skipped).

    A file found in a folder whose real path lies outside that folder (a symlink, or a file
    under a linked folder) is not read: a link in the corpus folder must not make the library
    quote, and serve, a file from elsewhere. It gets a note in ``report``."""
    found: dict[Path, None] = {}
    skipped = {catalog_file} if isinstance(catalog_file, str) else set(catalog_file)
    for path in map(Path, paths):
        if not path.is_dir():
            found[path] = None  # named on purpose (the CLI's paths, an upload)
            continue
        base = path.resolve()
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path)
            if any(p.startswith(".") for p in rel.parts) or child.name in skipped:
                continue
            try:
                real = child.resolve(strict=True)
            except (OSError, RuntimeError):  # a dangling link, a loop
                real = None
            if real is not None and real.is_relative_to(base):
                if real.is_file():
                    found[child] = None
            elif report is not None:
                report.notes.append(
                    (_source_name(child, root), "a link that leaves the corpus folder: not read")
                )
    return list(found)


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


@dataclass(frozen=True)
class IngestOptions:
    """How files become passages: everything ``ingest`` needs besides the store and the model.

    The composition root builds it from the settings (``assistant.composition.ingest_options``).
    """

    root: Path  # sources are named relative to it; the folder synced when no path is given
    config: ChunkingConfig = field(default_factory=ChunkingConfig)
    catalog_file: str = "SOURCES.md"
    max_file_bytes: int = 50 * 2**20
    max_passages: int = MAX_PASSAGES_PER_DOCUMENT
    commit_every: int = EMBED_BUFFER
    web: WebPolicy = field(default_factory=WebPolicy)
    web_sources_file: str = "SOURCES.web"  # in root: pages synced with the folder
    ocr: bool = True  # read PDF pages without text by OCR when Tesseract is installed


def ingest(
    paths: Sequence[Path],
    store: ChunkStore,
    embedder: Any,
    options: IngestOptions,
    *,
    prune: bool = False,
    progress: bool = True,
    wait: bool = True,
    urls: Sequence[str] = (),
    tracker: SyncProgress | None = None,
) -> IngestReport:
    """Sync ``paths`` (files or folders; none: ``options.root``) and web pages ``urls`` into
    ``store``. Syncing ``options.root`` also syncs the pages its ``web_sources_file`` lists.

    ``embedder`` is a ``vectorstore.SentenceEmbedder`` (``encode`` and ``tokenizer``). Documents
    are embedded in groups of about ``options.commit_every`` chunks; each group is committed
    before the next is read, so an interrupted run keeps every group it finished. The store's
    write lock is held throughout: another writing process makes this wait, or raise
    ``StoreBusyError`` when ``wait`` is false. A store Chroma cannot read is rebuilt from every
    file of ``options.root`` into a new generation, switched in when complete. ``tracker``, when
    given, follows the run (``SyncProgress``).

    Files are parsed while the group before them is embedded and committed (in one thread
    beside the caller's), so the encoder does not wait for the parsers.
    """
    with store.writing(wait=wait):
        run = _Run(store, embedder, options, progress, tracker)
        if run.open():
            run.sync(list(paths), prune, list(urls))
        else:
            with store.rebuilding() as fresh:
                run.store = fresh
                run.sync([options.root], prune, list(urls))
            run.store = store
        return run.report


class _Run:
    """One ingest: its report, its progress bars and the documents waiting to be embedded."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Any,
        options: IngestOptions,
        progress: bool,
        tracker: SyncProgress | None = None,
    ):
        self.store, self.embedder, self.options, self.progress = store, embedder, options, progress
        self.root = Path(options.root)
        self.report = IngestReport()
        self.tracker = tracker or SyncProgress()
        self.tracker.report, self.tracker.total = self.report, 0
        self.started = time.perf_counter()
        self.config = ChunkingConfig(
            min(options.config.max_tokens, embedder.max_tokens), options.config.min_tokens
        )
        self.pending: list[_Pending] = []
        self.buffered = 0
        self._encoding: Future[None] | None = None  # the group being embedded and committed

    def open(self) -> bool:
        """Open (or create) the store; False (noted in the report) when it is torn.

        Chroma left a torn index behind a killed writer and can read nothing back: ``ingest``
        then starts over from the files, all of them, whatever subset was asked for, in a new
        generation beside the torn one (``ChunkStore.rebuilding``), which answers from BM25
        until the new one is complete.
        """
        try:
            self.store.open(create=True)
            self.store.verify()
        except StoreDamagedError as exc:
            self.report.rebuilt = True
            self.report.notes.append(("(store)", f"{exc.problem}: rebuilding it from {self.root}"))
            return False
        self.store.collect_garbage()
        return True

    def sync(self, paths: list[Path], prune: bool, urls: list[str] | None = None) -> None:
        from tqdm.auto import tqdm

        options = self.options
        self.committed = self.store.documents()
        self.catalog = read_catalog(self.root / options.catalog_file)
        folders = paths or ([] if urls else [self.root])
        sources = [WebSource("page", u) for u in urls or []]
        if any(Path(p).resolve() == self.root.resolve() for p in folders):
            sources += read_web_sources(self.root / options.web_sources_file)
        skipped = (options.catalog_file, options.web_sources_file)
        files = collect_files(folders, self.root, skipped, self.report)
        self.owners = _content_owners(files, self.root, self.committed, options.max_file_bytes)
        self.file_bar = tqdm(total=len(files), unit="file", desc="files", disable=not self.progress)
        self.chunk_bar = tqdm(total=0, unit="chunk", desc="chunks", disable=not self.progress)
        self.tracker.total = len(files)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-encode")
        self.pool = pool
        try:
            for path in files:
                self.read(path)
                if self.buffered >= options.commit_every:
                    self.flush()
            if sources:
                self.fetcher = Fetcher(options.web)
                try:
                    urls, failed = expand(sources, self.fetcher)
                    self.report.failed.extend(failed)
                    self.tracker.total += len(urls) + len(failed)
                    for url in urls:
                        self.read_url(url, prune)
                        if self.buffered >= options.commit_every:
                            self.flush()
                finally:
                    self.fetcher.close()
            self.flush()
            self.wait_for_encoder()
            if prune:
                self.prune()
        finally:
            try:
                self.wait_for_encoder()  # no write may outlive the run (and its store lock)
            finally:
                pool.shutdown()
                self.file_bar.close()
                self.chunk_bar.close()
        self.report.elapsed = time.perf_counter() - self.started

    def read(self, path: Path) -> None:
        """Parse and chunk one file into ``pending``, or note why it is skipped or failed."""
        report, source = self.report, _source_name(path, self.root)
        self.file_bar.set_postfix_str(source[-40:], refresh=False)
        try:
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                read_document(path, b"")  # raises the unsupported-type error
            size = path.stat().st_size
            if size > self.options.max_file_bytes:
                raise TooLargeError(
                    f"file of {size / 2**20:.1f} MiB is over the "
                    f"{self.options.max_file_bytes / 2**20:.0f} MiB limit"
                )
            data = path.read_bytes()
            content_hash = hashlib.sha256(data).hexdigest()
            known = self.committed.get(source)
            if _current(known, content_hash):
                report.unchanged.append(source)  # (a file cut by an older chunker is re-chunked)
                self.relabel(path, source, data, known)
                return
            original = self.owners.get(content_hash, source)
            if original != source:
                report.duplicates.append((source, original))
                report.notes.append((source, f"same content as {original}: not indexed twice"))
                if known:  # its earlier, different content is no longer in the file
                    self.store.remove_document(source)
                    report.removed.append(source)
                return
            prepared = self.prepare(path, source, data, content_hash, known)
        except IngestError as exc:
            report.failed.append((source, str(exc)))
            return
        except OSError as exc:
            report.failed.append((source, f"cannot read the file: {exc.strerror or exc}"))
            return
        except Exception as exc:  # a reader library choking on a malformed file
            reason = str(exc).splitlines()[0][:200] if str(exc) else ""
            kind = path.suffix.lstrip(".").upper()
            report.failed.append(
                (source, f"malformed {kind} file: {type(exc).__name__} {reason}".strip())
            )
            return
        finally:
            self.file_bar.update(1)
        self.queue(*prepared, known)

    def prepare(
        self, path: Path, source: str, data: bytes, content_hash: str, known: DocumentRecord | None
    ) -> tuple[DocumentRecord, list[Chunk], list[str], list[str]]:
        """``prepare_document`` under this run's options (a file's, or a page's bytes)."""
        return prepare_document(
            path,
            source,
            data,
            content_hash,
            self.config,
            self.embedder.tokenizer,
            self.catalog,
            max_passages=self.options.max_passages,
            previous=known,
            ocr=self.options.ocr,
        )

    def queue(
        self,
        record: DocumentRecord,
        chunks: list[Chunk],
        texts: list[str],
        notes: list[str],
        known: DocumentRecord | None,
    ) -> None:
        """A prepared document waiting to be embedded and committed by ``flush``."""
        self.report.notes.extend((record.source, n) for n in notes)
        self.pending.append(_Pending(record, chunks, texts, "updated" if known else "added"))
        self.chunk_bar.total += len(chunks)
        self.chunk_bar.refresh()
        self.buffered += len(chunks)

    def read_url(self, url: str, prune: bool) -> None:
        """Fetch one page (conditionally when it is known) into ``pending``, or note why not."""
        report = self.report
        known = self.committed.get(url)
        self.file_bar.set_postfix_str(url[-40:], refresh=False)
        try:
            fetched = self.fetcher.fetch(
                url, known.etag if known else None, known.last_modified if known else None
            )
            if fetched.not_modified and known:
                report.unchanged.append(url)
                if known.misses:
                    self.store.update_record(replace(known, misses=None))
                return
            content_hash = hashlib.sha256(fetched.data).hexdigest()
            if _current(known, content_hash):
                report.unchanged.append(url)
                if (known.etag, known.last_modified, known.misses) != (
                    fetched.etag,
                    fetched.last_modified,
                    None,
                ):
                    self.store.update_record(
                        replace(
                            known,
                            etag=fetched.etag,
                            last_modified=fetched.last_modified,
                            misses=None,
                        )
                    )
                return
            page = Path(f"page{suffix_for(fetched.content_type, fetched.url)}")
            prepared = self.prepare(page, url, fetched.data, content_hash, known)
        except PageGoneError as exc:
            if known:
                misses = (known.misses or 0) + 1
                if prune and misses >= 2:
                    self.store.remove_document(url)
                    report.removed.append(url)
                    return
                self.store.update_record(replace(known, misses=misses))
            report.failed.append((url, str(exc)))
            return
        except IngestError as exc:
            report.failed.append((url, str(exc)))
            return
        except Exception as exc:  # a reader library choking on a malformed page
            reason = str(exc).splitlines()[0][:200] if str(exc) else ""
            report.failed.append((url, f"malformed page: {type(exc).__name__} {reason}".strip()))
            return
        record, *rest = prepared
        validators = {"etag": fetched.etag, "last_modified": fetched.last_modified}
        self.queue(replace(record, url=fetched.url, **validators), *rest, known)

    def relabel(self, path: Path, source: str, data: bytes, known: DocumentRecord) -> None:
        """Re-derive an unchanged document's metadata when the catalogue's values for it (or
        the derivation) changed since it was committed: a parse, no embedding."""
        entry = self.catalog.get(source) or self.catalog.get(path.name)
        if known.meta_stamp == stamp(entry):
            return
        try:
            parsed = read_document(path, data, ocr=False)  # the first page's text is enough
        except Exception:  # it was read when committed; the metadata stays as it was
            return
        self.store.update_record(with_metadata(known, entry, parsed, known))
        self.report.relabelled.append(source)

    def flush(self) -> None:
        """Hand what is pending to the encoder thread (once it has committed the group before),
        which embeds and commits it, document by document; reading goes on meanwhile."""
        self.wait_for_encoder()
        pending, self.pending, self.buffered = self.pending, [], 0
        if pending:
            self._encoding = self.pool.submit(self._commit, pending)

    def wait_for_encoder(self) -> None:
        """Until the group being embedded is committed; its error, if it failed, is raised."""
        encoding, self._encoding = self._encoding, None
        if encoding is not None:
            encoding.result()

    def _commit(self, pending: list[_Pending]) -> None:
        texts = [t for p in pending for t in p.texts]
        if texts:
            # identical passages (a repeated disclaimer, a file of one line repeated) are
            # embedded once
            unique = {t: i for i, t in enumerate(dict.fromkeys(texts))}
            encoded = self.embedder.encode(list(unique))
            vectors = [encoded[unique[t]] for t in texts]
            offset = 0
            for item in pending:
                n = len(item.chunks)
                self.store.add_chunks(item.chunks, vectors[offset : offset + n])
                offset += n
                self.store.commit_document(item.record)
                done = self.report.added if item.status == "added" else self.report.updated
                done.append(item.record.source)
                self.report.chunks_written += n
                self.chunk_bar.update(n)

    def prune(self) -> None:
        """Remove the documents whose files are gone."""
        kept = set(self.report.added) | set(self.report.updated)
        for source in sorted(set(self.committed) - kept):
            if is_url(source):  # a page: removed when it is gone twice (read_url), never here
                continue
            if not (self.root / source).exists():
                self.store.remove_document(source)
                self.report.removed.append(source)
