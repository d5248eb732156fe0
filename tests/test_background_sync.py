"""`serve` answers while the library is synced in the background: health and answers say how
far indexing is, and documents become answerable as they are committed."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from assistant.composition import build_embedder, build_store, build_web_app
from assistant.settings import Settings
from ingest import IngestOptions, SyncProgress, ingest

from .conftest import NIS2, POA_2023, copy_corpus

QUESTION = "Within how many hours must an early warning of a significant incident be submitted?"


def wait_for(condition, seconds: float = 300.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_the_app_answers_while_the_first_sync_runs(tmp_path, embedder):
    corpus = copy_corpus(tmp_path, (NIS2, POA_2023, "SOURCES.md"))
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, rate_limit_per_minute=1000)
    # another writer holds the store, so the background sync has to wait: the app is up anyway
    blocker = build_store(settings, embedder)
    blocker.open(create=True)
    with blocker.writing():
        app = build_web_app(settings, chat=False, sync=True, embedder=embedder, background=True)
        client = TestClient(app)
        health = client.get("/api/v1/health").json()
        assert health["documents"] == 0
        assert health["indexing"]["running"] is True
        waiting = client.post("/api/v1/ask", json={"question": QUESTION}).json()
        assert waiting["abstained"] is True
        assert "still being indexed" in waiting["answer"]
    wait_for(lambda: not client.get("/api/v1/health").json()["indexing"]["running"])
    health = client.get("/api/v1/health").json()
    assert health["documents"] == 2
    assert health["indexing"] == {
        "running": False,
        "done": 2,
        "total": 2,
        "message": "indexed 2 of 2 documents",
    }
    answer = client.post("/api/v1/ask", json={"question": QUESTION}).json()
    assert not answer["abstained"] and "24 hours" in answer["answer"]
    assert "still being indexed" not in answer["answer"]
    assert {c["source"] for c in answer["citations"]} >= {NIS2}


def test_progress_counts_documents_as_they_are_committed(tmp_path, embedder, store):
    corpus = copy_corpus(tmp_path, (NIS2, POA_2023, "SOURCES.md"))
    tracker = SyncProgress(running=True)
    seen: list[tuple[int, int]] = []
    original = store.commit_document

    def commit(record):
        seen.append((tracker.done, len(store.documents())))
        original(record)

    store.commit_document = commit
    options = IngestOptions(root=corpus, commit_every=1)  # one document a group
    report = ingest([corpus], store, embedder, options, progress=False, tracker=tracker)
    assert report.added and tracker.total == 2 and tracker.done == 2
    # the first document was committed (and counted) before the second one was
    assert seen == [(0, 0), (1, 1)]


def test_a_second_serve_on_a_synced_store_does_not_embed_again(tmp_path, embedder):
    corpus = copy_corpus(tmp_path, (NIS2, "SOURCES.md"))
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    build_web_app(settings, chat=False, sync=True, embedder=embedder)  # the first, synchronous
    app = build_web_app(
        settings, chat=False, sync=True, embedder=build_embedder(settings), background=True
    )
    client = TestClient(app)
    wait_for(lambda: not client.get("/api/v1/health").json()["indexing"]["running"])
    assert client.get("/api/v1/health").json()["documents"] == 1
    assert "unchanged 1" in app.state.doors.library.last_sync["summary"]
