"""The Assistant: condense the follow-up, retrieve, answer with citations (a LangChain runnable chain).

Without an LLM the answer is composed from the passages' own sentences (extractive.py). With one
(any LangChain chat model, e.g. ChatOpenAI on an OpenAI-compatible endpoint), the model condenses
follow-ups and writes the answer from fenced, numbered passages; every sentence is then checked
against the passages it cites (verify.py). If the model fails, or none of its sentences passes
the check, the offline answer is returned with a note saying so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .answer import Answer, Citation
from .answer_types import asks_for
from .condense import condense_offline
from .evidence import assess, confidence_features
from .extractive import ExtractiveConfig, abstain, candidates, compose_offline, make_citation, score
from .scope import Scope, ScopeMatchesNothing, scoped

if TYPE_CHECKING:
    from .trace import Trace
from .weights import load_weights

__all__ = [
    "Assistant",
    "History",
    "LLM_DECLINED_NOTE",
    "LLM_FALLBACK_NOTE",
    "LLM_UNVERIFIED_NOTE",
]

History = Sequence[dict[str, str]]
log = logging.getLogger(__name__)


LLM_FALLBACK_NOTE = (
    "Note: the language model could not be reached, so this answer quotes the documents directly."
)
LLM_UNVERIFIED_NOTE = (
    "Note: no sentence of the language model's answer could be checked against the passages, "
    "so this answer quotes the documents directly."
)
LLM_DECLINED_NOTE = (
    "Note: the language model found no answer in the passages it read, but they match the "
    "question closely, so this answer quotes the documents directly."
)


class Assistant:
    """Answers questions over the library.

    ``searcher`` is a ``vectorstore.HybridSearcher`` (anything with ``search``, ``term_weights``
    and ``term_coverage``); ``llm`` an optional LangChain chat model. The CLI, the HTTP API and
    the UI all call ``ask`` or ``stream``. Every scope a caller gives is narrowed to
    ``fixed_scope`` (the FIXED_SCOPE setting): a door can narrow what is searched, never widen it.
    """

    def __init__(
        self,
        searcher: Any,
        *,
        k: int = 6,
        compose: ExtractiveConfig | None = None,
        llm: Any = None,
        min_support: float | None = None,
        llm_passages: int = 4,
        min_confidence: float | None = None,
        refusal_min_confidence: float = 0.8,
        min_similarity: float = 0.3,
        fixed_scope: Scope | None = None,
        trace_min_similarity: float = 0.35,
        dated_passages: int = 0,
    ) -> None:
        from langchain_core.runnables import RunnableLambda

        from .retrieval import HybridRetriever

        self.searcher = searcher
        # while the library is being indexed (serve syncs in the background): a sentence that
        # every answer ends with, saying so (set by the composition root)
        self.indexing_note: Callable[[], str | None] | None = None
        self.fixed_scope = fixed_scope or Scope()
        self.trace_min_similarity = trace_min_similarity
        self.extractive_config = compose or ExtractiveConfig()
        self.retriever = HybridRetriever(searcher=searcher, k=k)
        # passages added from the documents the question dates ("the 2018 resolution")
        self.dated_passages = dated_passages
        self.llm = llm
        self.min_support = min_support
        self.llm_passages = llm_passages
        self.weights = load_weights()
        self.min_similarity = min_similarity
        self.min_confidence = self.weights.threshold if min_confidence is None else min_confidence
        # a model's "not in the library" is overruled at this confidence of the gate's or more
        self.refusal_min_confidence = refusal_min_confidence
        # Each step adds its key to the inputs. Plain lambdas, not RunnablePassthrough.assign:
        # that runs steps in a thread pool, and torch moving between threads costs ~300 ms here.
        self.retrieve_chain = RunnableLambda(
            lambda x: {**x, "query": self._condense(x)}
        ) | RunnableLambda(lambda x: {**x, **self._retrieve(x["query"], x.get("scope"))})
        self.chain = self.retrieve_chain | RunnableLambda(self._answer)
        if llm is not None:
            from langchain_core.output_parsers import StrOutputParser

            from .prompts import ANSWER_PROMPT, CONDENSE_PROMPT

            self.condense_chain = CONDENSE_PROMPT | llm | StrOutputParser()
            self.answer_chain = ANSWER_PROMPT | llm | StrOutputParser()

    # --- steps of the chain ---------------------------------------------------------------------
    def _condense(self, inputs: dict[str, Any]) -> str:
        question, history = inputs["question"], inputs.get("history") or []
        if self.llm is not None and history:
            from .prompts import format_history

            try:
                rewritten = self.condense_chain.invoke(
                    {"history": format_history(history), "question": question}
                ).strip()
                if rewritten:
                    return rewritten.splitlines()[0][:500]
            except Exception as exc:  # any endpoint failure: fall back, never crash
                log.warning("LLM condense failed, using the offline one: %s", exc)
        return condense_offline(question, history)

    def _retrieve(self, query: str, scope: Scope | None) -> dict[str, Any]:
        """``docs``: the passages for ``query``; ``dated_groups``: the sources of each date it
        names (at most three), which a comparison cites one of each."""
        from .dated import dated_sources

        retriever = self.retriever.model_copy(update={"scope": scope}) if scope else self.retriever
        docs = retriever.invoke(query)
        dates = dated_sources(query, self.searcher.documents)[:3]
        out = {"docs": docs, "dated_groups": [frozenset(sources) for _, sources in dates]}
        if not self.dated_passages:
            return out
        # each date searched on its own, so that a comparison of two dated texts gets both; the
        # passages found so rank after the main search's (their fused scores, normalised within
        # a narrower search, are scaled below its lowest)
        seen = {d.id for d in docs}
        floor = min((d.metadata.get("score") or 0.0 for d in docs), default=1.0)
        for _, sources in dates:
            dated = Scope(documents=tuple(sources)).within(scope or Scope())
            if not self.searcher.allowed(dated):
                continue
            extra = retriever.model_copy(update={"scope": dated, "k": self.dated_passages})
            for doc in extra.invoke(query):
                if doc.id not in seen:
                    seen.add(doc.id)
                    doc.metadata["score"] = (doc.metadata.get("score") or 0.0) * floor
                    doc.metadata["dated"] = True
                    docs.append(doc)
        return out

    def _gate(self, inputs: dict[str, Any]) -> Answer | None:
        """The abstention, when the passages do not answer the question; else None.

        Scores the candidate sentences once (``inputs["candidates"]``) for the offline answer
        and sets ``inputs["confidence"]``."""
        question, query, docs = inputs["question"], inputs["query"], inputs["docs"]
        evidence = assess(question, query, docs, self.searcher)
        idf = self.searcher.term_weights(f"{question} {query}")
        cands = candidates(question, query, docs, idf) if docs else []
        score(cands, self.weights)
        inputs["candidates"] = cands
        kind = asks_for(question)
        confidence = self.weights.confidence_of(confidence_features(evidence, cands, kind))
        inputs["confidence"] = confidence
        # clear cases first: nothing similar found, or a named number or article missing
        reason = evidence.abstain_reason(self.min_similarity, 0.0)
        if reason is None and confidence >= self.min_confidence:
            return None
        reason = reason or f"confidence {confidence:.2f} < {self.min_confidence:.2f}"
        best = max(cands, key=lambda c: c.score, default=None)
        return abstain(docs, query, self.extractive_config, reason, closest=best, kind=kind)

    def _offline(self, inputs: dict[str, Any]) -> Answer:
        question, query = inputs["question"], inputs["query"]
        cands = inputs.get("candidates")
        idf = None if cands is not None else self.searcher.term_weights(f"{question} {query}")
        return compose_offline(
            question,
            query,
            inputs["docs"],
            self.extractive_config,
            idf,
            cands,
            inputs.get("dated_groups", ()),
        )

    def _answer(self, inputs: dict[str, Any]) -> Answer:
        return self._finished(self._answer_unscoped(inputs), inputs)

    @staticmethod
    def _finished(answer: Answer, inputs: dict[str, Any]) -> Answer:
        """``answer`` as the doors get it: an abstention says which scope it speaks for, and
        the answer carries the confidence the gate gave."""
        answer = scoped(answer, inputs.get("scope"))
        if inputs.get("confidence") is None:
            return answer
        return replace(answer, confidence=round(float(inputs["confidence"]), 3))

    def _answer_unscoped(self, inputs: dict[str, Any]) -> Answer:
        gated = self._gate(inputs)
        if gated is not None:
            return gated
        if self.llm is None:
            return self._offline(inputs)
        inputs = self._choose_llm_docs(inputs)
        try:
            text = self.answer_chain.invoke(self._prompt_inputs(inputs))
        except Exception as exc:
            return self._fallback(inputs, exc)
        return self._checked(text, inputs)

    def _choose_llm_docs(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The passages the LLM reads: those holding the sentences the fitted answerer scores
        highest, at most ``llm_passages``, in retrieval order. Reading the prompt is most of an
        answer's time on a CPU, and small models follow fewer passages better."""
        docs = inputs["docs"]
        best: dict[int, float] = {}
        for cand in inputs.get("candidates") or []:
            best[cand.passage] = max(best.get(cand.passage, 0.0), cand.score)
        ranked = sorted(range(len(docs)), key=lambda i: (-best.get(i, 0.0), i))
        chosen = sorted(ranked[: self.llm_passages])
        return {**inputs, "llm_docs": [docs[i] for i in chosen]}

    def _prompt_inputs(self, inputs: dict[str, Any]) -> dict[str, str]:
        from .prompts import format_passages

        return {"passages": format_passages(inputs["llm_docs"]), "question": inputs["question"]}

    def _fallback(self, inputs: dict[str, Any], exc: Exception) -> Answer:
        log.warning("LLM answer failed, returning the offline answer: %s", exc)
        return self._quoted(inputs, LLM_FALLBACK_NOTE, str(exc))

    def _quoted(
        self, inputs: dict[str, Any], says: str, note: str, offline: Answer | None = None
    ) -> Answer:
        """The offline answer (``offline``, else made here) where the LLM's gives nothing to
        keep, ending with ``says`` (why it quotes the documents), ``note`` saying what happened
        to the model's answer. An offline abstention quotes nothing, so it gets the note only."""
        answer = offline or self._offline(inputs)
        if answer.abstained:
            return replace(answer, note=note)
        return replace(answer, answer=f"{answer.answer}\n\n{says}", note=note)

    @staticmethod
    def _agrees(kept: Sequence[Any], docs: Sequence[Any], offline: Answer) -> bool:
        """Whether passage sentences quoted in place of the model's (none of which passed) can
        stand as the answer: one comes from the document the offline answer leads with. Else
        the model misread its passages, and its restated sentences cite the wrong documents (on
        57 real answers to dev questions: gold cited 33 of 40 when they always stood, 36 with
        this test, 37 when they never stood; all key terms 20, 21, 21; of the 15 true sentences
        the check removed, 7 reach the reader as their source sentence with it, 10 and 0)."""
        if not kept or offline.abstained or not offline.citations:
            return False
        lead = offline.citations[0].source
        return any(docs[p].metadata.get("source") == lead for s in kept for p in s.passages)

    def _checked(self, text: str, inputs: dict[str, Any]) -> Answer:
        """The LLM's text with citations repaired; a sentence no passage supports is replaced
        by the passage sentence it restates, where there is one, else removed."""
        from .prompts import NOT_IN_LIBRARY, declines
        from .verify import REPLACED, SupportCheck, verify_answer

        docs, query, cfg = inputs["llm_docs"], inputs["query"], self.extractive_config
        if declines(text):
            # a small model declines questions whose passages plainly answer them ("does the
            # resolution cover military AI?" against "non-military domain"): where the gate is
            # this sure, the documents' own sentences serve the reader better than nothing
            if (inputs.get("confidence") or 0.0) >= self.refusal_min_confidence:
                return self._quoted(inputs, LLM_DECLINED_NOTE, "the model found no answer")
            return abstain(docs, query, cfg, "the model found no answer in the passages")
        check = SupportCheck(
            docs,
            embed=self.searcher.embedder.embed_documents,
            passage_vectors=self.searcher.store.vectors([d.id for d in docs]),
            threshold=self.min_support,
        )
        kept, removed = verify_answer(text.replace(NOT_IN_LIBRARY, ""), docs, check)
        if not any(not s.quoted for s in kept):
            offline = self._offline(inputs)
            if not self._agrees(kept, docs, offline):
                # the passages passed the gate, only the model's wording failed the check: the
                # reader gets the documents' own sentences rather than nothing, and the quotes
                # did not stand, so their sentences were removed, not replaced
                note = "; ".join(r.split(REPLACED)[0] for r in removed) or "nothing supported"
                return self._quoted(inputs, LLM_UNVERIFIED_NOTE, note, offline)
        numbers: dict[int, int] = {}
        parts = []
        for sentence in kept:
            marks = "".join(
                f"[{numbers.setdefault(p, len(numbers) + 1)}]" for p in sentence.passages
            )
            # a passage's own words, where the model's could not be kept, stand in quotes
            text = f"\u201c{sentence.text}\u201d" if sentence.quoted else sentence.text
            parts.append(f"{text} {marks}")
        citations = [make_citation(n, docs[p], cfg.document_base_url) for p, n in numbers.items()]
        return Answer(
            " ".join(parts), False, citations, query=query, note="; ".join(removed) or None
        )

    # --- public API -----------------------------------------------------------------------------
    def ask(
        self, question: str, history: History | None = None, scope: Scope | None = None
    ) -> Answer:
        """The complete answer to ``question`` after the earlier turns in ``history``, from the
        documents ``scope`` admits (``vectorstore.Scope``; None: the whole library)."""
        scope = self.narrowed(scope)
        empty = self._empty_scope(scope)
        if empty is not None:
            return empty
        inputs = {"question": question, "history": list(history or []), "scope": scope}
        return self._noted(self.chain.invoke(inputs))

    def _noted(self, answer: Answer) -> Answer:
        """``answer`` with the indexing note at its end, while there is one."""
        note = self.indexing_note() if self.indexing_note is not None else None
        if not note or note in answer.answer:
            return answer
        return replace(answer, answer=f"{answer.answer}\n\n{note}")

    def search(self, query: str, k: int = 8, scope: Scope | None = None) -> list[Citation]:
        """The ``k`` passages that match ``query`` best, as citations (the same objects an answer
        cites: document, page, locator, quote, link, metadata)."""
        from .retrieval import HybridRetriever

        scope = self.narrowed(scope)
        empty = self._empty_scope(scope)
        if empty is not None:
            raise ScopeMatchesNothing(empty.answer)
        docs = HybridRetriever(searcher=self.searcher, k=k, scope=scope).invoke(query)
        base = self.extractive_config.document_base_url
        return [make_citation(n, doc, base) for n, doc in enumerate(docs, start=1)]

    def stream(
        self, question: str, history: History | None = None, scope: Scope | None = None
    ) -> Iterator[Answer]:
        """Partial answers as the text grows; the last one is complete and checked, with its
        citations. With an LLM, partial answers carry the model's raw tokens."""
        scope = self.narrowed(scope)
        if self.llm is None or self._empty_scope(scope) is not None:
            yield from self._stream_offline(self.ask(question, history, scope))
            return
        inputs = self.retrieve_chain.invoke(
            {"question": question, "history": list(history or []), "scope": scope}
        )
        gated = self._gate(inputs)
        if gated is not None:
            yield self._noted(self._finished(gated, inputs))
            return
        inputs = self._choose_llm_docs(inputs)
        text = ""
        try:
            for token in self.answer_chain.stream(self._prompt_inputs(inputs)):
                text += token
                yield Answer(text, False, [], query=inputs["query"])
        except Exception as exc:
            yield self._noted(self._finished(self._fallback(inputs, exc), inputs))
            return
        yield self._noted(self._finished(self._checked(text, inputs), inputs))

    def trace(
        self,
        text: str | None = None,
        *,
        source: str | None = None,
        locator: str | None = None,
        scope: Scope | None = None,
        limit: int = 20,
    ) -> Trace:
        """Where else the library carries ``text``'s wording, or that of the passage of
        ``source`` at ``locator`` (``TraceError`` when there is none): matches in other
        documents, oldest first, each with a word-level diff (assistant/trace.py)."""
        from .extractive import make_citation
        from .retrieval import chunk_document
        from .trace import Trace, TraceError, passages_at, trace_text

        scope = self.narrowed(scope)
        selected = None
        if source is not None:
            self.searcher.refresh()
            record = self.searcher.documents.get(source)
            if record is None:
                raise TraceError(f"no document {source!r} in the library")
            chunks = self.searcher.store.chunks_of(record)
            if locator:
                chunks = passages_at(chunks, locator)
                if not chunks:
                    raise TraceError(f"{source} has no passage at {locator!r}")
            elif text is None:
                raise TraceError("give a locator (e.g. 'paragraph 5') or a text to trace")
            else:  # a quote of the document (a citation's): the passage it comes from
                head = " ".join(text.split())[:80]
                holding = [c for c in chunks if head in " ".join(c.text.split())]
                chunks = holding or chunks
            if text is None:
                text = "\n\n".join(c.text for c in chunks)
            base = make_citation(1, chunk_document(chunks[0], record), self._base_url)
            selected = replace(base, quote=text)
        if not text or len(text.split()) < 4:
            raise TraceError("the text to trace needs at least four words")
        matches = trace_text(
            self.searcher,
            text,
            exclude=source,
            min_similarity=self.trace_min_similarity,
            limit=limit,
            base_url=self._base_url,
            scope=scope,
        )
        return Trace(text, selected, matches)

    def trace_paragraphs(
        self, text: str, source: str | None = None, scope: Scope | None = None
    ) -> list[Trace]:
        """Each paragraph of ``text`` (a passage of ``source`` often holds two or three)
        traced on its own: the traces that found its wording elsewhere, in order. A passage
        traced whole scores a paragraph repeated elsewhere by the share of the passage it is."""
        from .trace import paragraphs

        traces = []
        for paragraph in paragraphs(text):
            traced = self.trace(paragraph, source=source, scope=scope)
            if traced.matches:
                traces.append(traced)
        return traces

    def trace_document(self, source: str, scope: Scope | None = None) -> list[Trace]:
        """Every paragraph of ``source`` traced: those whose wording stands elsewhere, in the
        document's order (which of its paragraphs repeat, or are repeated in, other texts)."""
        from .trace import TraceError

        self.searcher.refresh()
        record = self.searcher.documents.get(source)
        if record is None:
            raise TraceError(f"no document {source!r} in the library")
        return [
            traced
            for chunk in self.searcher.store.chunks_of(record)
            for traced in self.trace_paragraphs(chunk.text, source, scope)
        ]

    @property
    def _base_url(self) -> str:
        return self.extractive_config.document_base_url

    def narrowed(self, scope: Scope | None) -> Scope | None:
        """``scope`` within the fixed scope (None when neither limits anything)."""
        return (scope or Scope()).within(self.fixed_scope) or None

    def _empty_scope(self, scope: Scope | None) -> Answer | None:
        """The answer to any question asked within a scope that admits no document."""
        if not scope or self.searcher.allowed(scope):
            return None
        text = f"No document in the library matches the scope ({scope.describe()})."
        return Answer(text, True, [], note="empty scope")

    @staticmethod
    def _stream_offline(answer: Answer) -> Iterator[Answer]:
        parts = re.split(r"(?<=\])\s+", answer.answer)
        for i in range(1, len(parts)):
            partial = " ".join(parts[:i])
            cited = [c for c in answer.citations if f"[{c.n}]" in partial]
            yield replace(answer, answer=partial, citations=cited)
        yield answer
