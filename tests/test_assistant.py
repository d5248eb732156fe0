"""The offline assistant on a real ingested library: grounded answers, checkable citations, abstention."""

from __future__ import annotations

import json
import re

import pytest

from assistant.composition import build_assistant, page_text_reader
from assistant.evaluate import citation_is_valid

from .conftest import NIS2, POA_2022, POA_2023, cli

CITATION_KEYS = {"n", "source", "title", "page", "locator", "quote", "url"} | {
    "body",
    "doc_type",
    "date",
    "symbol",
}


@pytest.fixture(scope="module")
def assistant(settings, embedder):
    from assistant.composition import build_searcher

    return build_assistant(settings, build_searcher(settings, embedder))


def check_grounded(answer, settings) -> None:
    """Every sentence ends with [n]; numbers are 1..N in order of first use; quotes are verbatim."""
    data = answer.as_json()
    assert set(data) == {"answer", "abstained", "citations", "confidence"}
    assert all(set(c) == CITATION_KEYS for c in data["citations"])
    parts = re.split(r"(?<=\])\s+", answer.answer)
    assert all(re.search(r"\[\d+\]$", p) for p in parts), answer.answer
    order = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)))
    assert order == list(range(1, len(order) + 1))
    assert [c.n for c in answer.citations] == order
    assert citation_is_valid(answer, page_text_reader(settings.corpus_dir))
    for c in answer.citations:
        for sentence in (p for p in parts if p.endswith(f"[{c.n}]")):
            body = sentence.rsplit(" [", 1)[0]
            assert body[:40] in c.quote, (body, c.quote)


def test_answer_cites_the_article_that_answers(assistant, settings):
    # NIS2 Article 23(4)(a): "within 24 hours of becoming aware of the significant incident, an early warning"
    answer = assistant.ask(
        "Within how many hours must an early warning of a significant incident be submitted under NIS2?"
    )
    assert not answer.abstained
    assert "24 hours" in answer.answer
    assert answer.citations[0].source == NIS2
    check_grounded(answer, settings)
    assert len(re.findall(r"\[\d+\]", answer.answer)) <= 5


def test_pdf_citation_has_page_and_link(assistant, settings):
    # A/RES/78/16 page 1: "Resolution adopted by the General Assembly on 4 December 2023"
    answer = assistant.ask(
        "On what date did the General Assembly adopt resolution 78/16 on the programme of action?"
    )
    assert not answer.abstained and "4 December 2023" in answer.answer
    cited = next(c for c in answer.citations if c.source == POA_2023 and "4 December" in c.quote)
    assert cited.page == 1
    assert cited.url == f"/documents/{POA_2023}#page=1"
    check_grounded(answer, settings)


def test_follow_up_uses_the_earlier_turns(assistant, settings):
    history = [
        {
            "role": "user",
            "content": "What did resolution 77/37 propose about a programme of action?",
        },
        {
            "role": "assistant",
            "content": "It welcomed the proposal to establish a programme of action [1].",
        },
    ]
    answer = assistant.ask("And when was it adopted?", history)
    # A/RES/77/37: "Resolution adopted by the General Assembly on 7 December 2022"
    assert not answer.abstained
    assert answer.citations[0].source == POA_2022
    assert "7 December 2022" in answer.answer
    check_grounded(answer, settings)


def test_german_question_finds_the_english_document(assistant):
    answer = assistant.ask(
        "Welche Frist gilt nach Artikel 23 der NIS2-Richtlinie für die Frühwarnung?"
    )
    assert not answer.abstained
    assert answer.citations[0].source == NIS2
    assert any((c.locator or "").startswith("Article 23") for c in answer.citations)


