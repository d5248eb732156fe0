"""Turning a folder of documents into passages in the store: readers, structure, chunking, sync,
and the library the doors use to list, add and remove documents."""

from .chunking import ChunkingConfig
from .errors import IngestError
from .library import (
    DuplicateDocumentError,
    Library,
    LibraryBusyError,
    LibraryError,
    UploadTooLargeError,
)
from .sync import IngestOptions, IngestReport, SyncProgress, ingest

__all__ = [
    "ChunkingConfig",
    "DuplicateDocumentError",
    "IngestError",
    "IngestOptions",
    "IngestReport",
    "SyncProgress",
    "Library",
    "LibraryBusyError",
    "LibraryError",
    "UploadTooLargeError",
    "ingest",
]
