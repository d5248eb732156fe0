"""The Assistant: condense the follow-up, retrieve, answer with citations (a LangChain runnable chain)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from .answer import Answer
from .compose import ComposeConfig, abstain, compose_offline
from .condense import condense_offline
from .grounding import assess

__all__ = ["Assistant", "History"]

History = Sequence[dict[str, str]]


class Assistant:
    """Answers questions over the library.

    ``searcher`` is a ``vectorstore.HybridSearcher`` (or anything with ``search(query, k)``);
    the CLI, the HTTP API and the UI all call ``ask`` or ``stream``.
    """

    def __init__(self, searcher: Any, *, k: int = 6, compose: ComposeConfig | None = None) -> None:
        from langchain_core.runnables import RunnableLambda

        from .retrieval import HybridRetriever

        self.searcher = searcher
        self.compose_config = compose or ComposeConfig()
        self.retriever = HybridRetriever(searcher=searcher, k=k)
        # Each step adds its key to the inputs. Plain lambdas, not RunnablePassthrough.assign:
        # that runs steps in a thread pool, and torch moving between threads costs ~300 ms here.
        self.chain = (
            RunnableLambda(lambda x: {**x, "query": self._condense(x)})
            | RunnableLambda(lambda x: {**x, "docs": self.retriever.invoke(x["query"])})
            | RunnableLambda(self._answer)
        )

    # --- steps of the chain ---------------------------------------------------------------------
    def _condense(self, inputs: dict[str, Any]) -> str:
        return condense_offline(inputs["question"], inputs.get("history"))

    def _answer(self, inputs: dict[str, Any]) -> Answer:
        question, query, docs = inputs["question"], inputs["query"], inputs["docs"]
        cfg = self.compose_config
        evidence = assess(question, query, docs, self.searcher)
        reason = evidence.abstain_reason(cfg.min_dense, cfg.min_coverage)
        if reason:
            return abstain(docs, query, cfg, reason)
        idf = self.searcher.term_weights(f"{question} {query}")
        return compose_offline(question, query, docs, cfg, idf)

    # --- public API -----------------------------------------------------------------------------
    def ask(self, question: str, history: History | None = None) -> Answer:
        """The complete answer to ``question`` after the earlier turns in ``history``."""
        return self.chain.invoke({"question": question, "history": list(history or [])})

    def stream(self, question: str, history: History | None = None) -> Iterator[Answer]:
        """Partial answers as the text grows; the last one is complete, with its citations."""
        answer = self.ask(question, history)
        parts = re.split(r"(?<=\])\s+", answer.answer)
        for i in range(1, len(parts)):
            partial = " ".join(parts[:i])
            cited = [c for c in answer.citations if f"[{c.n}]" in partial]
            yield replace(answer, answer=partial, citations=cited)
        yield answer
