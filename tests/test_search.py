"""`policy-assistant ingest` and `search` end to end, on real documents with answers checked by hand."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CORPUS, make_docx, make_html

NIS2 = "eu-nis2-directive-2022-2555.md"
POA_2022 = "un-ga-resolution-77-37-programme-of-action-2022.txt"
POA_2023 = "un-ga-resolution-78-16-programme-of-action-2023.pdf"
DOCS = [
    NIS2,
    POA_2022,
    POA_2023,
    "quad-senior-cyber-group-joint-cybersecurity-statement-2023-02-02.md",
    "us-wh-statement-iran-cyberattack-against-albania-2022-09-07.md",
    "SOURCES.md",
]


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).with_name("policy-assistant")), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> dict[str, str]:
    """A corpus ingested by the real CLI; returns the environment that points at it."""
    root = tmp_path_factory.mktemp("library")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in DOCS:
        shutil.copy(CORPUS / name, corpus / name)
    make_html(corpus / "brief.html")
    make_docx(corpus / "cables-note.docx")
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(root / "data"),
    }
    done = cli(env, "ingest", "--quiet")
    assert done.returncode == 0, done.stderr
    assert "added 7, updated 0, unchanged 0, removed 0, failed 0" in done.stdout
    return env


def search(env, query: str, k: int = 5) -> list[dict]:
    done = cli(env, "search", query, "-k", str(k), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_json_has_exactly_the_documented_keys(library):
    hits = search(library, "incident notification", k=3)
    assert len(hits) == 3
    for hit in hits:
        assert set(hit) == {"source", "title", "page", "locator", "score", "text"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


# (question, expected source, expected locator prefix or page); answers checked in the documents
CASES = [
    # NIS2 Article 23(4)(a): "within 24 hours of becoming aware of the significant incident, an early warning"
    ("What does Article 23 of NIS2 require for reporting?", NIS2, "Article 23"),
    # NIS2 Article 16 establishes EU-CyCLONe (an acronym query)
    ("EU-CyCLONe", NIS2, "Article 16"),
    # NIS2 Article 10(1): "Each Member State shall designate or establish one or more CSIRTs"
    ("Which bodies must each Member State designate as CSIRTs?", NIS2, "Article 10"),
    # A/RES/77/37 paragraph 4: regional consultations convened by the Office for Disarmament Affairs
    (
        "regional consultations by the Office for Disarmament Affairs on the programme of action",
        POA_2022,
        "paragraph 4",
    ),
    # generated DOCX, Article 3 paragraph 1
    (
        "How much intercontinental data traffic goes through submarine cables?",
        "cables-note.docx",
        "Article 3",
    ),
    # generated HTML (main content only)
    (
        "How many confidence-building measures did the OSCE adopt?",
        "brief.html",
        "Confidence-building measures",
    ),
]


@pytest.mark.parametrize(("question", "source", "locator"), CASES)
def test_search_finds_the_right_document_and_locator(library, question, source, locator):
    hits = search(library, question, k=3)
    assert hits[0]["source"] == source, hits[0]
    assert any((h["locator"] or "").startswith(locator) for h in hits if h["source"] == source), (
        hits
    )


def test_pdf_hits_carry_their_page(library):
    # A/RES/78/16, page 1: "Resolution adopted by the General Assembly on 4 December 2023"
    hits = search(library, "When was resolution 78/16 on the programme of action adopted?", k=3)
    first = next(h for h in hits if h["source"] == POA_2023)
    assert first["page"] == 1 and "4 December 2023" in first["text"]


def test_cli_errors_are_one_line(tmp_path, library):
    env = {**library, "POLICY_ASSISTANT_CHUNK_MAX_TOKENS": "128"}
    done = cli(env, "search", "anything")
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "ingest --rebuild" in done.stderr
    empty = cli({"POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "none")}, "search", "anything")
    assert empty.returncode == 1 and "run `policy-assistant ingest`" in empty.stderr


@pytest.mark.parametrize("command", ["ingest", "search", "shell"])
def test_help_explains_each_command(command):
    done = cli({}, command, "--help")
    assert done.returncode == 0
    assert "usage: policy-assistant " + command in done.stdout
    if command != "shell":
        assert "examples:" in done.stdout
