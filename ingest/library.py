"""The document library as the doors see it: list, add, remove and re-ingest documents.

One ingest runs at a time in a process (and one writing process at a time on an embedded
store: ``ChunkStore.writing``); the searcher is refreshed after each change, so new documents
are answerable at once.

An upload is first written under a hidden staging folder (``uploads/.incoming``), which a sync
of the corpus folder does not read; it is moved to its generated name inside
``CORPUS_DIR/uploads`` only when its own ingest begins, and deleted whenever it is not added
whole: refused by the ingest (its content checked against its extension there), a duplicate of
a document already in the library (same bytes under another name: refused with the original's
source, so the library never answers with two copies), or an unexpected error. Removing a
document removes that document only; it never syncs the rest of the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vectorstore import ChunkStore, HybridSearcher, StoreBusyError

from .metadata import MetadataError, with_edits
from .readers import SUPPORTED_SUFFIXES, unsupported_type
from .sync import IngestOptions, IngestReport, SyncProgress, ingest

__all__ = [
    "DuplicateDocumentError",
    "Library",
    "LibraryBusyError",
    "LibraryError",
    "UploadTooLargeError",
    "safe_upload_name",
]

UPLOAD_FOLDER = "uploads"
STAGING_FOLDER = ".incoming"  # hidden: a folder sync skips it


class LibraryError(Exception):
    """A request the library refuses; the message is shown to the editor."""


class UploadTooLargeError(LibraryError):
    """An upload over ``max_upload_bytes``."""


class DuplicateDocumentError(LibraryError):
    """An upload with the same bytes as a document already in the library."""

    def __init__(self, original: str) -> None:
        super().__init__(f"the same file is already in the library as {original}")
        self.original = original


class LibraryBusyError(LibraryError):
    """Another ingest held the library for too long."""


def public_record(record: Any) -> dict[str, Any]:
    """A manifest record as the doors list it (without the bookkeeping of its metadata)."""
    return {k: v for k, v in asdict(record).items() if k not in ("extra", "meta_stamp")}


def safe_upload_name(filename: str) -> str:
    """A generated file name that keeps a readable stem: no folders, no odd characters."""
    base = Path(filename.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    stem = unicodedata.normalize("NFKD", Path(base).stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()[:60] or "document"
    return f"{stem}-{uuid.uuid4().hex[:8]}{suffix}"


class Library:
    """The documents of one store, their files in ``options.root`` (CORPUS_DIR)."""

    supported = SUPPORTED_SUFFIXES

    def __init__(
        self,
        store: ChunkStore,
        embedder: Any,
        searcher: HybridSearcher,
        options: IngestOptions,
        *,
        max_upload_bytes: int = 20 * 2**20,
    ) -> None:
        self.store, self.embedder, self.searcher, self.options = store, embedder, searcher, options
        self.corpus_dir = Path(options.root)
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()
        self.last_sync: dict[str, Any] | None = None  # what the last reingest did (watch, API)
        self.sync_progress = SyncProgress()  # the running (or last) sync of the folder
        self.first_sync_done = threading.Event()  # set when the sync at start has finished
        self.first_sync_done.set()  # (nothing to wait for unless ``sync_in_background`` runs)

    def documents(self) -> list[dict[str, Any]]:
        self.searcher.refresh()
        records = sorted(self.searcher.documents.values(), key=lambda r: r.title.lower())
        return [public_record(r) for r in records]

    def sources(self) -> set[str]:
        self.searcher.refresh()
        return set(self.searcher.documents)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One change to the library at a time in this process."""
        if not self._lock.acquire(timeout=600):
            raise LibraryBusyError("another ingest is still running; try again in a moment")
        try:
            yield
        finally:
            self._lock.release()

    def _ingest(
        self,
        paths: list[Path],
        prune: bool = False,
        *,
        wait: bool = False,
        tracker: SyncProgress | None = None,
    ) -> IngestReport:
        """An ingest that does not wait for another process's unless ``wait`` (the caller holds
        the lock)."""
        try:
            return ingest(
                paths,
                self.store,
                self.embedder,
                self.options,
                prune=prune,
                progress=False,
                wait=wait,
                tracker=tracker,
            )
        except StoreBusyError as exc:  # another process (a CLI ingest) holds the store
            raise LibraryBusyError(str(exc)) from exc
        finally:
            self.searcher.refresh(force=True)

    def add(self, filename: str, data: bytes) -> tuple[str, IngestReport]:
        """Store an uploaded file under a safe generated name and ingest it: (source, report)."""
        path, source = self.stage(filename, data)
        return source, self.commit(path, source)

    def stage(self, filename: str, data: bytes) -> tuple[Path, str]:
        """The quick half of ``add``: check the upload and store its file: (staged path, source).

        Raises at once for what needs no ingest to see: type, size, emptiness, duplicates.
        """
        suffix = Path(filename.replace("\\", "/")).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise LibraryError(unsupported_type(suffix))
        if len(data) > self.max_upload_bytes:
            raise UploadTooLargeError(
                f"file over the {self.max_upload_bytes / 2**20:g} MiB upload limit"
            )
        if not data.strip():
            raise LibraryError("the file is empty")
        original = self._holder(hashlib.sha256(data).hexdigest())
        if original:
            raise DuplicateDocumentError(original)
        name = safe_upload_name(filename)
        staged = self.corpus_dir / UPLOAD_FOLDER / STAGING_FOLDER / name
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_bytes(data)
        return staged, f"{UPLOAD_FOLDER}/{name}"

    def commit(self, staged: Path, source: str) -> IngestReport:
        """The slow half of ``add``: ingest a staged file; the report, or nothing kept and a
        ``LibraryError`` saying why."""
        path = self.corpus_dir / source
        try:
            with self._locked():
                staged.replace(path)
                report = self._ingest([path])
        except BaseException:
            staged.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise
        finally:
            with contextlib.suppress(OSError):  # empty now: leave no trace of the staging
                staged.parent.rmdir()
        if source in report.added or source in report.unchanged:
            return report  # (unchanged: a sync by another process committed it first)
        # nothing half-added: what the store refused, the folder does not keep either
        path.unlink(missing_ok=True)
        duplicate = dict(report.duplicates)
        if source in duplicate:  # the same bytes were added meanwhile
            raise DuplicateDocumentError(duplicate[source])
        reasons = dict(report.failed)
        raise LibraryError(reasons.get(source) or "the document could not be added")

    def _holder(self, content_hash: str) -> str | None:
        """The source of the document in the library whose file has these bytes, if any."""
        self.searcher.refresh()
        for record in sorted(self.searcher.documents.values(), key=lambda r: r.source):
            if record.content_hash == content_hash and (self.corpus_dir / record.source).is_file():
                return record.source
        return None

    def remove(self, source: str) -> IngestReport:
        """Delete one document: its passages, then its file. Nothing else changes."""
        path = self.resolve(source)
        if source not in self.sources():
            raise LibraryError(f"no document {source!r} in the library")
        report = IngestReport()
        with self._locked():
            try:
                with self.store.writing(wait=False):
                    self.store.remove_document(source)
            except StoreBusyError as exc:
                raise LibraryBusyError(str(exc)) from exc
            finally:
                self.searcher.refresh(force=True)
            path.unlink(missing_ok=True)
        report.removed.append(source)
        return report

    def edit(self, source: str, changes: dict[str, str | None]) -> dict[str, Any]:
        """Correct a document's metadata (``body``, ``doc_type``, ``date``, ``symbol``; empty
        clears one); the record as ``documents`` lists it. Edited fields keep their values
        through later syncs. A bad value raises ``LibraryError`` and changes nothing."""
        if source not in self.sources():
            raise LibraryError(f"no document {source!r} in the library")
        with self._locked():
            try:
                with self.store.writing(wait=False):
                    record = self.store.documents().get(source)
                    if record is None:
                        raise LibraryError(f"no document {source!r} in the library")
                    try:
                        edited = with_edits(record, changes)
                    except MetadataError as exc:
                        raise LibraryError(str(exc)) from exc
                    self.store.update_record(edited)
            except StoreBusyError as exc:
                raise LibraryBusyError(str(exc)) from exc
            finally:
                self.searcher.refresh(force=True)
        return public_record(edited)

    def reingest(self, prune: bool = True, wait: bool = False) -> IngestReport:
        """Sync the whole corpus folder (and its web pages): new and changed files in, deleted
        ones out (unless not ``prune``). ``last_sync`` keeps what it did, ``sync_progress``
        follows it."""
        with self._locked():
            tracker = SyncProgress(running=True)
            self.sync_progress = tracker
            try:
                report = self._ingest([self.corpus_dir], prune=prune, wait=wait, tracker=tracker)
            finally:
                tracker.running = False
        self.record_sync(report)
        return report

    def sync_in_background(
        self, on_report: Any = None, watch_minutes: float | None = None
    ) -> threading.Thread:
        """Sync the folder in a thread while the doors already answer (``serve``): documents
        become answerable as they are committed, ``indexing_note`` says meanwhile that the
        library is incomplete. ``on_report`` gets the report (or the exception); with
        ``watch_minutes`` the thread then goes on watching the folder (``watch``)."""
        self.first_sync_done.clear()
        self.sync_progress = SyncProgress(running=True)

        def run() -> None:
            try:
                result: Any = self.reingest(prune=False, wait=True)
            except Exception as exc:  # reported, and the doors go on answering what is stored
                result = exc
            finally:
                self.first_sync_done.set()
            if on_report is not None:
                on_report(result)
            if watch_minutes is not None:
                self.watch(watch_minutes)

        thread = threading.Thread(target=run, name="library-sync", daemon=True)
        thread.start()
        return thread

    def indexing_note(self) -> str | None:
        """While the sync at start runs: a sentence for answers saying the library is incomplete."""
        if self.first_sync_done.is_set():
            return None
        return (
            f"(The library is still being indexed: {self.sync_progress.message()}. "
            "Documents not indexed yet cannot be cited.)"
        )

    def record_sync(self, report: IngestReport) -> None:
        """Keep what a sync of the folder did, for the Library tab (``last_sync``)."""
        self.last_sync = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": report.summary(),
            "changed": [*report.added, *report.updated, *report.removed],
            "failed": [{"source": s, "reason": r} for s, r in report.failed],
        }

    def watch(self, interval_minutes: float = 0.0, stop: threading.Event | None = None) -> None:
        """Sync whenever files in the corpus folder change (and every ``interval_minutes``
        when above 0); blocks until ``stop`` is set."""
        from .watch import watch_folder

        watch_folder(self.corpus_dir, self.reingest, interval_minutes=interval_minutes, stop=stop)

    def resolve(self, source: str) -> Path:
        """The file of ``source`` inside the corpus folder; anything that would leave it is refused."""
        root = self.corpus_dir.resolve()
        try:
            path = (root / source).resolve()
        except (ValueError, OSError) as exc:  # a NUL byte, a name too long, a symlink loop
            raise LibraryError("no such document") from exc
        if not path.is_relative_to(root) or path == root:
            raise LibraryError("no such document")
        return path

    def text_of(self, source: str) -> str:
        """The document's text as the readers see it: headings marked with ``#``, and a
        ``[page N]`` line where a PDF page begins."""
        from .readers import read_document

        path = self.file_of(source)
        lines: list[str] = []
        page = None
        for block in read_document(path, path.read_bytes()).blocks:
            if block.page is not None and block.page != page:
                page = block.page
                lines.append(f"[page {page}]")
            lines.append(f"{'#' * block.heading_level} {block.text}".strip())
        return "\n\n".join(lines)

    def file_of(self, source: str) -> Path:
        """The file a citation link opens: only a document the library lists, no hidden part."""
        if any(part.startswith(".") for part in source.split("/")) or source not in self.sources():
            raise LibraryError("no such document")
        path = self.resolve(source)
        try:
            if not path.is_file():
                raise LibraryError("no such document")
        except OSError as exc:  # a name too long
            raise LibraryError("no such document") from exc
        return path
