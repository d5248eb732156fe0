"""The same ingest and search flow against a real `chroma run` server."""

from __future__ import annotations

import pytest

from .conftest import TEXT, cli
from .test_search import search

pytestmark = pytest.mark.server


def test_ingest_and_search_through_a_chroma_server(chroma_server, small_corpus, tmp_path):
    env = {
        "POLICY_ASSISTANT_CHROMA_URL": chroma_server,
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "POLICY_ASSISTANT_COLLECTION": "server_test",
    }
    done = cli(env, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "added 5," in done.stdout
    assert not (tmp_path / "data" / "chroma").exists(), "vectors went to the server, not to disk"

    hits = search(env, "How much intercontinental data traffic goes through submarine cables?")
    assert hits[0]["source"] == "cables-note.docx"

    again = cli(env, "ingest", "--quiet")
    assert "added 0, updated 0, unchanged 5" in again.stdout

    (small_corpus / TEXT).unlink()
    pruned = cli(env, "ingest", "--prune", "--quiet")
    assert "removed 1" in pruned.stdout
    # a second app process with its own data dir rebuilds its lexical index from the server
    other = {**env, "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "other")}
    hits = search(other, "resolution 76/19 endorsing the OEWG and GGE reports", k=10)
    assert hits and all(h["source"] != TEXT for h in hits)


def test_unreachable_server_is_a_one_line_error(small_corpus, tmp_path):
    from .conftest import free_port

    env = {
        "POLICY_ASSISTANT_CHROMA_URL": f"http://127.0.0.1:{free_port()}",
        "POLICY_ASSISTANT_CORPUS_DIR": str(small_corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    done = cli(env, "search", "anything")
    assert done.returncode == 1
    assert done.stderr.startswith("error: cannot reach the Chroma server")
    assert done.stderr.strip().count("\n") == 0
