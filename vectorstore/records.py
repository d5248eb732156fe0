"""What the store holds: a passage (``Chunk``) and a committed document (``DocumentRecord``), with
the deterministic ids and keys that make re-ingesting the same file an upsert."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Chunk", "DocumentRecord", "chunk_id", "doc_key", "is_url"]


def is_url(source: str) -> bool:
    """A source that is a web page's URL (its document came from the web, not a file)."""
    return source.lower().startswith(("http://", "https://"))


def doc_key(source: str, content_hash: str, chunking: str | None = None) -> str:
    """A document version: its content, and the chunker version that cut it (when recorded)."""
    return f"{source}@{content_hash}" + (f"/{chunking}" if chunking else "")


def chunk_id(source: str, content_hash: str, index: int, chunking: str | None = None) -> str:
    """Deterministic id: re-ingesting the same file upserts the same ids instead of adding."""
    key = f"{source}\0{content_hash}" + (f"\0{chunking}" if chunking else "")
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"{digest}-{index:05d}"


@dataclass(frozen=True)
class Chunk:
    """One passage, as stored: its text and where it comes from."""

    id: str
    text: str
    source: str
    title: str
    content_hash: str
    chunk_index: int
    page: int | None = None
    locator: str | None = None
    chunking: str | None = None  # the chunker version that cut it

    @property
    def key(self) -> str:
        """Its document version's ``doc_key``."""
        return doc_key(self.source, self.content_hash, self.chunking)

    def metadata(self) -> dict[str, Any]:
        meta = {
            "source": self.source,
            "title": self.title,
            "content_hash": self.content_hash,
            "doc_key": self.key,
            "chunk_index": self.chunk_index,
        }
        if self.page is not None:
            meta["page"] = self.page
        if self.locator:
            meta["locator"] = self.locator
        if self.chunking:
            meta["chunking"] = self.chunking
        return meta

    @classmethod
    def from_record(cls, id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            id=id,
            text=text,
            source=meta["source"],
            title=meta.get("title", meta["source"]),
            content_hash=meta["content_hash"],
            chunk_index=int(meta.get("chunk_index", 0)),
            page=meta.get("page"),
            locator=meta.get("locator"),
            chunking=meta.get("chunking"),
        )


@dataclass(frozen=True)
class DocumentRecord:
    """A committed document in the manifest."""

    source: str
    title: str
    content_hash: str
    chunks: int
    kind: str
    size: int
    ingested_at: str
    pages: int | None = None
    url: str | None = None
    notes: str | None = None
    chunking: str | None = None  # the chunker version that cut it (None: before versions)
    # who issued it, what it is, when (ISO: YYYY-MM-DD, or YYYY-MM / YYYY when the document
    # gives no day) and its official symbol: from the catalogue or the text (ingest/metadata.py)
    body: str | None = None
    doc_type: str | None = None
    date: str | None = None
    symbol: str | None = None
    edited: str | None = None  # the metadata fields an editor set, comma-separated: kept on sync
    meta_stamp: str | None = None  # what its metadata was derived from (ingest.metadata.stamp)
    # a web page's validators for conditional re-fetching, and how many syncs in a row found
    # it gone (404/410)
    etag: str | None = None
    last_modified: str | None = None
    misses: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return doc_key(self.source, self.content_hash, self.chunking)

    @property
    def edited_fields(self) -> set[str]:
        return set(filter(None, (self.edited or "").split(",")))

    def metadata(self) -> dict[str, Any]:
        meta = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> DocumentRecord:
        names = set(cls.__dataclass_fields__) - {"extra"}
        return cls(**{k: v for k, v in meta.items() if k in names})
