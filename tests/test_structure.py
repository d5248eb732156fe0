"""Locators follow the documents' own structure."""

from __future__ import annotations

from ingest.document import Block
from ingest.readers import read_document
from ingest.structure import annotate

from .conftest import CORPUS


def locators(path):
    doc = read_document(path, path.read_bytes())
    return annotate(doc.blocks)


def test_eu_articles_paragraphs_points_and_recitals():
    blocks = locators(CORPUS / "eu-nis2-directive-2022-2555.md")
    by_text = {b.text[:60]: b.locator for b in blocks}
    early_warning = next(
        b
        for b in blocks
        if b.text.startswith("without undue delay and in any event within 24 hours")
    )
    assert early_warning.locator == "Article 23(4)(a)"
    assert by_text["(102) Where essential or important entities become aware of "] == "recital 102"
    assert any(b.locator == "Article 21(2)" for b in blocks)


def test_un_resolution_numbered_paragraphs():
    blocks = locators(CORPUS / "un-ga-resolution-77-37-programme-of-action-2022.txt")
    para = next(
        b for b in blocks if b.text.startswith("2. Underlines that the programme of action")
    )
    assert para.locator == "paragraph 2" and para.paragraph_start


def test_pdf_articles_carry_across_pages():
    blocks = locators(CORPUS / "un-ga-resolution-79-243-un-convention-against-cybercrime-2024.pdf")
    laundering = next(
        b for b in blocks if b.text.startswith("1. Each State Party shall adopt") and b.page == 11
    )
    assert laundering.locator.startswith("Annex") or laundering.locator == "Article 17(1)"
    assert "Article 17(1)" in laundering.locator


def test_headings_are_locators_without_numbering():
    blocks = annotate(
        [Block("Key outcomes", heading_level=2), Block("Allies agreed to a new policy.")]
    )
    assert blocks[1].locator == "Key outcomes"
    assert blocks[0].section == blocks[1].section
