"""Scanned PDF pages read by OCR (Debian's tesseract-ocr, installed by `make ocr`): a page
rendered here from a known text, as an image without a text layer, behind two real text pages."""

from __future__ import annotations

import io
import shutil

import pytest

from .conftest import CORPUS, PDF

LINES = [
    "Guidelines on the cyber resilience of tidal energy plants.",
    "Operators shall notify the national CERT within six hours",
    "of detecting an incident affecting turbine control systems.",
]


def scanned_pdf(path) -> None:
    """The shipped two-page resolution, then a third page that is only a picture of text."""
    from PIL import Image, ImageDraw, ImageFont
    from pypdf import PdfReader, PdfWriter

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    for i, line in enumerate(LINES):
        draw.text((150, 200 + i * 80), line, font=font, fill=0)
    scan = io.BytesIO()
    image.save(scan, "PDF", resolution=200)
    writer = PdfWriter()
    for source in (PdfReader(CORPUS / PDF), PdfReader(io.BytesIO(scan.getvalue()))):
        for page in source.pages:
            writer.add_page(page)
    with open(path, "wb") as out:
        writer.write(out)


@pytest.fixture
def corpus(tmp_path):
    if shutil.which("tesseract") is None:
        pytest.fail("tesseract is missing: run `make ocr` (Debian's tesseract-ocr)", pytrace=False)
    folder = tmp_path / "corpus"
    folder.mkdir()
    scanned_pdf(folder / "tidal-guidelines.pdf")
    return folder


def test_a_scanned_page_is_read_by_ocr_and_found_by_search(tmp_path, corpus):
    from assistant import build_assistant
    from assistant.composition import run_ingest
    from assistant.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    report = run_ingest(settings, [corpus], progress=False)
    assert report.added == ["tidal-guidelines.pdf"], report.as_json()
    assert ("tidal-guidelines.pdf", "1 page(s) without a text layer read by OCR") in report.notes
    [hit] = build_assistant(settings, llm=None).search(
        "How fast must tidal energy operators notify the CERT?", 1
    )
    assert hit.page == 3 and "within six hours" in " ".join(hit.quote.split())
    assert hit.locator and hit.locator.endswith("text read by OCR")
    assert hit.url.endswith("#page=3")


def test_without_ocr_the_scanned_page_is_skipped_with_a_note(tmp_path, corpus):
    from assistant.composition import run_ingest
    from assistant.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus, ocr=False)
    report = run_ingest(settings, [corpus], progress=False)
    assert report.added == ["tidal-guidelines.pdf"]
    assert ("tidal-guidelines.pdf", "1 page(s) without text skipped") in report.notes
