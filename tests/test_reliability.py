"""Faults: an ingest killed at several points, no outbound connections, no 5xx on fuzzed requests."""

from __future__ import annotations

import os
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
    ids = sorted(c.id for c in store.iter_chunks() if f"{c.source}@{c.content_hash}" in visible)
    return {s: r.content_hash for s, r in docs.items()}, ids


def ingest_killed_after(env: dict[str, str], delay: float) -> None:
    """Start `policy-assistant ingest`, wait until it embeds, SIGKILL it ``delay`` s later."""
    proc = subprocess.Popen(
        [ENTRY, "ingest"], env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = threading.Event()

    def watch() -> None:
        for line in proc.stderr:  # tqdm's progress lines
            if "chunks:" in line:
                seen.set()

    threading.Thread(target=watch, daemon=True).start()
    seen.wait(timeout=120)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_ingest_killed_at_several_points_recovers(small_corpus, tmp_path, embedder):
    reference = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "ref"),
    }
    assert cli(reference, "ingest", "--quiet").returncode == 0
    expected = store_state(tmp_path / "ref", embedder)

    env = {**reference, "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "killed")}
    for delay in (0.0, 1.5, 4.0):
        ingest_killed_after(env, delay)
        docs, ids = store_state(tmp_path / "killed", embedder)
        # whole documents only: every committed document has all its chunks
        store = ChunkStore(
            connect(tmp_path / "killed"), "policy_assistant", fingerprint_for(embedder)
        ).open()
        chunks = list(store.iter_chunks())
        for record in store.documents().values():
            mine = [
                c
                for c in chunks
                if c.source == record.source and c.content_hash == record.content_hash
            ]
            assert len(mine) == record.chunks, record.source
        assert (
            len(ids) == sum(r.chunks for r in store.documents().values())
            and docs.keys() <= expected[0].keys()
        )
        searcher = HybridSearcher(store, embedder, tmp_path / f"lexical-{delay}", refresh_seconds=0)
        searcher.search("cyber", k=3)  # opens and searches without error
    done = cli(env, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert store_state(tmp_path / "killed", embedder) == expected


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
        from assistant.cli import build_web_app
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

    from assistant.cli import build_web_app
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
