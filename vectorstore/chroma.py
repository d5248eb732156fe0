"""The Chroma store: passages with their vectors, and a manifest of the documents that are committed.

A document becomes visible by a two-phase write: its chunks are upserted first (ids derived from
source, content hash and position), then its manifest record is written, then chunks of older
versions are deleted. Readers only trust chunks whose ``doc_key`` (``source@hash``) is in the
manifest, so an interrupted ingest never shows half a document; the next run's
``collect_garbage`` removes what it left behind.

A rebuild never empties the store in use: the collections live in generations (``epoch``), and a
small pointer collection names the active one. ``ChunkStore.rebuilding`` fills a new generation
beside the active one and switches the pointer (one write) only when it is complete; readers
follow the pointer. A store without a pointer is generation 0, under the names of the stores
built before generations existed.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from .errors import (
    StoreBusyError,
    StoreDamagedError,
    StoreEmptyError,
    StoreMismatchError,
    StoreUnavailableError,
)
from .records import Chunk, DocumentRecord, chunk_id, doc_key

__all__ = [
    "Chunk",
    "ChunkStore",
    "DocumentRecord",
    "chunk_id",
    "connect",
    "doc_key",
]

STORE_SCHEMA = 1
# HNSW candidates explored per query. At 200 the 100 nearest of 116 asked for were not the true
# 100 nearest (the 100th scored 0.3737 where brute force gives 0.3795) and differed from one
# process to the next, so fused scores, and now and then an answer, changed after a restart;
# at 1000 they were the brute-force ones for the questions checked, and far less variable
# (README, "Answers on the blind set"), for ~2 ms a query.
EF_SEARCH = 1000
T = TypeVar("T")
_MANIFEST_VECTOR = [1.0]  # Chroma wants a vector per record; the manifest needs none.
_POINTER_ID = "active"  # the one record of the pointer collection
_held_locks = threading.local()  # write-lock files this thread holds (``writing`` re-enters)


def connect(data_dir: Path, chroma_url: str = "") -> Any:
    """A Chroma client: embedded under ``data_dir``, or a server when ``chroma_url`` is set.

    An embedded client gets a view of the files of its own (see ``_fresh_persistent_client``).
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if not chroma_url:
        path = Path(data_dir) / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return _fresh_persistent_client(str(path), settings)
    url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
    try:
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=settings,
        )
    except Exception as exc:  # chromadb raises several kinds here
        raise StoreUnavailableError(
            f"cannot reach the Chroma server at {chroma_url}: {exc}"
        ) from exc