@pytest.mark.parametrize(
    "question",
    [
        "What is the best recipe for a French onion soup?",
        "What does Article 21 of the Budapest Convention say about interception?",  # not in the library
        "Who won the 2018 FIFA World Cup final?",
    ],
)
def test_abstains_when_the_library_does_not_answer(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained
    assert answer.answer.startswith("The library does not answer this question.")
    assert len(answer.citations) <= 2


def test_answers_carry_the_confidence_they_were_given_or_refused_on(assistant):
    """The JSON's ``confidence`` is the gate's: above the threshold for an answer, below it
    for an abstention the threshold made (the onion soup falls to the similarity floor)."""
    answered = assistant.ask(
        "Within how many hours must an early warning of a significant incident be submitted under NIS2?"
    )
    refused = assistant.ask("What is the best recipe for a French onion soup?")
    assert answered.as_json()["confidence"] >= assistant.min_confidence
    assert 0.0 <= refused.as_json()["confidence"] < answered.confidence <= 1.0


def test_stream_grows_to_the_complete_answer(assistant):
    question = "Which bodies must each Member State designate as CSIRTs under NIS2?"
    partials = list(assistant.stream(question))
    final = assistant.ask(question)
    assert partials[-1].as_json() == final.as_json()
    texts = [p.answer for p in partials]
    assert all(b.startswith(a) for a, b in zip(texts, texts[1:], strict=False))
    assert len(partials) >= 2 and len(texts[0]) < len(texts[-1])


def test_tampered_quote_is_caught(assistant, settings):
    from dataclasses import replace

    answer = assistant.ask("What does Article 23 of NIS2 require?")
    bad = replace(
        answer,
        citations=[replace(answer.citations[0], quote="Member States shall ban encryption.")]
        + answer.citations[1:],
    )
    assert citation_is_valid(answer, page_text_reader(settings.corpus_dir))
    assert not citation_is_valid(bad, page_text_reader(settings.corpus_dir))


def test_cli_ask_json_text_and_batch(library, tmp_path):
    done = cli(library, "ask", "What does Article 23 of NIS2 require?", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"answer", "abstained", "citations", "confidence"} and data["citations"]

    text = cli(library, "ask", "What does Article 23 of NIS2 require?")
    assert (
        "\nSources:\n[1] Directive (EU) 2022/2555 (European Union, 14 December 2022)" in text.stdout
    )

    history = tmp_path / "turns.json"
    history.write_text(json.dumps([{"role": "user", "content": "Tell me about resolution 77/37."}]))
    follow = cli(library, "ask", "When was it adopted?", "--history", str(history), "--json")
    assert json.loads(follow.stdout)["citations"][0]["source"] == POA_2022

    batch = tmp_path / "questions.jsonl"
    batch.write_text(
        json.dumps({"question": "What is EU-CyCLONe?"})
        + "\n"
        + json.dumps(
            {
                "question": "When was it adopted?",
                "history": [{"role": "user", "content": "resolution 77/37"}],
            }
        )
        + "\n"
    )
    out = cli(library, "ask", "--batch", str(batch), "--json")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["question"] for line in lines] == ["What is EU-CyCLONe?", "When was it adopted?"]
    assert all(
        set(line) == {"question", "answer", "abstained", "citations", "confidence"}
        for line in lines
    )

    bad = cli(library, "ask", "x", "--history", str(batch))
    assert bad.returncode == 1 and bad.stderr.startswith("error: ")


def test_cli_eval_reports_and_enforces_thresholds(library, tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join(
            json.dumps(c)
            for c in [
                {
                    "question": "Within how many hours must an early warning be sent under NIS2 Article 23?",
                    "gold_sources": [NIS2],
                    "must_contain": ["24 hours"],
                    "answerable": True,
                },
                {"question": "What is the best recipe for onion soup?", "answerable": False},
            ]
        )
    )
    done = cli(library, "eval", str(cases))
    assert done.returncode == 0, done.stderr
    table = dict(
        line.split()[:2]
        for line in done.stdout.splitlines()
        if line[:1].isalpha() and len(line.split()) == 2
    )
    assert float(table["gold_source_hit_rate"]) == 1.0
    assert float(table["citation_validity"]) == 1.0
    assert float(table["abstention_recall"]) == 1.0
    strict = cli(library, "eval", str(cases), "--min-gold", "1.01")
    assert strict.returncode == 1 and "below threshold" in strict.stderr


def test_offline_answers_skip_mastheads_and_datelines():
    """A UN resolution's masthead matches a question about that resolution word for word, but
    tells the reader nothing: the answer is built from the sentences that do."""
    from langchain_core.documents import Document

    from assistant.extractive import ExtractiveConfig, compose_offline

    passage = (
        "United Nations A/RES/77/37 General Assembly Distr.: General 12 December 2022 "
        "22-28102 (E) 151222\n"
        "23-26243 (E) 090124 *2326243* Seventy-seventh session Agenda item 94 Developments in "
        "the field of information and telecommunications in the context of the programme of "
        "action and resolution 77/37.\n"
        "In resolution 77/37 the General Assembly welcomes the proposal for a programme of "
        "action to advance responsible State behaviour in the use of information and "
        "communications technologies."
    )
    doc = Document(
        passage, metadata={"source": "a-res-77-37.pdf", "title": "A/RES/77/37", "score": 1.0}
    )
    question = "What does General Assembly resolution A/RES/77/37 welcome?"
    answer = compose_offline(question, question, [doc], ExtractiveConfig())
    assert not answer.abstained
    assert "programme of action" in answer.answer
    assert "Distr." not in answer.answer and "22-28102" not in answer.answer
    assert "23-26243" not in answer.answer and "Agenda item" not in answer.answer


