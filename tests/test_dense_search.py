"""The vector index explores enough candidates that dense search finds the true nearest
passages (at Chroma's ef_search 200 the 100th of 116 nearest passages of the corpus was not the
brute-force one, and differed between processes); stores made before are brought up to date by
a writer."""

from __future__ import annotations

from vectorstore import ChunkStore, connect
from vectorstore.chroma import EF_SEARCH

from .conftest import fingerprint_for


def ef_search(store: ChunkStore) -> int:
    return int(store.chunks.configuration["hnsw"]["ef_search"])


def test_new_stores_get_the_larger_search_and_writers_update_old_ones(tmp_path, embedder):
    fingerprint = fingerprint_for(embedder)
    store = ChunkStore(connect(tmp_path / "data"), "dense", fingerprint).open(create=True)
    assert ef_search(store) == EF_SEARCH >= 1000
    store.chunks.modify(configuration={"hnsw": {"ef_search": 200}})  # as stores were made

    reader = ChunkStore(connect(tmp_path / "data"), "dense", fingerprint).open()
    assert ef_search(reader) == 200  # a reader (the app, a search) changes nothing
    writer = ChunkStore(connect(tmp_path / "data"), "dense", fingerprint).open(create=True)
    assert ef_search(writer) == EF_SEARCH
    again = ChunkStore(connect(tmp_path / "data"), "dense", fingerprint).open()
    assert ef_search(again) == EF_SEARCH
