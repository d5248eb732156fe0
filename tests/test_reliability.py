"""Faults: an ingest killed at several points, no outbound connections, no 5xx on fuzzed requests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from vectorstore import ChunkStore, HybridSearcher, connect

from .conftest import cli, fingerprint_for, free_port

ENTRY = str(Path(sys.executable).with_name("policy-assistant"))


def store_state(data_dir: Path, embedder) -> tuple[dict[str, str], list[str]]:
    """(source -> content hash of committed documents, sorted ids of their chunks)."""
    store = ChunkStore(connect(data_dir), "policy_assistant", fingerprint_for(embedder)).open()
    docs = store.documents()
    visible = {r.key for r in docs.values()}
    ids = sorted(c.id for c in store.iter_chunks() if c.key in visible)
    return {s: r.content_hash for s, r in docs.items()}, ids


def ingest_killed(env: dict[str, str], after_commits: int) -> int:
    """Run `policy-assistant ingest`, SIGKILL it after its ``after_commits``-th committed document
    (0: as soon as it shows progress, before anything is written); the chunks it had written."""
    proc = subprocess.Popen(
        [ENTRY, "ingest"], env={**os.environ, **env, "POLICY_ASSISTANT_INGEST_COMMIT_CHUNKS": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    written = -1
    buffer = ""
    while proc.poll() is None:  # tqdm redraws its bars with \r: read character by character
        char = proc.stderr.read(1)
        if not char:
            break
        buffer = "" if char in "\r\n" else buffer + char
        progress = re.match(r"chunks:.*\|\s*(\d+)/(\d+)", buffer)
        if after_commits == 0 and buffer.startswith("files:"):
            break
        if progress and "[" in buffer:  # a whole line: "... 5/25 [00:01<...]"
            commits = int(progress.group(1))
            if commits > written:
                written = commits
                after_commits -= commits > 0
                if after_commits <= 0:
                    break
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return max(written, 0)


def check_whole_documents(data_dir: Path, embedder) -> ChunkStore:
    """The store opens, searches, and holds every committed document with all its chunks."""
    store = ChunkStore(connect(data_dir), "policy_assistant", fingerprint_for(embedder)).open()
    chunks = list(store.iter_chunks())
    for record in store.documents().values():
        mine = [
            c for c in chunks if (c.source, c.content_hash) == (record.source, record.content_hash)
        ]
        assert len(mine) == record.chunks, record.source
    searcher = HybridSearcher(store, embedder, data_dir / "lexical-probe", refresh_seconds=0)
    hits = searcher.search("cyber", k=3)
    assert len(hits) == min(3, sum(r.chunks for r in store.documents().values()))
    return store


def test_ingest_killed_at_several_points_recovers(small_corpus, tmp_path, embedder):
    reference = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "ref"),
    }
    assert cli(reference, "ingest", "--quiet").returncode == 0
    expected = store_state(tmp_path / "ref", embedder)

    env = {**reference, "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "killed")}
    committed_before = 0
    for after_commits in (0, 1, 2):  # before any write, after one document, after two more
        ingest_killed(env, after_commits)
        store = check_whole_documents(tmp_path / "killed", embedder)
        docs, ids = store_state(tmp_path / "killed", embedder)
        assert docs.items() <= expected[0].items()
        assert set(ids) <= set(expected[1])
        assert len(docs) >= committed_before + min(after_commits, 1)  # it got somewhere
        committed_before = len(docs)
        del store
    assert 0 < committed_before < len(expected[0]), "the kills left work for the rerun"
    done = cli(env, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert store_state(tmp_path / "killed", embedder) == expected


TEAR_WRITES = """
import sys, random
from vectorstore import Chunk, ChunkStore, connect
store = ChunkStore(connect(sys.argv[1]), "policy_assistant", {fingerprint!r}).open()
start, n = int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(start)
chunks = [Chunk(f"junk-{{i}}", "junk", "junk.txt", "junk", "0" * 64, i) for i in range(start, start + n)]
store.add_chunks(chunks, [[rng.gauss(0, 1) for _ in range({dim})] for _ in chunks])
"""


def test_torn_vector_index_is_reported_and_rebuilt_by_ingest(small_corpus, tmp_path, embedder):
    """Chroma writes its HNSW files in place every 1,000 records: a writer killed between the
    data files and index_metadata.pickle leaves a collection Chroma cannot read at all
    (chroma-core/chroma#5366). The kill cannot be timed to land there, so the test builds that
    exact state from Chroma's own files: the index files of a later write with the pickle and
    SQLite of an earlier one. Then: search answers from BM25 with a one-line warning naming the
    fix, and the next ingest rebuilds the store to the state of an uninterrupted ingest."""
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    assert cli(env, "ingest", "--quiet").returncode == 0
    expected = store_state(tmp_path / "data", embedder)

    script = tmp_path / "tear.py"
    script.write_text(
        TEAR_WRITES.format(fingerprint=fingerprint_for(embedder), dim=embedder.dimension)
    )
    chroma = tmp_path / "data" / "chroma"

    def write(start: int, n: int) -> None:  # uncommitted passages, as a killed ingest leaves
        run = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "data"), str(start), str(n)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]

    write(0, 1100)  # the index is written to disk at 1,000 records
    pickles = list(chroma.glob("*/index_metadata.pickle"))
    assert len(pickles) == 1
    earlier = {p: p.read_bytes() for p in [*pickles, chroma / "chroma.sqlite3"]}
    write(1100, 1100)  # written again at 2,000: the write the kill tears
    for path, data in earlier.items():
        path.write_bytes(data)
    for leftover in chroma.glob("chroma.sqlite3-*"):
        leftover.unlink()

    # search still answers, from BM25, and says once what is wrong and how to fix it
    searched = cli(env, "search", "cyber")
    assert searched.returncode == 0, searched.stderr[-2000:]
    assert searched.stdout.startswith("[1] ")
    [warning] = [line for line in searched.stderr.splitlines() if "Chroma" in line]
    assert "run `policy-assistant ingest`" in warning, warning

    repaired = cli(env, "ingest")
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert "store rebuilt" in repaired.stdout, repaired.stdout
    assert store_state(tmp_path / "data", embedder) == expected
    check_whole_documents(tmp_path / "data", embedder)
    assert cli(env, "search", "cyber").returncode == 0


def test_a_searcher_sees_what_another_process_ingested(small_corpus, tmp_path, embedder):
    """An embedded store written by another process (the CLI while the app serves): after the
    next refresh, dense search finds the new passages too, not only BM25."""
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    assert cli(env, "ingest", "--quiet").returncode == 0
    store = ChunkStore(
        connect(tmp_path / "data"), "policy_assistant", fingerprint_for(embedder)
    ).open()
    searcher = HybridSearcher(store, embedder, tmp_path / "lexical", refresh_seconds=0)
    question = "Which duties does the Kestrel framework give incident handlers?"
    assert not any(h.chunk.source == "kestrel.md" for h in searcher.search(question, k=5))

    (small_corpus / "kestrel.md").write_text(kestrel("first edition"))
    assert cli(env, "ingest", "--quiet").returncode == 0
    dense = searcher.dense(question, 5)
    assert dense and dense[0][0].source == "kestrel.md", [c.source for c, _ in dense]


def test_one_writing_process_at_a_time(small_corpus, tmp_path, embedder):
    """While another process writes to the embedded store, `policy-assistant ingest` waits (and
    says so) and an upload through the app is refused with 409, not run alongside."""
    from fastapi.testclient import TestClient

    from assistant.composition import build_web_app
    from assistant.settings import Settings

    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    assert cli(env, "ingest", "--quiet").returncode == 0
    settings = Settings(
        corpus_dir=small_corpus, data_dir=tmp_path / "data", admin_token="t",
        rate_limit_per_minute=0, store_refresh_seconds=0,
    )  # fmt: skip
    client = TestClient(build_web_app(settings, chat=False, sync=False, embedder=embedder))
    holder = ChunkStore(connect(tmp_path / "data"), "policy_assistant", fingerprint_for(embedder))
    (small_corpus / "kestrel.md").write_text(kestrel("first edition"))
    with holder.writing():
        proc = subprocess.Popen(
            [ENTRY, "ingest", "--quiet"], env={**os.environ, **env},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        assert "waiting for it to finish" in proc.stderr.readline()
        upload = client.post(
            "/api/v1/documents",
            headers={"Authorization": "Bearer t"},
            files={"file": ("note.md", b"# Note\n\nThe Osprey rule applies to all agencies.\n")},
        )
        assert upload.status_code == 409, upload.text
        assert "another process is writing" in upload.json()["error"]
        assert not (small_corpus / "uploads").exists() or not any(
            (small_corpus / "uploads").iterdir()
        )
        time.sleep(1)
        assert proc.poll() is None, "the ingest ran while the lock was held"
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert "added 1" in out
    r = client.post(
        "/api/v1/ask",
        json={"question": "What must incident handlers do under the Kestrel framework?"},
    )
    assert any(c["source"] == "kestrel.md" for c in r.json()["citations"]), r.json()


def test_app_opens_no_outbound_connection(tmp_path, library):
    """The whole app (Gradio included) started, asked and browsed, with every socket connect and
    name lookup recorded by an audit hook; only loopback is allowed."""
    port = free_port()
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(f"""
        import ipaddress, json, sys, threading, time
        seen = []
        def hook(event, args):
            if event == "socket.connect":
                seen.append(("connect", repr(args[1])))
            elif event == "socket.getaddrinfo":
                seen.append(("lookup", str(args[0])))
        sys.addaudithook(hook)
        from assistant.environment import configure_environment
        configure_environment()
        import httpx, uvicorn
        from assistant.composition import build_web_app
        from assistant.settings import Settings
        settings = Settings(corpus_dir={library["POLICY_ASSISTANT_CORPUS_DIR"]!r},
                            data_dir={library["POLICY_ASSISTANT_DATA_DIR"]!r})
        app = build_web_app(settings, chat=True, sync=True)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port={port}, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.1)
        base = "http://127.0.0.1:{port}"
        httpx.get(base + "/", timeout=60)
        httpx.get(base + "/embed", timeout=60)
        httpx.post(base + "/api/v1/ask", json={{"question": "What does Article 23 of NIS2 require?"}}, timeout=60)
        time.sleep(3)  # let background threads (version checks, telemetry) run if there were any
        server.should_exit = True
        print(json.dumps(seen))
    """)
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    events = json.loads(out.stdout.strip().splitlines()[-1])
    assert events, "the audit hook saw no connection at all"
    allowed = ("127.0.0.1", "localhost", "'::1'", "::1")
    outside = [
        e for e in events if not any(a in e[1] for a in allowed) and not e[1].startswith("'/")
    ]
    assert not outside, outside


def kestrel(version: str) -> str:
    paragraphs = [
        f"{n}. Under the {version} of the Kestrel framework, incident handlers must log every "
        f"alert, rank it by severity and notify the Kestrel board; this is rule {n} of the "
        f"{version}, which applies to all member agencies."
        for n in range(1, 13)
    ]
    return "# The Kestrel framework\n\n" + "\n\n".join(paragraphs) + "\n"


def test_questions_during_a_reingest_never_see_half_a_document(tmp_path, embedder):
    """Ask while a changed document is re-ingested: no errors, and an answer's passages of that
    document all come from one version, the old or the new."""
    from fastapi.testclient import TestClient

    from assistant.composition import build_web_app
    from assistant.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kestrel.md").write_text(kestrel("first edition"))
    settings = Settings(
        corpus_dir=corpus, data_dir=tmp_path / "data", admin_token="t", rate_limit_per_minute=0,
        store_refresh_seconds=0,
    )  # fmt: skip
    client = TestClient(build_web_app(settings, chat=False, sync=True, embedder=embedder))
    stop = threading.Event()
    seen: list[set[str]] = []
    errors: list[str] = []

    def ask_repeatedly() -> None:
        while not stop.is_set():
            r = client.post(
                "/api/v1/ask",
                json={"question": "What must incident handlers do under the Kestrel framework?"},
            )
            if r.status_code != 200:
                errors.append(r.text)
                continue
            quotes = [c["quote"] for c in r.json()["citations"] if c["source"] == "kestrel.md"]
            seen.append(
                {
                    "first" if "first edition" in q else "second" if "second edition" in q else "?"
                    for q in quotes
                }
            )

    asker = threading.Thread(target=ask_repeatedly)
    asker.start()
    try:
        time.sleep(1.0)
        (corpus / "kestrel.md").write_text(kestrel("second edition"))
        report = client.post("/api/v1/ingest", headers={"Authorization": "Bearer t"}).json()
        assert report["updated"] == ["kestrel.md"]
        time.sleep(1.5)
    finally:
        stop.set()
        asker.join(timeout=60)
    assert not errors, errors[:3]
    assert len(seen) >= 5
    assert all(len(versions) == 1 and "?" not in versions for versions in seen if versions), seen
    assert {"first"} in seen and {"second"} in seen, "questions were answered before and after"