def test_offline_answers_skip_recalled_resolutions_references_and_contents():
    """A list of earlier resolutions, a footnote's reference, a table of contents and a
    resolution's header lines share a question's dates and names, but none answers it; asked
    about earlier resolutions, the list is a candidate (and the header for a date or symbol)."""
    from langchain_core.documents import Document

    from assistant.extractive import ExtractiveConfig, compose_offline

    passage = (
        "Recalling its resolutions 75/240 of 31 December 2020 and 76/19 of 6 December 2021 on "
        "the open-ended working group on security in the use of ICTs.\n"
        "12 Report of the open-ended working group on security, vol. 1, “Final report” (2021).\n"
        "EXECUTIVE SUMMARY 2 ACKNOWLEDGMENTS 4 GLOSSARY 5 INTRODUCTION 7 The working group 9\n"
        "Decides that the open-ended working group shall hold its final session in July 2025 "
        "in New York."
    )
    doc = Document(passage, metadata={"source": "oewg.pdf", "title": "OEWG", "score": 1.0})
    question = "When will the open-ended working group on security hold its final session?"
    answer = compose_offline(question, question, [doc], ExtractiveConfig())
    assert answer.answer.startswith("Decides that the open-ended working group")
    assert "Recalling" not in answer.answer and "vol. 1" not in answer.answer
    assert "GLOSSARY" not in answer.answer
    from assistant.extractive import candidates

    earlier = "Which earlier resolutions on the open-ended working group does it recall?"
    assert any("75/240" in c.text for c in candidates(earlier, earlier, [doc]))
    assert not any("75/240" in c.text for c in candidates(question, question, [doc]))
    # a resolution's header lines answer only for a symbol or a date
    header = Document(
        "Resolution adopted by the General Assembly on 7 December 2022\n"
        "[on the report of the First Committee (A/77/380, para. 12)]\n"
        "Seventy-seventh session Agenda item 94 Developments in the field of ICTs\n"
        "A/RES/77/37 Programme of action to advance responsible State behaviour in the use of ICTs\n"
        "Decides that the working group shall meet in New York.\n"
        "46th plenary meeting 7 December 2022",
        metadata={"source": "res.txt", "title": "A/RES/77/37", "score": 1.0},
    )

    def shown(q: str) -> list[str]:
        return [c.text for c in candidates(q, q, [header])]

    assert len(shown("What does the resolution decide about the working group?")) == 1
    assert any("7 December 2022" in t for t in shown("When was the resolution adopted?"))
    assert any("A/77/380" in t for t in shown("What is the document symbol of the report?"))
    assert any("A/RES/77/37" in t for t in shown("What is the document symbol of the report?"))
    assert any("plenary" in t for t in shown("When was the resolution adopted?"))
    assert not any("Agenda item" in t for t in shown("Which agenda item was it adopted under?"))


def test_the_documents_title_run_into_its_text_is_no_answer_sentence():
    from langchain_core.documents import Document

    from assistant.extractive import candidates

    title = "A/RES/78/265 Seizing the opportunities of safe, secure and trustworthy AI systems"
    doc = Document(
        "Seizing the opportunities of safe, secure and trustworthy AI systems\n"
        "Resolves to promote safe, secure and trustworthy AI systems in the non-military domain.",
        metadata={"source": "res.pdf", "title": title, "score": 1.0},
    )
    question = "Does the resolution on safe, secure and trustworthy AI systems cover military AI?"
    shown = [c.text for c in candidates(question, question, [doc])]
    assert shown == [doc.page_content.splitlines()[1]]
    # the same line in another document, whose title it is not, is a sentence like any other
    other = Document(doc.page_content, metadata={**doc.metadata, "title": "NIS2 Directive"})
    assert len(candidates(question, question, [other])) == 2


