"""Asking within a scope (``vectorstore.Scope``): re-exported for the doors, which do not import
vectorstore, with what an answer says when the scope admits nothing or does not answer."""

from __future__ import annotations

from dataclasses import replace

from vectorstore import Scope, ScopeError

from .answer import Answer

__all__ = ["Scope", "ScopeError", "ScopeMatchesNothing", "scoped"]


class ScopeMatchesNothing(ValueError):
    """A search within a scope that admits no document of the library."""


def scoped(answer: Answer, scope: Scope | None) -> Answer:
    """An abstention that says which part of the library it speaks for ("Within the scope
    (European Union, since 2021-01-01), the library does not answer this question.")."""
    if not scope or not answer.abstained or not answer.answer.startswith("The library does not"):
        return answer
    text = (
        f"Within the scope ({scope.describe()}), the library" + answer.answer[len("The library") :]
    )
    return replace(answer, answer=text)
