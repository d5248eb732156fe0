"""Why a file could not be ingested; the message is the one-line reason shown in the report."""

from __future__ import annotations

__all__ = [
    "ContentMismatchError",
    "EmptyDocumentError",
    "EncryptedDocumentError",
    "IngestError",
    "TooLargeError",
    "TooManyPassagesError",
    "UndecodableError",
    "UnreadableDocumentError",
    "UnsupportedTypeError",
]


class IngestError(Exception):
    """A file that cannot be ingested. The rest of the ingest goes on."""


class UnsupportedTypeError(IngestError):
    pass


class ContentMismatchError(UnsupportedTypeError):
    """The content is not what the extension says (a PNG named .pdf, a program named .txt)."""


class EmptyDocumentError(IngestError):
    pass


class EncryptedDocumentError(IngestError):
    pass


class UndecodableError(IngestError):
    pass


class UnreadableDocumentError(IngestError):
    """Corrupt or malformed file."""


class TooLargeError(IngestError):
    pass


class TooManyPassagesError(IngestError):
    """A document that would make more passages than MAX_PASSAGES_PER_DOCUMENT."""