def _fresh_persistent_client(path: str, settings: Any) -> Any:
    """An embedded client that reads the files afresh instead of reusing this process's view.

    chromadb shares one in-memory "system" per path within a process, and that system's vector
    index does not see what other processes wrote after it was loaded: queries silently miss
    their passages, or fail with "Nothing found on disk" when the index files appeared later.
    Dropping the cached system (a private chromadb registry) makes the next client load them.
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)
    SharedSystemClient._identifier_to_refcount.pop(path, None)
    return chromadb.PersistentClient(path=path, settings=settings)


def _damaged(what: str, exc: Exception) -> StoreDamagedError:
    first = (str(exc).splitlines() or [""])[0][:160]
    return StoreDamagedError(f"Chroma cannot read the {what} ({first})")


class ChunkStore:
    """Passages and the document manifest in two Chroma collections named after ``name``.

    ``fingerprint`` (embedding model, dimension, chunking settings) is kept in the chunk
    collection's metadata; opening the store with another one raises ``StoreMismatchError``.
    The collections are those of the active generation (see the module docstring); a store
    made with ``epoch`` (by ``rebuilding``) works on that generation whatever the pointer says.
    """

    def __init__(
        self, client: Any, name: str, fingerprint: dict[str, str | int], *, epoch: int | None = None
    ) -> None:
        self.client = client
        self.name = name
        self.fingerprint = {"schema": STORE_SCHEMA, **fingerprint}
        self._chunks: Any = None
        self._manifest: Any = None
        self.generation = 0  # documents committed or removed through this object
        self.epoch = epoch or 0  # the generation of collections open (resolved by ``open``)
        self._pinned = epoch is not None

    def reconnect(self) -> None:
        """Load the files afresh (embedded: to see what another process wrote since) and reopen
        the active generation's collections, following a rebuild another process switched in."""
        settings = self.client.get_settings()
        if settings.is_persistent:  # a Chroma server has one view for every client
            self.client = _fresh_persistent_client(settings.persist_directory, settings)
        if self._chunks is not None:
            self._attach(create=False)

    def follow(self) -> bool:
        """Reopen if another process switched the active generation since; True if it did."""
        if self._pinned or self._chunks is None or self.active_epoch() == self.epoch:
            return False
        self.reconnect()
        return True

    def _read(self, what: str, read: Callable[[], T]) -> T:
        """Run ``read``; on a Chroma internal error load the files afresh and try once more.

        A collection that is gone (a rebuild in another process switched generations and
        deleted the old one) is followed to the active generation the same way. A second
        internal error means the files themselves are unreadable: ``StoreDamagedError``.
        """
        from chromadb.errors import InternalError, NotFoundError

        try:
            return read()
        except (InternalError, NotFoundError):
            self.reconnect()
        try:
            return read()
        except InternalError as exc:
            raise _damaged(what, exc) from exc

    # --- opening --------------------------------------------------------------------------------
    def _names(self, epoch: int) -> tuple[str, str]:
        """(chunk, manifest) collection names of generation ``epoch``; 0 has the names of the
        stores built before generations existed."""
        suffix = f".g{epoch}" if epoch else ""
        return f"{self.name}_chunks{suffix}", f"{self.name}_documents{suffix}"

    @property
    def chunk_collection_name(self) -> str:
        return self._names(self.epoch)[0]

    @property
    def manifest_collection_name(self) -> str:
        return self._names(self.epoch)[1]

    @property
    def pointer_collection_name(self) -> str:
        """The collection whose one record names the active generation."""
        return f"{self.name}_active"

    def active_epoch(self) -> int:
        """The generation the pointer names (0 when there is no pointer)."""
        pointer = self._collection(self.pointer_collection_name)
        if pointer is None:
            return 0
        metas = pointer.get(ids=[_POINTER_ID], include=["metadatas"])["metadatas"] or []
        return int((metas[0] or {}).get("epoch", 0)) if metas else 0

    def epochs(self) -> set[int]:
        """The generations that have collections in Chroma (the active one, leftovers)."""
        pattern = re.compile(rf"{re.escape(self.name)}_(?:chunks|documents)(?:\.g(\d+))?")
        found = set()
        for collection in self.client.list_collections():
            match = pattern.fullmatch(getattr(collection, "name", collection))
            if match:
                found.add(int(match.group(1) or 0))
        return found

    def _collection(self, name: str) -> Any | None:
        from chromadb.errors import NotFoundError

        try:
            return self.client.get_collection(name, embedding_function=None)
        except NotFoundError:
            return None

    def exists(self) -> bool:
        """Whether the active generation (or the pinned one) has its passages collection."""
        epoch = self.epoch if self._pinned else self.active_epoch()
        return self._collection(self._names(epoch)[0]) is not None

    def open(self, create: bool = False) -> ChunkStore:
        """Open the collections, checking the fingerprint; create them when ``create`` is set."""
        self._attach(create)
        self.check_readable()
        return self

    def _attach(self, create: bool) -> None:
        """Get (or create) the collections of the active generation, or of the pinned one."""
        while True:
            epoch = self.epoch if self._pinned else self.active_epoch()
            chunks_name, manifest_name = self._names(epoch)
            chunks, manifest = self._collection(chunks_name), self._collection(manifest_name)
            whole = chunks is not None and manifest is not None
            if whole or self._pinned or self.active_epoch() == epoch:
                break
            # a rebuild switched generations, and deleted this one, while we looked: follow it
        self.epoch = epoch
        if chunks is None:
            if not create:
                raise StoreEmptyError(
                    "the store is empty: run `policy-assistant ingest` to add documents"
                )
            chunks = self.client.create_collection(
                chunks_name,
                configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                metadata={f"fp_{k}": v for k, v in self.fingerprint.items()},
                embedding_function=None,
            )
        else:
            self._check_fingerprint(chunks.metadata or {})
            if create:  # a writer (ingest) brings a store made with a smaller one up to date
                hnsw = (chunks.configuration or {}).get("hnsw") or {}
                if int(hnsw.get("ef_search") or 0) < EF_SEARCH:
                    chunks.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        if manifest is None:
            manifest = self.client.get_or_create_collection(manifest_name, embedding_function=None)
        self._chunks, self._manifest = chunks, manifest

    def check_readable(self) -> None:
        """Read both collections and their vector indexes once; ``StoreDamagedError`` if Chroma can't.

        Cheap (a count and a one-result query each), and done at open so that a store left torn
        by a killed ingest is reported, and repaired by the next ingest, before anything else runs.
        """
        for what, name, probe in (
            ("passages", "_chunks", self._probe_vector()),
            ("document list", "_manifest", _MANIFEST_VECTOR),
        ):

            def read(name: str = name, probe: list[float] | None = probe) -> None:
                collection = getattr(self, name)  # reconnect() replaces it
                if collection.count() and probe is not None:
                    collection.query(query_embeddings=[probe], n_results=1, include=[])

            self._read(what, read)

    def _probe_vector(self) -> list[float] | None:
        """A unit vector of the store's dimension, to query with; None if it is not recorded."""
        dim = int(self.fingerprint.get("dim") or 0)
        return [1.0] + [0.0] * (dim - 1) if dim else None

    def verify(self) -> None:
        """Walk the whole vector index once; ``StoreDamagedError`` if Chroma cannot.

        ``check_readable`` misses an index whose files and id map were written at different
        times (only queries that reach the orphaned vectors fail). Ingest runs this before
        writing: 15 ms for 6,000 passages, 0.3 s for 100,000.
        """

        def read() -> None:
            n = self._chunks.count()
            probe = self._probe_vector()
            if n and probe is not None:
                self._chunks.query(query_embeddings=[probe], n_results=n, include=[])

        self._read("passages", read)

    def recorded_fingerprint(self) -> dict[str, Any]:
        """The fingerprint the active generation was built with ({} when there is none)."""
        chunks = self._collection(
            self._names(self.epoch if self._pinned else self.active_epoch())[0]
        )
        return _stored_fingerprint(chunks.metadata or {}) if chunks is not None else {}

    def as_recorded(self) -> ChunkStore:
        """This store under the fingerprint it was built with: what a rebuild with other
        settings reads from it (its web pages) before replacing it."""
        recorded = self.recorded_fingerprint()
        return ChunkStore(self.client, self.name, recorded) if recorded else self

    def _check_fingerprint(self, stored_meta: dict[str, Any]) -> None:
        stored = _stored_fingerprint(stored_meta)
        if stored != self.fingerprint:
            differ = sorted(
                k
                for k in set(stored) | set(self.fingerprint)
                if stored.get(k) != self.fingerprint.get(k)
            )
            detail = ", ".join(
                f"{k}: store has {stored.get(k)!r}, settings ask for {self.fingerprint.get(k)!r}"
                for k in differ
            )
            raise StoreMismatchError(
                f"the store was built with other settings ({detail}); "
                "run `policy-assistant ingest --rebuild`"
            )

    def drop(self) -> None:
        """Delete every generation and the pointer: an empty store (tests; a rebuild of the
        product goes through ``rebuilding``, which keeps the old store until the new is whole)."""
        for epoch in self.epochs():
            self._delete_epoch(epoch)
        with contextlib.suppress(Exception):  # absent already
            self.client.delete_collection(self.pointer_collection_name)
        self._chunks = self._manifest = None
        if not self._pinned:
            self.epoch = 0

    def _delete_epoch(self, epoch: int) -> None:
        for name in self._names(epoch):
            with contextlib.suppress(Exception):  # absent already, or torn
                self.client.delete_collection(name)

    def _delete_stale_epochs(self) -> None:
        """Delete the generations left by an interrupted rebuild (call under ``writing``).

        Kept: the active one and this object's. A generation older than the active one was
        switched out by a rebuild killed before it deleted it. A newer one is a rebuild's that
        never completed, unless a rebuild is running now: on an embedded store the write lock
        rules that out; a Chroma server has no lock, so there only the older ones go here and
        the newer ones are left for the next rebuild.
        """
        active = self.active_epoch()
        locked = self.client.get_settings().is_persistent
        for epoch in self.epochs() - {active, self.epoch}:
            if locked or epoch < active:
                self._delete_epoch(epoch)

    @contextlib.contextmanager
    def rebuilding(self) -> Iterator[ChunkStore]:
        """A store on a new, empty generation, switched in when the block ends without error.

        The write lock is held throughout; the active generation keeps answering meanwhile. On
        normal exit the pointer moves to the new generation (one write), the old generation's
        collections are deleted and this object works on the new one. On an exception, or a
        kill, the old generation stays active and the partial new one is left, for the next
        rebuild (or ``collect_garbage``) to delete.
        """
        with self.writing():
            old = self.active_epoch()
            for epoch in self.epochs() - {old}:  # left by an interrupted rebuild
                self._delete_epoch(epoch)
            fresh = ChunkStore(self.client, self.name, self.fingerprint, epoch=old + 1)
            fresh.open(create=True)
            yield fresh
            pointer = self.client.get_or_create_collection(
                self.pointer_collection_name, embedding_function=None
            )
            pointer.upsert(
                ids=[_POINTER_ID], embeddings=[_MANIFEST_VECTOR], metadatas=[{"epoch": fresh.epoch}]
            )
            self._delete_epoch(old)
            self.client, self.epoch = fresh.client, fresh.epoch
            self._chunks, self._manifest = fresh._chunks, fresh._manifest
            self.generation += fresh.generation + 1

    @property
    def chunks(self) -> Any:
        if self._chunks is None:
            self.open()
        return self._chunks

    @property
    def manifest(self) -> Any:
        if self._manifest is None:
            self.open()
        return self._manifest

    # --- writing --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, wait: bool = True) -> Iterator[None]:
        """Hold the embedded store's write lock (one writing process at a time).

        Embedded Chroma is not safe with two writing processes (the app taking an upload while
        `policy-assistant ingest` runs); a Chroma server orders writes itself, so there this is a
        no-op. The lock is an ``flock`` the kernel drops with a killed process. Without ``wait``
        a held lock raises ``StoreBusyError``. A thread that holds it already (an ingest inside
        ``rebuilding``) enters again at once.
        """
        settings = self.client.get_settings()
        if not settings.is_persistent:
            yield
            return
        path = str(Path(settings.persist_directory) / "write.lock")
        held: set[str] = _held_locks.__dict__.setdefault("paths", set())
        if path in held:
            yield
            return
        import fcntl
        import logging

        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    raise StoreBusyError(
                        "another process is writing to the store (an ingest?): "
                        "try again when it has finished"
                    ) from None
                logging.getLogger(__name__).warning(
                    "another process is writing to the store; waiting for it to finish"
                )
                fcntl.flock(handle, fcntl.LOCK_EX)
            held.add(path)
            try:
                yield
            finally:
                held.discard(path)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def add_chunks(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        step = self.client.get_max_batch_size()
        for start in range(0, len(chunks), step):
            part = chunks[start : start + step]
            self.chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
                embeddings=[list(map(float, e)) for e in embeddings[start : start + step]],
            )

    def commit_document(self, record: DocumentRecord) -> None:
        """Make ``record``'s chunks the visible version of its document, then drop older ones."""
        self._write_record(record)
        self.chunks.delete(
            where={"$and": [{"source": record.source}, {"doc_key": {"$ne": record.key}}]}
        )

    def update_record(self, record: DocumentRecord) -> None:
        """Replace a committed document's manifest record (its metadata) without touching its
        passages; the record must be of the committed version."""
        self._write_record(record)

    def _write_record(self, record: DocumentRecord) -> None:
        # Chroma's upsert merges metadata into the stored record: a field now empty is sent as
        # None, which deletes it, or the old version's value would stay
        meta = {name: None for name in DocumentRecord.__dataclass_fields__ if name != "extra"}
        self.manifest.upsert(
            ids=[record.source],
            embeddings=[_MANIFEST_VECTOR],
            metadatas=[{**meta, **record.metadata()}],
        )
        self.generation += 1

    def remove_document(self, source: str) -> None:
        self.manifest.delete(ids=[source])
        self.generation += 1
        self.chunks.delete(where={"source": source})

    def collect_garbage(self) -> int:
        """Delete chunks that belong to no committed document (left by an interrupted ingest),
        and the generations an interrupted rebuild left (``_delete_stale_epochs``); the number
        of chunks deleted. Call under ``writing``."""
        self._delete_stale_epochs()
        keys = [r.key for r in self.documents().values()]
        before = self.chunks.count()
        if keys:
            self.chunks.delete(where={"doc_key": {"$nin": keys}})
        elif before:
            self.chunks.delete(where={"chunk_index": {"$gte": 0}})
        return before - self.chunks.count()

    # --- reading --------------------------------------------------------------------------------
    def documents(self) -> dict[str, DocumentRecord]:
        out: dict[str, DocumentRecord] = {}
        for _, meta in self._paged("manifest", include=["metadatas"]):
            record = DocumentRecord.from_metadata(meta)
            out[record.source] = record
        return out

    def count(self) -> int:
        return self._read("passages", lambda: self.chunks.count())

    def iter_chunks(self, batch: int = 5000) -> Iterator[Chunk]:
        for (id_, text), meta in self._paged(
            "chunks", include=["documents", "metadatas"], batch=batch
        ):
            yield Chunk.from_record(id_, text, meta)

    def get_chunks(self, ids: Sequence[str]) -> list[Chunk]:
        if not ids:
            return []
        got = self._read(
            "passages", lambda: self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        )
        by_id = {
            i: Chunk.from_record(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        return [by_id[i] for i in ids if i in by_id]

    def chunks_of(self, record: DocumentRecord) -> list[Chunk]:
        """The passages of a committed document, in order."""
        got = self._read(
            "passages",
            lambda: self.chunks.get(
                where={"doc_key": record.key}, include=["documents", "metadatas"]
            ),
        )
        chunks = [
            Chunk.from_record(i, d, m)
            for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        return sorted(chunks, key=lambda c: c.chunk_index)

    def vectors(self, ids: Sequence[str | None]) -> list[list[float] | None]:
        """The stored embeddings of chunks ``ids`` (None for an id not stored)."""
        wanted = [i for i in ids if i]
        if not wanted:
            return [None] * len(ids)

        def read() -> Any:
            return self.chunks.get(ids=list(dict.fromkeys(wanted)), include=["embeddings"])

        res = self._read("passages", read)
        found = {
            i: [float(x) for x in v] for i, v in zip(res["ids"], res["embeddings"], strict=True)
        }
        return [found.get(i) if i else None for i in ids]

    def dense_search(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks with cosine similarity (approximate: HNSW); only chunks
        matching the Chroma filter ``where`` when given."""

        def query() -> Any:
            n = min(k, self.chunks.count())
            if n == 0:
                return None
            return self.chunks.query(
                query_embeddings=[list(map(float, vector))],
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"],
            )

        res = self._read("passages", query)
        if res is None:
            return []
        # a chunk another client deleted can still be in this client's vector index until it
        # reloads (HybridSearcher.refresh): it comes back without its record, and is skipped
        return [
            (Chunk.from_record(i, d, m), 1.0 - float(dist))
            for i, d, m, dist in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],
                res["distances"][0],
                strict=True,
            )
            if m is not None and d is not None
        ]

    def _paged(
        self, which: str, include: list[str], batch: int = 5000
    ) -> Iterator[tuple[Any, dict]]:
        what = "passages" if which == "chunks" else "document list"
        offset = 0
        while True:
            got = self._read(
                what,
                lambda offset=offset: getattr(self, which).get(
                    include=include, limit=batch, offset=offset
                ),
            )
            ids = got["ids"]
            if not ids:
                return
            metas = got["metadatas"]
            if "documents" in include:
                yield from zip(zip(ids, got["documents"], strict=True), metas, strict=True)
            else:
                yield from zip(ids, metas, strict=True)
            offset += len(ids)


def _stored_fingerprint(metadata: dict[str, Any]) -> dict[str, Any]:
    """The ``fp_`` entries of a passages collection's metadata; a store made before the
    encoder was recorded was made by torch."""
    stored = {k[3:]: v for k, v in metadata.items() if k.startswith("fp_")}
    if stored:
        stored.setdefault("encoder", "torch")
    return stored
