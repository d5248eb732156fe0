"""Document metadata and asking within a scope: through the core, the CLI and the JSON API.

The session library holds NIS2 (European Union), the two Programme of Action resolutions (UN
General Assembly, 2022 and 2023), a Quad and a White House statement (catalogued), and a
generated HTML and DOCX that no catalogue lists (no metadata: nothing is guessed).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx
import pytest

from assistant import Scope, ScopeError, build_assistant

from .conftest import CORPUS, NIS2, POA_2022, POA_2023, cli, copy_corpus, served

UN = {POA_2022, POA_2023}
QUAD = "quad-senior-cyber-group-joint-cybersecurity-statement-2023-02-02.md"


@pytest.fixture(scope="module")
def assistant(settings, embedder):
    from assistant.composition import build_searcher

    return build_assistant(settings, build_searcher(settings, embedder), llm=None)


def test_documents_carry_metadata_from_the_catalogue_and_none_is_guessed(library):
    done = cli(library, "documents", "list", "--json")
    assert done.returncode == 0, done.stderr
    docs = {d["source"]: d for d in json.loads(done.stdout)}
    assert {k: docs[NIS2][k] for k in ("body", "doc_type", "date", "symbol")} == {
        "body": "European Union",
        "doc_type": "directive",
        "date": "2022-12-14",
        "symbol": "Directive (EU) 2022/2555",
    }
    assert docs[POA_2023]["symbol"] == "A/RES/78/16" and docs[POA_2023]["date"] == "2023-12-04"
    assert docs[QUAD]["body"] == "Quad" and docs[QUAD]["symbol"] is None
    for generated in ("brief.html", "cables-note.docx"):
        assert [docs[generated][k] for k in ("body", "doc_type", "date", "symbol")] == [None] * 4


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "un-ga-resolution-77-37-programme-of-action-2022.txt",
            ("UN General Assembly", "resolution", "2022-12-07", "A/RES/77/37"),
        ),
        (
            "eu-cyber-resilience-act-regulation-2024-2847.md",
            ("European Union", "regulation", "2024-10-23", "Regulation (EU) 2024/2847"),
        ),
        # front matter gives the date; nothing in the text says who issued it or what it is
        ("g7-hiroshima-leaders-communique-2023-05-20.md", (None, None, "2023-05-20", None)),
    ],
)
def test_an_uncatalogued_upload_gets_what_its_own_text_states(tmp_path, embedder, name, expected):
    from ingest.chunking import ChunkingConfig
    from ingest.prepare import prepare_document

    path = tmp_path / f"upload-{name}"
    shutil.copy(CORPUS / name, path)
    data = path.read_bytes()
    record, *_ = prepare_document(
        path,
        path.name,
        data,
        hashlib.sha256(data).hexdigest(),
        ChunkingConfig(),
        embedder.tokenizer,
        {},  # no catalogue
    )
    assert (record.body, record.doc_type, record.date, record.symbol) == expected


def test_a_scoped_search_returns_k_passages_all_in_scope(assistant):
    # Quad's statement answers this best; within the UN scope the UN passages come instead
    query = "Quad senior cyber group joint statement on cybersecurity"
    assert assistant.search(query, 3)[0].source == QUAD
    un = assistant.search(query, 8, Scope.make(bodies=["un general assembly"]))
    assert len(un) == 8 and {c.source for c in un} <= UN
    assert all(c.body == "UN General Assembly" for c in un)
    recent = assistant.search(query, 8, Scope.make(types=["resolution"], since="2023-01"))
    assert len(recent) == 8 and {c.source for c in recent} == {POA_2023}
    one = assistant.search("incident notification", 8, Scope.make(documents=[NIS2]))
    assert len(one) == 8 and {c.source for c in one} == {NIS2}


def test_a_scoped_answer_cites_only_the_scope_and_says_what_it_speaks_for(assistant):
    question = "Within how many hours must an early warning of a significant incident be submitted?"
    assert assistant.ask(question).citations[0].source == NIS2
    scope = Scope.make(bodies=["UN General Assembly"])
    answer = assistant.ask(question, scope=scope)
    assert answer.citations and {c.source for c in answer.citations} <= UN
    if answer.abstained:  # the resolutions set no such deadline
        assert answer.answer.startswith("Within the scope (UN General Assembly), the library")
    follow_up = assistant.ask(
        "And what does it establish?", [{"role": "user", "content": question}], scope
    )
    assert {c.source for c in follow_up.citations} <= UN


def test_a_scope_that_matches_nothing_says_so(assistant):
    answer = assistant.ask("What is the fine?", scope=Scope.make(bodies=["OSCE"]))
    assert answer.abstained and not answer.citations
    assert answer.answer == "No document in the library matches the scope (OSCE)."
    with pytest.raises(ScopeError, match="since 2024 is after until 2020"):
        Scope.make(since="2024", until="2020")
    with pytest.raises(ScopeError, match="ISO date"):
        Scope.make(since="last year")


def test_a_fixed_scope_can_be_narrowed_never_widened(settings, embedder):
    from assistant.composition import build_searcher

    fixed = settings.model_copy(update={"fixed_scope": '{"bodies": ["UN General Assembly"]}'})
    assistant = build_assistant(fixed, build_searcher(fixed, embedder), llm=None)
    question = "What must essential entities notify under Article 23?"
    assert {c.source for c in assistant.ask(question).citations} <= UN
    widened = assistant.ask(question, scope=Scope.make(documents=[NIS2]))
    assert widened.abstained and not widened.citations
    narrowed = assistant.search(question, 5, Scope.make(since="2023"))
    assert {c.source for c in narrowed} == {POA_2023}


def test_the_cli_takes_a_scope_and_refuses_a_bad_one_in_one_line(library):
    done = cli(
        library,
        "search",
        "incident notification",
        "--body",
        "UN General Assembly",
        "-k",
        "6",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout)
    assert len(hits) == 6 and {h["source"] for h in hits} <= UN
    assert all(h["symbol"] in ("A/RES/77/37", "A/RES/78/16") for h in hits)
    asked = cli(library, "ask", "What is an early warning?", "--doc", NIS2, "--json")
    assert asked.returncode == 0, asked.stderr
    assert {c["source"] for c in json.loads(asked.stdout)["citations"]} == {NIS2}
    bad = cli(library, "ask", "anything", "--until", "31/12/2024")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "ISO date" in bad.stderr
    empty = cli(library, "search", "anything", "--type", "treaty")
    assert empty.returncode == 1
    assert "no document in the library matches the scope (type treaty)" in empty.stderr


def test_the_api_scopes_ask_stream_and_search(settings, embedder):
    from assistant.composition import build_web_app

    app = build_web_app(settings, chat=False, sync=False, embedder=embedder)
    scope = {"bodies": ["UN General Assembly"], "since": "2023-01-01"}
    with served(app) as url:
        found = httpx.post(
            f"{url}/api/v1/search", json={"query": "incident reporting", "k": 5, "scope": scope}
        )
        assert found.status_code == 200, found.text
        cited = found.json()["citations"]
        assert len(cited) == 5 and {c["source"] for c in cited} == {POA_2023}
        assert cited[0]["date"] == "2023-12-04" and cited[0]["doc_type"] == "resolution"
        asked = httpx.post(
            f"{url}/api/v1/ask",
            json={"question": "What is the programme of action?", "scope": scope},
            timeout=60,
        )
        assert {c["source"] for c in asked.json()["citations"]} == {POA_2023}
        with httpx.stream(
            "POST",
            f"{url}/api/v1/ask/stream",
            json={"question": "What must be notified?", "scope": {"documents": [NIS2]}},
            timeout=60,
        ) as streamed:
            final = [line for line in streamed.iter_lines() if line.startswith("data:")][-1]
        assert {c["source"] for c in json.loads(final[5:])["citations"]} == {NIS2}
        for bad, why in [
            ({"since": "2023-13"}, "ISO date"),
            ({"colour": "red"}, "Extra inputs"),
            ({"bodies": ["Nobody"]}, "No document in the library matches"),
        ]:
            refused = httpx.post(f"{url}/api/v1/search", json={"query": "x", "scope": bad})
            assert refused.status_code == 422 and why in refused.text, refused.text


def test_editors_correct_metadata_and_a_sync_keeps_it(tmp_path, embedder):
    from assistant.composition import build_web_app
    from assistant.settings import Settings

    corpus = copy_corpus(tmp_path, [POA_2022, "SOURCES.md"])
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, admin_token="editor")
    app = build_web_app(settings, chat=False, sync=True, embedder=embedder)
    admin = {"Authorization": "Bearer editor"}
    with served(app) as url:
        target = f"{url}/api/v1/documents/{POA_2022}"
        assert httpx.patch(target, json={"symbol": "X"}).status_code == 401
        bad = httpx.patch(target, json={"date": "7 Dec 2022"}, headers=admin)
        assert bad.status_code == 422 and "not an ISO date" in bad.text
        assert (
            httpx.patch(
                f"{url}/api/v1/documents/nope.txt", json={"symbol": "X"}, headers=admin
            ).status_code
            == 404
        )
        edited = httpx.patch(
            target, json={"body": "UN GA (First Committee)", "date": ""}, headers=admin
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["body"] == "UN GA (First Committee)" and edited.json()["date"] is None
        assert edited.json()["symbol"] == "A/RES/77/37"  # not given: unchanged
    # a sync after the catalogue changed re-reads the metadata, but keeps the editor's fields
    catalogue = corpus / "SOURCES.md"
    catalogue.write_text(catalogue.read_text().replace("A/RES/77/37 |", "A/RES/77/37 (rev.) |"))
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    synced = cli(env, "ingest", "--quiet")
    assert "metadata of 1 re-read" in synced.stdout, synced.stdout
    [doc] = json.loads(cli(env, "documents", "list", "--json").stdout)
    assert doc["body"] == "UN GA (First Committee)" and doc["date"] is None
    assert doc["symbol"] == "A/RES/77/37 (rev.)"
    assert Path(corpus / POA_2022).exists()
