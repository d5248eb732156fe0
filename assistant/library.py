"""The document library as the doors see it: list, add, remove and re-ingest documents.

The ingest job itself is injected (``ingest_fn``) by the composition root, so the core does not
import the ingest package; one ingest runs at a time, and the searcher is refreshed after each,
so new documents are answerable at once.

An upload is stored under a generated name inside ``CORPUS_DIR/uploads`` (the name the client
sent only lends a readable stem), and is deleted again whenever it is not added whole: refused
by the ingest (its content checked against its extension there), a duplicate of a document
already in the library (same bytes under another name: refused with the original's source, so
the library never answers with two copies), or an unexpected error.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .errors import StoreBusyError

__all__ = [
    "DuplicateDocumentError",
    "Library",
    "LibraryBusyError",
    "LibraryError",
    "UploadTooLargeError",
    "safe_upload_name",
]

SUPPORTED = {".pdf", ".html", ".htm", ".md", ".markdown", ".txt", ".docx"}
UPLOAD_FOLDER = "uploads"


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


def safe_upload_name(filename: str) -> str:
    """A generated file name that keeps a readable stem: no folders, no odd characters."""
    base = Path(filename.replace("\\", "/")).name
    suffix = Path(base).suffix.lower()
    stem = unicodedata.normalize("NFKD", Path(base).stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower()[:60] or "document"
    return f"{stem}-{uuid.uuid4().hex[:8]}{suffix}"


class Library:
    """``ingest_fn(paths, prune) -> report`` syncs files into the store (the ingest job)."""

    def __init__(
        self,
        corpus_dir: Path,
        searcher: Any,
        ingest_fn: Callable[[Sequence[Path], bool], Any],
        *,
        max_upload_bytes: int = 20 * 2**20,
    ) -> None:
        self.corpus_dir = Path(corpus_dir)
        self.searcher = searcher
        self._ingest = ingest_fn
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()

    def documents(self) -> list[dict[str, Any]]:
        self.searcher.refresh()
        records = sorted(self.searcher.documents.values(), key=lambda r: r.title.lower())
        return [{k: v for k, v in asdict(r).items() if k != "extra"} for r in records]

    def _run(self, paths: Sequence[Path], prune: bool = False) -> Any:
        if not self._lock.acquire(timeout=600):
            raise LibraryBusyError("another ingest is still running; try again in a moment")
        try:
            report = self._ingest(paths, prune)
        except StoreBusyError as exc:  # another process (a CLI ingest) holds the store
            raise LibraryBusyError(str(exc)) from exc
        finally:
            self._lock.release()
        self.searcher.refresh(force=True)
        return report

    def add(self, filename: str, data: bytes) -> tuple[str, Any]:
        """Store an uploaded file under a safe generated name and ingest it: (source, report)."""
        path, source = self.stage(filename, data)
        return source, self.commit(path, source)

    def stage(self, filename: str, data: bytes) -> tuple[Path, str]:
        """The quick half of ``add``: check the upload and store its file: (path, source).

        Raises at once for what needs no ingest to see: type, size, emptiness, duplicates.
        """
        suffix = Path(filename.replace("\\", "/")).suffix.lower()
        if suffix not in SUPPORTED:
            raise LibraryError(
                f"unsupported file type {suffix or '(none)'}: use PDF, HTML, Markdown, TXT or DOCX"
            )
        if len(data) > self.max_upload_bytes:
            raise UploadTooLargeError(
                f"file over the {self.max_upload_bytes / 2**20:g} MiB upload limit"
            )
        if not data.strip():
            raise LibraryError("the file is empty")
        original = self._holder(hashlib.sha256(data).hexdigest())
        if original:
            raise DuplicateDocumentError(original)
        folder = self.corpus_dir / UPLOAD_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / safe_upload_name(filename)
        path.write_bytes(data)
        return path, path.relative_to(self.corpus_dir).as_posix()

    def commit(self, path: Path, source: str) -> Any:
        """The slow half of ``add``: ingest a staged file; the report, or the file removed and
        a ``LibraryError`` saying why."""
        try:
            report = self._run([path])
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if source not in report.added:
            # nothing half-added: what the store refused, the folder does not keep either
            path.unlink(missing_ok=True)
            duplicate = dict(getattr(report, "duplicates", ()))
            if source in duplicate:  # the same bytes were added meanwhile
                raise DuplicateDocumentError(duplicate[source])
            reasons = dict(report.failed)
            raise LibraryError(reasons.get(source) or "the document could not be added")
        return report

    def _holder(self, content_hash: str) -> str | None:
        """The source of the document in the library whose file has these bytes, if any."""
        self.searcher.refresh()
        for record in sorted(self.searcher.documents.values(), key=lambda r: r.source):
            if record.content_hash == content_hash and (self.corpus_dir / record.source).is_file():
                return record.source
        return None

    def remove(self, source: str) -> Any:
        """Delete a document's file and its passages."""
        path = self.resolve(source)
        if source not in {d["source"] for d in self.documents()}:
            raise LibraryError(f"no document {source!r} in the library")
        path.unlink(missing_ok=True)
        return self._run([], prune=True)

    def reingest(self) -> Any:
        """Sync the whole corpus folder: new and changed files in, deleted ones out."""
        return self._run([self.corpus_dir], prune=True)

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
