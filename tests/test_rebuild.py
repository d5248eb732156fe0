"""A rebuild fills a new generation beside the store in use and switches to it when complete:
killed half-way it leaves the old store whole, and searchers answer from the old store until
the switch, then follow it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ingest import IngestOptions, ingest
from vectorstore import ChunkStore, HybridSearcher, connect

from .conftest import cli, fingerprint_for

ENTRY = str(Path(sys.executable).with_name("policy-assistant"))
NAME = "policy_assistant"  # the collection prefix of the CLI's default settings


def state(store: ChunkStore) -> tuple[dict[str, str], list[str]]:
    """(source -> content hash of committed documents, sorted ids of their chunks)."""
    docs = store.documents()
    visible = {r.key for r in docs.values()}
    return (
        {s: r.content_hash for s, r in docs.items()},
        sorted(c.id for c in store.iter_chunks() if c.key in visible),
    )


def open_store(data_dir: Path, embedder, name: str = NAME) -> ChunkStore:
    return ChunkStore(connect(data_dir), name, fingerprint_for(embedder)).open()


def collections(store: ChunkStore) -> set[str]:
    return {getattr(c, "name", c) for c in store.client.list_collections()}


def env_for(corpus: Path, data_dir: Path) -> dict[str, str]:
    return {"POLICY_ASSISTANT_CORPUS_DIR": str(corpus), "POLICY_ASSISTANT_DATA_DIR": str(data_dir)}


def start_rebuild(env: dict[str, str]) -> subprocess.Popen:
    """`policy-assistant ingest --rebuild`, committing a document at a time, progress on stderr."""
    return subprocess.Popen(
        [ENTRY, "ingest", "--rebuild"],
        env={**os.environ, **env, "POLICY_ASSISTANT_INGEST_COMMIT_CHUNKS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def watch_commits(proc: subprocess.Popen, on_commit) -> None:
    """Call ``on_commit(chunks written)`` each time the chunk bar shows more chunks committed
    (the bar counts a document's chunks after its commit); returns when stderr closes or
    ``on_commit`` returns True."""
    assert proc.stderr is not None
    written, buffer = 0, ""
    while True:  # tqdm redraws its bars with \r: read character by character
        char = proc.stderr.read(1)
        if not char:
            return
        buffer = "" if char in "\r\n" else buffer + char
        progress = re.match(r"chunks:.*\|\s*(\d+)/(\d+)", buffer)
        if progress and "[" in buffer and int(progress.group(1)) > written:
            written = int(progress.group(1))
            if on_commit(written):
                return


def test_a_rebuild_killed_half_way_leaves_the_old_store_whole(small_corpus, tmp_path, embedder):
    env = env_for(small_corpus, tmp_path / "data")
    assert cli(env, "ingest", "--quiet").returncode == 0
    store = open_store(tmp_path / "data", embedder)
    before = state(store)
    assert len(before[0]) == 5 and before[1]

    proc = start_rebuild(env)
    watch_commits(proc, lambda written: True)  # the first document committed
    assert proc.poll() is None, "the rebuild finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    # it had committed documents into a new generation, which never became the active one
    partial = ChunkStore(store.client, NAME, fingerprint_for(embedder), epoch=1)
    assert 1 <= store.client.get_collection(partial.manifest_collection_name).count() < 5
    store = open_store(tmp_path / "data", embedder)
    assert store.epoch == 0 and store.active_epoch() == 0
    assert state(store) == before
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    for source, record in store.documents().items():
        hits = searcher.search(record.title, k=5)
        assert any(h.chunk.source == source for h in hits), (source, record.title)

    done = cli(env, "ingest", "--rebuild", "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "added 5," in done.stdout
    reference = env_for(small_corpus, tmp_path / "ref")
    assert cli(reference, "ingest", "--quiet").returncode == 0
    rebuilt = open_store(tmp_path / "data", embedder)
    assert rebuilt.epoch == 1
    assert state(rebuilt) == state(open_store(tmp_path / "ref", embedder)) == before
    # the partial generation was deleted, then reused; the old one is gone
    assert collections(rebuilt) == {
        rebuilt.chunk_collection_name, rebuilt.manifest_collection_name,
        rebuilt.pointer_collection_name,
    }  # fmt: skip


def test_search_answers_from_the_old_store_until_the_switch(small_corpus, tmp_path, embedder):
    env = env_for(small_corpus, tmp_path / "data")
    assert cli(env, "ingest", "--quiet").returncode == 0
    store = open_store(tmp_path / "data", embedder)
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    question = "How much intercontinental data traffic goes through submarine cables?"
    assert searcher.search(question, k=3)[0].chunk.source == "cables-note.docx"
    old_signature = searcher._lexical.signature if searcher._lexical else None
    expected = state(store)

    proc = start_rebuild(env)
    committing = threading.Event()  # the new generation holds committed documents
    watcher = threading.Thread(target=watch_commits, args=(proc, lambda _: committing.set()))
    watcher.start()
    seen: list[tuple[bool, int, int, str]] = []  # (committing, epoch, documents, top source)
    while proc.poll() is None:
        hits = searcher.search(question, k=3)
        seen.append(
            (committing.is_set(), store.epoch, len(searcher.documents), hits[0].chunk.source)
        )
    watcher.join(timeout=60)
    assert proc.returncode == 0
    assert all(n == 5 and top == "cables-note.docx" for _, _, n, top in seen), seen
    assert any(c and epoch == 0 for c, epoch, _, _ in seen), "no search while it was half-way"

    searcher.refresh(force=True)  # the switch is followed: new generation, lexical index rebuilt
    assert store.epoch == store.active_epoch() == 1
    assert searcher._lexical is not None and searcher._lexical.signature != old_signature
    dense = searcher.dense(question, 3)
    assert dense and dense[0][0].source == "cables-note.docx"
    assert state(store) == expected
    assert store.chunk_collection_name in collections(store)
    assert f"{NAME}_chunks" not in collections(store)


def test_rebuild_of_a_missing_path_is_a_one_line_error(small_corpus, tmp_path, embedder):
    env = env_for(small_corpus, tmp_path / "data")
    assert cli(env, "ingest", "--quiet").returncode == 0
    store = open_store(tmp_path / "data", embedder)
    before, names = state(store), collections(store)
    done = cli(env, "ingest", "--rebuild", "/no/such/path")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith("error: no such file or folder: /no/such/path")
    store = open_store(tmp_path / "data", embedder)
    assert state(store) == before and collections(store) == names and store.epoch == 0


def kestrel_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("kestrel", "osprey"):
        rules = " ".join(f"Rule {n} of the {name} framework binds every agency." for n in range(9))
        (corpus / f"{name}.md").write_text(f"# The {name} framework\n\n{rules}\n")
    return corpus


def test_rebuilding_switches_only_when_the_block_completes(tmp_path, store, embedder):
    corpus = kestrel_corpus(tmp_path)
    options = IngestOptions(root=corpus)
    ingest([corpus], store, embedder, options, progress=False)
    before = state(store)

    with pytest.raises(RuntimeError), store.rebuilding() as fresh:
        ingest([corpus], fresh, embedder, options, progress=False)  # re-enters the write lock
        assert (fresh.epoch, store.active_epoch()) == (1, 0)
        raise RuntimeError("interrupted")
    assert store.epoch == store.active_epoch() == 0 and store.epochs() == {0, 1}
    assert state(store) == before
    with store.writing():
        store.collect_garbage()  # the partial generation goes
    assert store.epochs() == {0}

    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    searcher.refresh()
    for _ in range(2):  # 0 -> 1 -> 2
        with store.rebuilding() as fresh:
            ingest([corpus], fresh, embedder, options, progress=False)
        assert store.epoch == store.active_epoch() == fresh.epoch
        assert store.epochs() == {fresh.epoch} and state(store) == before
        assert searcher.search("Rule 3 of the osprey framework", k=1)[0].chunk.source == "osprey.md"
    store.drop()
    assert not store.epochs() and store.active_epoch() == 0


@pytest.mark.server
def test_rebuild_through_a_chroma_server(chroma_server, small_corpus, tmp_path, embedder):
    env = {
        **env_for(small_corpus, tmp_path / "data"),
        "POLICY_ASSISTANT_CHROMA_URL": chroma_server,
        "POLICY_ASSISTANT_COLLECTION": "rebuild_test",
    }
    assert cli(env, "ingest", "--quiet").returncode == 0
    store = ChunkStore(
        connect(tmp_path / "data", chroma_server), "rebuild_test", fingerprint_for(embedder)
    ).open()
    before = state(store)
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    assert searcher.search("submarine cables", k=1)
    for epoch in (1, 2):
        done = cli(env, "ingest", "--rebuild", "--quiet")
        assert done.returncode == 0, done.stderr[-2000:]
        hits = searcher.search("How much intercontinental data traffic goes through cables?", k=3)
        assert hits[0].chunk.source == "cables-note.docx"
        assert store.epoch == store.active_epoch() == epoch and store.epochs() == {epoch}
        assert state(store) == before
