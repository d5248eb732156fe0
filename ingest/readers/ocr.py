"""Text for PDF pages that have none (scans), read by Tesseract through pytesseract.

Used when both are installed (`make ocr` installs Debian's tesseract-ocr with English, French
and German data); otherwise such pages are skipped with a note, as before. A page's text is read
from the largest image on it, which is what a scanner puts there.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from typing import Any

__all__ = ["available", "read_page"]

WANTED_LANGUAGES = ("eng", "fra", "deu")


@functools.cache
def _languages() -> str:
    import pytesseract

    installed = set(pytesseract.get_languages(config=""))
    return "+".join(lang for lang in WANTED_LANGUAGES if lang in installed) or "eng"


@functools.cache
def available() -> bool:
    """Tesseract and its Python wrapper are both installed."""
    return bool(shutil.which("tesseract")) and importlib.util.find_spec("pytesseract") is not None


def read_page(page: Any) -> str:
    """The text of a pypdf page's largest image ("" when it has none or Tesseract fails)."""
    import pytesseract

    try:
        images = list(page.images)
    except Exception:  # an image pypdf cannot decode: the page stays without text
        return ""
    if not images:
        return ""
    try:
        biggest = max((i.image for i in images), key=lambda im: im.width * im.height)
        return pytesseract.image_to_string(biggest, lang=_languages(), timeout=120)
    except Exception:  # a Tesseract error or timeout: the page stays without text
        return ""
