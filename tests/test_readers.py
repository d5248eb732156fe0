"""Readers on real files: page numbers, main content only, encodings, and one-line errors."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from ingest.errors import (
    EmptyDocumentError,
    EncryptedDocumentError,
    UndecodableError,
    UnreadableDocumentError,
    UnsupportedTypeError,
)
from ingest.readers import read_document

from .conftest import CORPUS, make_docx, make_html


def read(path: Path):
    return read_document(path, path.read_bytes())


def test_pdf_keeps_page_numbers_and_drops_running_headers():
    doc = read(CORPUS / "un-ga-resolution-78-16-programme-of-action-2023.pdf")
    assert doc.kind == "pdf" and doc.pages == 4
    assert {b.page for b in doc.blocks} == {1, 2, 3, 4}
    adopted = [
        b for b in doc.blocks if "adopted by the General Assembly on 4 December 2023" in b.text
    ]
    assert adopted and adopted[0].page == 1
    # the running header "23-24434 2/4" is gone from pages 2-4
    assert not any(b.text.startswith("23-24434") for b in doc.blocks if b.page and b.page > 1)


def test_pdf_text_is_repaired_as_read():
    """pypdf gives "discus -" + "sion" across a line break and glues footnote numbers to
    sentences ("networks.1"); the reader joins the word and drops the marker."""
    doc = read(CORPUS / "paris-call-wg3-multistakeholder-participation-at-the-un-2021.pdf")
    text = "\n".join(b.text for b in doc.blocks)
    assert "in discussion around" in text and "discus - sion" not in text
    broken = re.findall(r"\b[a-z]+ - [a-z]+\b", text)
    assert not broken, broken[:5]
    assert not re.search(r"[a-z][.,;]\d{1,3}(?=\s|$)", text)
    assert {b.page for b in doc.blocks} >= {1, 2}  # page numbers kept


def test_encrypted_pdf_with_empty_password_is_read():
    doc = read(CORPUS / "us-national-cybersecurity-strategy-2023.pdf")
    assert doc.pages == 39
    assert any("ransomware" in b.text.lower() for b in doc.blocks)


def test_pdf_needing_a_password_is_refused(tmp_path):
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(CORPUS / "un-ga-resolution-79-237-oewg-2021-2025-2024.pdf").pages:
        writer.add_page(page)
    writer.encrypt("s3cret", algorithm="AES-256")
    path = tmp_path / "locked.pdf"
    with open(path, "wb") as fh:
        writer.write(fh)
    with pytest.raises(EncryptedDocumentError, match="password"):
        read(path)


def test_corrupt_pdf_is_refused(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 200)
    with pytest.raises(UnreadableDocumentError, match="corrupt"):
        read(path)


def test_markdown_front_matter_title_headings_and_no_tags():
    doc = read(CORPUS / "us-wh-fact-sheet-nato-summit-brussels-2021-06-13.md")
    assert doc.title == "FACT SHEET: NATO Summit: Revitalizing the Transatlantic Alliance"
    text = " ".join(b.text for b in doc.blocks)
    assert "<sup>" not in text and "21st century" in text


def test_html_main_content_only(tmp_path):
    path = tmp_path / "brief.html"
    make_html(path)
    doc = read(path)
    text = " ".join(b.text for b in doc.blocks)
    assert doc.title == "Digital Diplomacy Brief 7"
    assert "points of contact" in text
    for chrome in ("SCRIPTTEXT", "alert(", "color: red", "NAVIGATIONLINK", "FOOTERTEXT"):
        assert chrome not in text
    assert [b.text for b in doc.blocks if b.heading_level][:2] == [
        "Digital Diplomacy Brief 7",
        "Confidence-building measures",
    ]


def test_docx_headings_and_paragraphs(tmp_path):
    path = tmp_path / "note.docx"
    make_docx(path)
    doc = read(path)
    assert doc.title == "Institute Note on Submarine Cables"
    assert [b.heading_level for b in doc.blocks] == [1, 2, 0, 0]
    assert doc.blocks[2].text.startswith("1. Coastal States")


def test_docx_zip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\x00" * (300 * 1024 * 1024))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(UnreadableDocumentError, match="zip bomb"):
        read(path)


@pytest.mark.parametrize(
    ("encoding", "bom"), [("latin-1", b""), ("utf-16", b""), ("utf-8", b"\xef\xbb\xbf")]
)
def test_text_encodings(tmp_path, encoding, bom):
    path = tmp_path / "note.txt"
    text = "Déclaration sur la coopération numérique\n\nLes États s'engagent à protéger les câbles."
    path.write_bytes(bom + text.encode(encoding))
    doc = read(path)
    assert doc.title == "Déclaration sur la coopération numérique"
    assert doc.blocks[1].text == "Les États s'engagent à protéger les câbles."


@pytest.mark.parametrize(
    ("name", "data", "error", "message"),
    [
        ("empty.txt", b"", EmptyDocumentError, "empty"),
        ("blank.md", b"  \n\n ", EmptyDocumentError, "empty"),
        ("binary.txt", bytes(range(256)) * 40, UndecodableError, "binary"),
        ("slides.pptx", b"PK\x03\x04", UnsupportedTypeError, "unsupported file type .pptx"),
    ],
)
def test_bad_files_get_one_line_errors(tmp_path, name, data, error, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(error, match=message) as info:
        read(path)
    assert "\n" not in str(info.value)
