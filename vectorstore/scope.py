"""A scope: the part of the library a question is asked within (issuing bodies, document types,
a date range, named documents). Search resolves it to the documents it admits and filters dense
and lexical retrieval alike to them, so a scoped search still returns its full k passages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from .dates import date_bounds, iso_date
from .records import DocumentRecord

__all__ = ["Scope", "ScopeError"]


class ScopeError(ValueError):
    """A scope that cannot be read (an unknown key, a date that is not ISO, since after until)."""


def _names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        if not isinstance(v, str):
            raise ScopeError(f"scope values must be strings, not {type(v).__name__}")
        if v.strip():
            out.append(v.strip())
    return tuple(dict.fromkeys(out))


def _date(value: Any, key: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or iso_date(value, iso_only=True) != value.strip():
        raise ScopeError(
            f"scope {key} must be an ISO date (YYYY-MM-DD, YYYY-MM or YYYY): {value!r}"
        )
    return value.strip()


@dataclass(frozen=True)
class Scope:
    """Every condition given must hold: a body among ``bodies`` (case-insensitive), a type among
    ``types``, a date within ``since``..``until`` (ISO, inclusive) and a source among
    ``documents``. An empty scope admits the whole library. A document without a date is
    outside any date range."""

    bodies: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    documents: tuple[str, ...] = ()
    KEYS: ClassVar[tuple[str, ...]] = ("bodies", "types", "since", "until", "documents")

    @classmethod
    def make(
        cls,
        bodies: Iterable[str] | str | None = None,
        types: Iterable[str] | str | None = None,
        since: str | None = None,
        until: str | None = None,
        documents: Iterable[str] | str | None = None,
    ) -> Scope:
        """A checked scope (``ScopeError`` with a one-line reason otherwise)."""
        scope = cls(
            _names(bodies),
            _names(types),
            _date(since, "since"),
            _date(until, "until"),
            _names(documents),
        )
        if (
            scope.since
            and scope.until
            and date_bounds(scope.since)[0] > date_bounds(scope.until)[1]
        ):
            raise ScopeError(f"scope since {scope.since} is after until {scope.until}")
        return scope

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Scope:
        if not data:
            return cls()
        if not isinstance(data, dict):
            raise ScopeError("a scope is an object with bodies, types, since, until, documents")
        unknown = set(data) - set(cls.KEYS)
        if unknown:
            raise ScopeError(
                f"unknown scope key(s): {', '.join(sorted(unknown))}; known: {', '.join(cls.KEYS)}"
            )
        return cls.make(**data)

    def as_json(self) -> dict[str, Any]:
        """Only the conditions set."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if getattr(self, f.name):
                value = getattr(self, f.name)
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def __bool__(self) -> bool:
        return bool(self.bodies or self.types or self.since or self.until or self.documents)

    def admits(self, record: DocumentRecord) -> bool:
        if self.bodies and (record.body or "").casefold() not in {
            b.casefold() for b in self.bodies
        }:
            return False
        if self.types and (record.doc_type or "").casefold() not in {
            t.casefold() for t in self.types
        }:
            return False
        if self.documents and record.source not in self.documents:
            return False
        if self.since or self.until:
            if not record.date:
                return False
            first, last = date_bounds(record.date)
            if self.since and last < date_bounds(self.since)[0]:
                return False
            if self.until and first > date_bounds(self.until)[1]:
                return False
        return True

    def sources(self, records: Iterable[DocumentRecord]) -> frozenset[str]:
        """The documents of ``records`` the scope admits."""
        return frozenset(r.source for r in records if self.admits(r))

    def within(self, fixed: Scope) -> Scope:
        """This scope narrowed to ``fixed`` (a server's fixed scope): a condition of ``fixed``
        always holds; a visitor can narrow it, never widen it."""
        if not fixed:
            return self

        def both(mine: tuple[str, ...], theirs: tuple[str, ...], fold: bool) -> tuple[str, ...]:
            if not theirs:
                return mine
            if not mine:
                return theirs
            key = (lambda s: s.casefold()) if fold else (lambda s: s)
            allowed = {key(t) for t in theirs}
            kept = tuple(m for m in mine if key(m) in allowed)
            return kept or ("\0none",)  # nothing in common: admits no document

        since = max(filter(None, [self.since, fixed.since]), default=None, key=_first_day)
        until = min(filter(None, [self.until, fixed.until]), default=None, key=_last_day)
        return Scope(
            both(self.bodies, fixed.bodies, True),
            both(self.types, fixed.types, True),
            since,
            until,
            both(self.documents, fixed.documents, False),
        )

    def describe(self) -> str:
        """ "European Union documents of type regulation, since 2021-01-01" for messages."""
        parts = []
        if self.bodies:
            parts.append(" or ".join(b for b in self.bodies if b != "\0none") or "no body")
        if self.types:
            parts.append("type " + " or ".join(t for t in self.types if t != "\0none"))
        if self.documents:
            shown = [d for d in self.documents if d != "\0none"]
            parts.append(
                f"{len(shown)} named document{'s' if len(shown) != 1 else ''}"
                if len(shown) > 2
                else " and ".join(shown) or "no document"
            )
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        return ", ".join(parts)


def _first_day(iso: str) -> str:
    return date_bounds(iso)[0]


def _last_day(iso: str) -> str:
    return date_bounds(iso)[1]
