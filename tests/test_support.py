"""The features of the LLM answer check (assistant/support.py), on made-up sentences and passages."""

from __future__ import annotations

import pytest

from assistant.support import (
    PassageView,
    in_other_language,
    load_support_model,
    number_values,
    sentences_to_embed,
    support_features,
)

PASSAGE = PassageView.of(
    "Article 65 Entry into force. 1. This Convention shall enter into force on the ninetieth day "
    "after the date of deposit of the fortieth instrument of ratification. The Charter of Trust "
    "counts 16 companies, which agreed on 12 baseline requirements. States should not use proxies "
    "to commit internationally wrongful acts using ICTs."
)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Twenty-three Allies", [23]),
        ("the eighty-first session", [81]),
        ("su octogésimo primer período de sesiones", [81]),
        ("le soixantième jour, la quatre-vingt-dixième session", [60, 90]),
        ("soixante-dix pays", [70]),
        ("vor dem dritten Jahr", [3]),
        ("EUR 10 million or 10 000 000", [1e7, 1e7]),
        ("awards of up to $100k, a EUR 2bn fund", [1e5, 2e9]),
        # words that are as often something else are not numbers
        ("once adopted, States may seize the first and second chance", []),
    ],
)
def test_numbers_are_read_by_value_in_four_languages(text, values):
    assert list(number_values(text).values()) == values


def test_a_number_the_passage_gives_to_something_else_is_misplaced():
    assert PASSAGE.misplaced_numbers("The Charter of Trust defined 16 requirements.") == 1
    assert PASSAGE.misplaced_numbers("The Charter of Trust has 16 companies.") == 0
    assert PASSAGE.misplaced_numbers("It sets 12 baseline requirements.") == 0


def test_names_are_whole_words_of_the_passage():
    # "AI" is inside "certain" and "maintain", but not a word of the passage
    view = PassageView.of("Certain providers maintain records under the Convention.")
    assert view.lacks_name("AI Act's")
    assert not view.lacks_name("Convention's")
    assert not view.lacks_name("Conventions") and not view.lacks_name("providers")


def test_a_sentence_that_drops_the_passages_negation_is_flipped():
    flipped = support_features(
        "States may use proxies to commit wrongful acts using ICTs.", PASSAGE
    )
    kept = support_features("States should not use proxies to commit wrongful acts.", PASSAGE)
    assert flipped["negation_flip"] == 1.0 and kept["negation_flip"] == 0.0


def test_the_fitted_check_ranks_true_sentences_above_their_altered_twins():
    model = load_support_model()
    true = "The Convention enters into force on the ninetieth day after the fortieth ratification."
    altered = {
        "number": "The Convention enters into force on the sixtieth day after the fortieth ratification.",
        "negation": "States may use proxies to commit internationally wrongful acts using ICTs.",
        "misplaced": "The Charter of Trust defined 16 baseline requirements.",
    }
    p_true = model.probability(support_features(true, PASSAGE))
    for kind, sentence in altered.items():
        assert model.probability(support_features(sentence, PASSAGE)) < p_true, kind
    negated_true = "States should not use proxies to commit internationally wrongful acts."
    assert model.probability(support_features(altered["negation"], PASSAGE)) < (
        model.probability(support_features(negated_true, PASSAGE))
    )


def test_only_a_sentence_in_another_language_is_read_as_one():
    """Another language lets meaning and numbers speak alone; a short English sentence that
    shares nothing with the passage must not pass for one."""
    assert in_other_language("Die Generalversammlung begrüßte die Einrichtung des Verzeichnisses.")
    assert in_other_language("La Convention entre en vigueur le quatre-vingt-dixième jour.")
    assert not in_other_language("Dogs fly.")
    model = load_support_model()
    assert model.probability(support_features("Dogs fly.", PASSAGE)) < model.threshold


def test_only_the_passage_sentences_sharing_most_words_are_embedded():
    """Embedding passage sentences is the check's cost: an English sentence is compared by
    meaning with the two that share most of its words, one in another language with all."""
    english = "The Charter of Trust has 16 member companies and 12 requirements."
    chosen = sentences_to_embed(english, PASSAGE)
    assert len(chosen) == 2 < len(PASSAGE.sentences)
    charter = next(i for i, t in enumerate(PASSAGE.sentences) if "Charter of Trust" in t)
    assert charter in chosen
    german = "Die Staaten sollen keine Stellvertreter für völkerrechtswidrige Handlungen nutzen."
    assert sentences_to_embed(german, PASSAGE) == tuple(range(len(PASSAGE.sentences)))
    assert sentences_to_embed(english, PASSAGE, 0) == tuple(range(len(PASSAGE.sentences)))


def test_a_sentence_may_name_its_documents_year_and_body():
    """Answers name the document by its date and author ("the 2018 list of norms", "the
    Council's act"): the check reads the passage under its document's title, body and date, so
    the year is no number the passage lacks, while another year still is."""
    from langchain_core.documents import Document

    from assistant.verify import SupportCheck

    norms = Document(
        page_content="States should not conduct or knowingly support ICT activity that "
        "intentionally damages critical infrastructure.",
        metadata={"title": "Developments in the field of ICTs", "date": "2018-12", "body": "UNGA"},
    )
    view = SupportCheck([norms], model=load_support_model()).views[0]
    assert "December 2018" in view.text and "UNGA" in view.text
    assert view.missing_numbers("The 2018 UNGA norms say States should not damage it.") == []
    assert view.missing_numbers("The 2019 norms say States should not damage it.") == ["2019"]
