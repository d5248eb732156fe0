"""Agreed-language tracing on the session library: the 2023 Programme of Action resolution
repeats paragraphs of the 2022 one, some word for word, some with words changed (read in both
texts: A/RES/77/37 and A/RES/78/16, preambular paragraph "Calling upon Member States to be
guided…", whose list of reports the 2023 text rewrote)."""

from __future__ import annotations

import json

import httpx
import pytest

from assistant import TraceError, build_assistant

from .conftest import NIS2, POA_2022, POA_2023, cli, served

# A/RES/77/37, preamble, verbatim
CALLING_2022 = (
    "Calling upon Member States to be guided in their use of information and communications "
    "technologies by the 2010, 2013, 2015 and 2021 reports of the Group of Governmental Experts "
    "and the 2021 report of the Open-ended Working Group,"
)
# made up: a stock opening of these resolutions, then wording found nowhere
LONE = (
    "Recalling its resolution 73/27 of 5 December 2018, and welcoming the guidelines on the "
    "cyber resilience of offshore wind farms adopted by the North Sea energy council,"
)


@pytest.fixture(scope="module")
def assistant(settings, embedder):
    from assistant.composition import build_searcher

    return build_assistant(settings, build_searcher(settings, embedder), llm=None)


def test_a_changed_paragraph_is_found_with_what_changed(assistant):
    traced = assistant.trace(CALLING_2022, source=POA_2022)
    assert traced.selected is not None and traced.selected.source == POA_2022
    [match] = [m for m in traced.matches if m.citation.source == POA_2023]
    assert 0.5 <= match.similarity < 0.95
    removed = " ".join(d["text"] for d in match.diff if d["op"] == "removed")
    added = " ".join(d["text"] for d in match.diff if d["op"] == "added")
    assert "reports of the Group" in removed and "groups" in added
    assert "assessments and recommendations of the" in added
    kept = " ".join(d["text"] for d in match.diff if d["op"] != "removed")
    assert kept == match.citation.quote  # the diff rebuilds the other document's span
    assert all(m.citation.source != POA_2022 for m in traced.matches)  # elsewhere only


def test_matches_are_ordered_by_date_and_boilerplate_is_no_twin(assistant):
    poa = assistant.searcher.store.chunks_of(assistant.searcher.documents[POA_2023])
    recalling = next(c for c in poa if c.text.startswith("Recalling its resolutions 43/78 H"))
    traced = assistant.trace(source=POA_2023, text=recalling.text)
    dates = [m.citation.date for m in traced.matches]
    assert dates == sorted(dates) and POA_2022 in {m.citation.source for m in traced.matches}
    assert assistant.trace(LONE).matches == []


def test_unknown_documents_and_locators_are_one_line_errors(assistant):
    with pytest.raises(TraceError, match="no document 'nope.pdf'"):
        assistant.trace(source="nope.pdf", locator="paragraph 1")
    with pytest.raises(TraceError, match="has no passage at 'paragraph 99'"):
        assistant.trace(source=POA_2023, locator="paragraph 99")
    with pytest.raises(TraceError, match="four words"):
        assistant.trace("too short")


def test_the_cli_traces_a_passage_by_locator(library):
    done = cli(library, "trace", POA_2023, "paragraph 5", "--json")
    assert done.returncode == 0, done.stderr
    matches = json.loads(done.stdout)
    for m in matches:
        assert {"source", "title", "quote", "symbol", "date", "similarity", "diff"} <= set(m)
        assert m["source"] != POA_2023 and 0 < m["similarity"] <= 1
    text = cli(library, "trace", "--text", CALLING_2022, "--doc", POA_2023)
    assert text.returncode == 0, text.stderr
    assert "A/RES/78/16 (UN General Assembly, 4 December 2023)" in text.stdout
    assert "[-reports of the Group-]" in text.stdout
    wrong = cli(library, "trace", POA_2023, "paragraph 99")
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1


def test_the_api_traces_and_refuses_what_it_cannot(settings, embedder):
    from assistant.composition import build_web_app

    app = build_web_app(settings, chat=False, sync=False, embedder=embedder)
    with served(app) as url:
        found = httpx.post(f"{url}/api/v1/trace", json={"text": CALLING_2022}, timeout=60)
        assert found.status_code == 200, found.text
        sources = [m["source"] for m in found.json()["matches"]]
        assert POA_2022 in sources and POA_2023 in sources
        assert sources.index(POA_2022) < sources.index(POA_2023)  # oldest first
        scoped = httpx.post(
            f"{url}/api/v1/trace",
            json={"text": CALLING_2022, "scope": {"documents": [NIS2]}},
            timeout=60,
        )
        assert scoped.status_code == 200 and scoped.json()["matches"] == []
        for body, status in [
            ({"source": "nope.pdf", "locator": "paragraph 1"}, 404),
            ({"text": "two words"}, 422),
            ({}, 422),
            ({"text": CALLING_2022, "colour": 1}, 422),
        ]:
            refused = httpx.post(f"{url}/api/v1/trace", json=body, timeout=60)
            assert refused.status_code == status, (body, refused.text)


def test_a_whole_document_is_traced_paragraph_by_paragraph(library, assistant):
    poa = assistant.searcher.store.chunks_of(assistant.searcher.documents[POA_2023])
    several = next(c for c in poa if c.text.startswith("Noting that considerable progress"))
    traces = assistant.trace_paragraphs(several.text, POA_2023)
    assert traces[0].text.startswith("Noting that considerable progress")
    assert POA_2022 in {m.citation.source for m in traces[0].matches}
    done = cli(library, "trace", POA_2023, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and all(r["traced"]["source"] == POA_2023 for r in rows)
    assert {r["source"] for r in rows} <= {POA_2022}  # the library's only other UN text
