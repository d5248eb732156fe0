"""Turning a folder of documents into passages in the store: readers, structure, chunking, sync."""

from .chunking import ChunkingConfig
from .errors import IngestError
from .sync import IngestReport, ingest

__all__ = ["ChunkingConfig", "IngestError", "IngestReport", "ingest"]