def test_an_operative_sentence_nearly_as_good_leads_before_a_preambular_one():
    """ "Recognizing that …" scored a little above "Decides that …": the decision answers first."""
    from langchain_core.documents import Document

    from assistant.extractive import Candidate, ExtractiveConfig, compose_offline

    doc = Document("x", metadata={"source": "res.txt", "title": "A/RES/1", "score": 1.0})
    preamble = Candidate(
        0, 0, "Recognizing the role of the group in 2025.", {"group"}, {"preamble": 1.0}, 0.9
    )
    operative = Candidate(
        0, 1, "Decides that the group meets in July 2025.", {"meet"}, {"preamble": 0.0}, 0.8
    )
    far = Candidate(0, 2, "Decides on other things entirely.", {"thing"}, {"preamble": 0.0}, 0.5)
    q = "When does the group meet?"
    answer = compose_offline(q, q, [doc], ExtractiveConfig(), cands=[preamble, operative])
    assert answer.answer.startswith("Decides that the group meets")
    answer = compose_offline(q, q, [doc], ExtractiveConfig(), cands=[preamble, far])
    assert answer.answer.startswith("Recognizing")  # no operative sentence comes close


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        ("impacted roughly 18,000 users, and", "impacted roughly 18,000 users, and"),
        ("a fund of USD 2.5 million", "a fund of USD 2.5 million"),
        ("under Article 3.2 of the Act", "under Article 3.2 of the Act"),
        ("all States,3 and others", "all States, and others"),
        ("in the digital age12 and", "in the digital age and"),
        ("ends here.4 Next", "ends here. Next"),
        # spaces a PDF's text layer put inside words; two real words stay apart
        (
            "Wh en the securit y of the Hi gh Representative",
            "When the security of the High Representative",
        ),
        ("came in to force to day", "came in to force to day"),
    ],
)
def test_answer_sentences_lose_footnote_numbers_but_keep_figures(shown, expected):
    """A footnote number glued to a word goes; the digits after a thousands comma or a decimal
    point are part of the figure the reader asked for; a word split by a space is whole again."""
    from assistant.extractive import clean_sentence

    assert clean_sentence(shown) == expected


def test_a_question_about_an_article_no_passage_is_abstains():
    """ "Article 40" asked about, and the passages found are Articles 12 and 26 whose text has a
    40 in it: the number check passes, the article check does not."""
    from langchain_core.documents import Document

    from assistant.evidence import Evidence, missing_units

    docs = [
        Document(
            "The Reserve shall consist of 40 incident response services.",
            metadata={"source": "csa.md", "locator": "Article 12"},
        ),
        Document(
            "Member States shall report by 2027 on the application of this Regulation.",
            metadata={"source": "csa.md", "locator": "Article 26"},
        ),
    ]
    asked = "What penalties does Article 40 of the Cyber Solidarity Act set?"
    assert missing_units(asked, docs) == ("article 40",)
    assert missing_units("What does Article 12 set up?", docs) == ()
    assert missing_units("Was ist in Artikel 26 geregelt?", docs) == ()
    assert missing_units("What does rule 40 say?", docs) == ()  # articles only
    mentioned = [
        Document(
            "Fines are set in accordance with Article 40.",
            metadata={"title": "Cyber Solidarity Act"},
        )
    ]
    assert missing_units(asked, mentioned) == ()
    reason = Evidence(0.8, 0.9, (), ("article 40",)).abstain_reason(0.3, 0.45)
    assert reason == "no passage found is article 40"


def test_dates_a_question_names_pick_the_documents_issued_then():
    from assistant.dated import named_dates

    assert named_dates("the March 2024 AI resolution and the December 2024 one") == [
        "2024-03",
        "2024-12",
    ]
    assert named_dates("la résolution adoptée en décembre 2023") == ["2023-12"]
    # a symbol, a range and a plain number are not dates
    assert named_dates("Directive 2022/2555 and the OEWG 2021-2025, 3000 staff") == []


def test_passages_of_a_dated_document_are_added_after_the_main_search(assistant):
    """A question that dates its instrument ("the 2022 resolution") gets passages of the
    documents issued then, ranked after the main search's."""
    import copy

    question = "What did the 2022 resolution ask the Secretary-General to seek views on?"
    narrow = copy.copy(assistant)  # a main search of 2 passages leaves room to add some
    narrow.retriever = assistant.retriever.model_copy(update={"k": 2})
    plain = narrow.retriever.invoke(question)
    docs = narrow._retrieve(question, None)["docs"]
    added = docs[len(plain) :]
    assert [d.id for d in docs[: len(plain)]] == [d.id for d in plain]
    assert added and all(d.metadata["dated"] for d in added)
    assert all(d.metadata["date"].startswith("2022") for d in added)
    lowest = min(d.metadata["score"] for d in plain)
    assert all(d.metadata["score"] <= lowest for d in added)


