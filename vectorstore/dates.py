"""ISO dates as documents give them: a day (``2023-12-04``), a month (``2021-11``) or a year."""

from __future__ import annotations

import re
from datetime import date as Date

__all__ = ["date_bounds", "display_date", "iso_date"]

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")  # fmt: skip
MONTHS = {
    **{name.lower(): i for i, name in enumerate(MONTH_NAMES, start=1)},
    **{name[:3].lower(): i for i, name in enumerate(MONTH_NAMES, start=1)},
    "sept": 9,
}
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?![\d-])")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\b")


def iso_date(text: str | None, *, iso_only: bool = False) -> str | None:
    """The ISO date at the start of ``text`` (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``, as given),
    else (unless ``iso_only``) the first "4 December 2023"-style date in it; None when there is
    none or it is not a real date."""
    if not text:
        return None
    text = text.strip()
    m = _ISO.match(text)
    if m:
        year, month, day = m.groups()
        try:
            Date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            return None
        return m.group(0)
    if iso_only:
        return None
    m = _DAY_MONTH_YEAR.search(text)
    if m and m.group(2).lower() in MONTHS:
        try:
            found = Date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
        except ValueError:
            return None
        return found.isoformat()
    return None


def display_date(iso: str | None) -> str:
    """ "4 December 2023", "November 2021" or "2018" for an ISO date (as precise as it is)."""
    if not iso:
        return ""
    parts = iso.split("-")
    if len(parts) == 1:
        return parts[0]
    month = MONTH_NAMES[int(parts[1]) - 1]
    return f"{month} {parts[0]}" if len(parts) == 2 else f"{int(parts[2])} {month} {parts[0]}"


def date_bounds(iso: str) -> tuple[str, str]:
    """The first and last day an ISO date may mean ("2021-11" -> 2021-11-01, 2021-11-30)."""
    import calendar

    parts = [int(p) for p in iso.split("-")]
    year = parts[0]
    if len(parts) == 3:
        return iso, iso
    if len(parts) == 2:
        last = calendar.monthrange(year, parts[1])[1]
        return f"{year:04d}-{parts[1]:02d}-01", f"{year:04d}-{parts[1]:02d}-{last:02d}"
    return f"{year:04d}-01-01", f"{year:04d}-12-31"