def test_a_word_only_the_answering_sentence_shares_outweighs_the_documents_own_name():
    """Every sentence of these passages names the Paris Call's working group; only one says
    who co-chaired it. Among the candidates the name tells nothing, the rare word does."""
    from langchain_core.documents import Document

    from assistant.extractive import ExtractiveConfig, candidates, compose_offline

    doc = Document(
        "The Paris Call working group on supply chain security met online in 2021.\n"
        "The Paris Call working group published its report on supply chain security.\n"
        "The Paris Call working group is co-chaired by Cigref and Kaspersky.",
        metadata={"source": "wg6.pdf", "title": "Paris Call WG6 report", "score": 1.0},
    )
    question = "Which organisations co-chaired the Paris Call working group on supply chains?"
    local = {c.text: c.features["local_coverage"] for c in candidates(question, question, [doc])}
    lines = doc.page_content.splitlines()
    assert local[lines[2]] > max(local[lines[0]], local[lines[1]])
    answer = compose_offline(question, question, [doc], ExtractiveConfig())
    assert answer.answer.startswith("The Paris Call working group is co-chaired by Cigref")


def test_eval_can_converse_a_follow_ups_earlier_turns():
    """With ``converse`` a follow-up's history is its questions answered by the assistant, not
    the case's written answers; without it the written turns are used as they are."""
    from assistant.answer import Answer
    from assistant.evaluate import evaluate

    seen: list[list[dict[str, str]]] = []

    def ask(question: str, history: list[dict[str, str]]) -> Answer:
        seen.append(list(history))
        return Answer(f"said to {question}", False, [])

    case = {
        "question": "And the second?",
        "history": [
            {"role": "user", "content": "What is the first?"},
            {"role": "assistant", "content": "A person's summary."},
        ],
        "answerable": True,
        "must_contain": ["second"],
    }
    evaluate([case], ask, lambda source, page: "")
    assert seen == [case["history"]]
    seen.clear()
    report = evaluate([case], ask, lambda source, page: "", converse=True)
    assert seen == [
        [],
        [
            {"role": "user", "content": "What is the first?"},
            {"role": "assistant", "content": "said to What is the first?"},
        ],
    ]
    assert report.results[0].terms_found == 1.0


def test_a_comparison_cites_each_instrument_it_names_by_date():
    """ "The 2022 and the 2023 resolutions": a sentence of the 2022 one is cited even when the
    best-scored sentences come from other documents."""
    from langchain_core.documents import Document

    from assistant.extractive import ExtractiveConfig, candidates, compose_offline

    def doc(source: str, text: str) -> Document:
        return Document(text, metadata={"source": source, "title": source, "score": 1.0})

    docs = [
        doc(
            "res-2023.txt", "The working group shall hold six sessions on the programme of action."
        ),
        doc("study.pdf", "Observers said that the sessions on the programme of action were long."),
        doc(
            "res-2022.txt", "The working group shall hold two sessions on the programme of action."
        ),
    ]
    question = "How did the 2022 and the 2023 resolutions differ on the sessions of the group?"
    cands = candidates(question, question, docs)
    for c, value in zip(cands, (0.9, 0.8, 0.1), strict=True):
        c.score = value
    config = ExtractiveConfig()
    cited = {
        c.source for c in compose_offline(question, question, docs, config, cands=cands).citations
    }
    assert "res-2022.txt" not in cited  # the scores alone leave it out
    answer = compose_offline(
        question, question, docs, config, cands=cands, dated_groups=[frozenset({"res-2022.txt"})]
    )
    assert {"res-2023.txt", "res-2022.txt"} <= {c.source for c in answer.citations}


def test_an_answers_first_sentence_ends_at_its_markers():
    from assistant.answer import Answer

    answer = Answer("The fine is EUR 10 000 000. [1][2] It applies from 2024. [3]", False, [])
    assert answer.first_sentence().strip() == "The fine is EUR 10 000 000."
    assert Answer("The library does not answer this question.", True, []).first_sentence() == (
        "The library does not answer this question."
    )
