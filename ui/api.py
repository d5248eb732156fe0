"""The JSON HTTP API under /api/v1: ask (plain and streamed), search, documents (with their
metadata, editable), ingest, health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, get_type_hints

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from starlette.concurrency import run_in_threadpool

from assistant import (
    Answer,
    FeedbackFullError,
    Job,
    JobRunner,
    Scope,
    ScopeError,
    ScopeMatchesNothing,
    Settings,
    StoreError,
    TraceError,
)
from ingest import (
    DuplicateDocumentError,
    LibraryBusyError,
    LibraryError,
    UploadTooLargeError,
)

from .render import flagged_sentences
from .security import RateLimiter, client_key, lacks_api_key
from .shared import Doors
from .streaming import EventStreamResponse, stream_in_slot

__all__ = ["build_api"]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class ScopeIn(BaseModel):
    """Part of the library: every condition given must hold (values as `GET /documents` shows
    them; bodies and types case-insensitive; dates ISO, inclusive)."""

    model_config = ConfigDict(extra="forbid")

    bodies: list[str] = Field(default_factory=list, max_length=50, examples=[["European Union"]])
    types: list[str] = Field(default_factory=list, max_length=50, examples=[["regulation"]])
    since: str | None = Field(None, max_length=10, examples=["2021-01-01"])
    until: str | None = Field(None, max_length=10, examples=["2024-12-31"])
    documents: list[str] = Field(default_factory=list, max_length=500)

    def scope(self) -> Scope:
        """The checked scope (``ScopeError`` with a one-line reason)."""
        return Scope.make(**self.model_dump())


def scope_of(given: ScopeIn | None) -> Scope | None:
    """A request's scope; 422 with the reason when it cannot be read."""
    try:
        return given.scope() if given else None
    except ScopeError as exc:
        raise HTTPException(422, str(exc)) from exc


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, description="The question.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    scope: ScopeIn | None = Field(
        None, description="Ask within part of the library (follow-ups: send it again)."
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value.strip()


# the public JSON shape, from the one definition in assistant/answer.py
_ANSWER_TYPES = get_type_hints(Answer)
AnswerOut = create_model(
    "AnswerOut", **{name: (_ANSWER_TYPES[name], ...) for name in Answer.PUBLIC_FIELDS}
)


class SearchRequest(BaseModel):
    query: str = Field(..., min_length=1, max_length=2000, description="What to look for.")
    k: int = Field(8, ge=1, le=50, description="How many passages.")
    scope: ScopeIn | None = None


class TraceRequest(BaseModel):
    """What to trace: a passage (`source` and `locator`) or a `text`."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(
        None, max_length=500, examples=["un-ga-resolution-78-16-programme-of-action-2023.pdf"]
    )
    locator: str | None = Field(None, max_length=200, examples=["paragraph 4"])
    text: str | None = Field(None, max_length=8000)
    limit: int = Field(20, ge=1, le=100)
    scope: ScopeIn | None = None


class MetadataIn(BaseModel):
    """Corrections to a document's metadata; a field left out is unchanged, an empty string
    clears it. Edited fields keep their values through later syncs."""

    model_config = ConfigDict(extra="forbid")

    body: str | None = Field(None, max_length=200)
    doc_type: str | None = Field(None, max_length=200)
    date: str | None = Field(None, max_length=10, description="ISO: YYYY-MM-DD, YYYY-MM or YYYY")
    symbol: str | None = Field(None, max_length=200)


class FeedbackIn(BaseModel):
    question: str = Field(..., max_length=4000)
    answer: AnswerOut  # type: ignore[valid-type]
    liked: bool
    comment: str = Field("", max_length=2000)


@dataclass
class _Api:
    """What the routes share: the doors' parts, the answer slots, the background jobs, and the
    checks each route depends on."""

    doors: Doors
    # answers are CPU-bound (torch, numpy): a few at a time keep latency flat under load
    answering: anyio.CapacityLimiter = field(init=False)
    jobs: JobRunner = field(init=False)
    feedback_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        settings = self.doors.settings
        self.answering = anyio.CapacityLimiter(settings.max_concurrent_answers)
        self.jobs = JobRunner(expected=(LibraryError, StoreError))
        self.feedback_limiter = RateLimiter(
            settings.feedback_per_minute, "too much feedback; please wait a moment"
        )

    @property
    def settings(self) -> Settings:
        return self.doors.settings

    def admin(self, request: Request) -> None:
        self.doors.guard.check(request, self.settings.api_keys)

    def keyed(self, request: Request) -> None:
        if lacks_api_key(request, self.settings.api_keys):
            raise HTTPException(
                401, "a valid API key is required (X-API-Key or Authorization: Bearer)"
            )

    def asker(self, request: Request) -> None:
        self.keyed(request)
        self.doors.limiter.check(client_key(request, self.settings.api_keys))

    def feedback_giver(self, request: Request) -> None:
        self.keyed(request)
        self.feedback_limiter.check(client_key(request, self.settings.api_keys))

    def validated(self, body: AskRequest) -> tuple[str, list[dict[str, str]], Scope | None]:
        s = self.settings
        if len(body.question) > s.max_question_chars:
            raise HTTPException(
                413, f"the question is longer than {s.max_question_chars} characters"
            )
        if len(body.history) > s.max_history_turns:
            raise HTTPException(413, f"more than {s.max_history_turns} earlier turns")
        if any(len(t.content) > s.max_history_chars for t in body.history):
            raise HTTPException(
                413, f"an earlier turn is longer than {s.max_history_chars} characters"
            )
        scope = scope_of(body.scope)
        return body.question, [t.model_dump() for t in body.history], scope

    def accepted(self, job: Job, response: Response, **extra: Any) -> dict[str, Any]:
        response.status_code = 202
        url = f"/api/v1/jobs/{job.id}"
        response.headers["Location"] = url
        return {"job": job.as_json(), "status_url": url, **extra}


def build_api(doors: Doors) -> APIRouter:
    """The /api/v1 routes, and the OpenAI-compatible /v1 routes (one rate limit, one set of
    answer slots)."""
    from .openai_api import build_openai_routes

    api = _Api(doors)
    router = APIRouter()
    v1 = APIRouter(prefix="/api/v1")
    for part in (_answer_routes, _feedback_routes, _document_routes, _health_routes):
        v1.include_router(part(api))
    router.include_router(v1)
    router.include_router(build_openai_routes(api))
    return router


def _answer_routes(api: _Api) -> APIRouter:
    router = APIRouter(dependencies=[Depends(api.asker)])
    assistant = api.doors.assistant

    @router.post("/ask", response_model=AnswerOut)
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question; every sentence ends with [n] pointing into `citations`."""
        question, history, scope = api.validated(body)
        answer = await anyio.to_thread.run_sync(
            assistant.ask, question, history, scope, limiter=api.answering
        )
        return answer.as_json()

    @router.post("/search")
    async def search(body: SearchRequest) -> dict[str, Any]:
        """The passages that match `query` best, as citations (the keys an answer's citations
        have); 422 when the scope admits no document."""
        scope = scope_of(body.scope)
        try:
            citations = await anyio.to_thread.run_sync(
                assistant.search, body.query, body.k, scope, limiter=api.answering
            )
        except ScopeMatchesNothing as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"citations": [c.as_json() for c in citations]}

    @router.post("/trace")
    async def trace(body: TraceRequest) -> dict[str, Any]:
        """Where else the library carries a passage's (or a text's) wording: `matches`, oldest
        first, each with the citation keys, `similarity` (0-1, 1 verbatim) and `diff` (a list
        of {op: equal|removed|added, text}: removed is in the traced text only). 404 for an
        unknown document or locator."""
        if not (body.text or body.source):
            raise HTTPException(422, "give a source (and locator) or a text to trace")
        scope = scope_of(body.scope)
        try:
            traced = await anyio.to_thread.run_sync(
                lambda: assistant.trace(
                    body.text,
                    source=body.source,
                    locator=body.locator,
                    scope=scope,
                    limit=body.limit,
                ),
                limiter=api.answering,
            )
        except TraceError as exc:
            status = 404 if body.source and "four words" not in str(exc) else 422
            raise HTTPException(status, str(exc)) from exc
        return traced.as_json()

    @router.post("/ask/stream")
    async def ask_stream(body: AskRequest) -> EventStreamResponse:
        """Server-sent events: `token` events carry the answer text so far (`{"text"}`), then
        one `answer` event carries the final Answer JSON. Before it, when a quoted passage holds
        sentences addressed to AI systems (prompt injection, ignored by the assistant), a
        `flagged` event maps citation numbers to those sentences, for display."""
        question, history, scope = api.validated(body)

        def events() -> Iterator[str]:
            last = None
            for partial in assistant.stream(question, history, scope):
                if last is not None:
                    yield f"event: token\ndata: {json.dumps({'text': last.answer})}\n\n"
                last = partial
            if last is not None:
                final = last.as_json()
                flagged = flagged_sentences(final)
                if flagged:
                    yield f"event: flagged\ndata: {json.dumps(flagged, ensure_ascii=False)}\n\n"
                yield f"event: answer\ndata: {json.dumps(final, ensure_ascii=False)}\n\n"

        return EventStreamResponse(stream_in_slot(api.answering, events()))

    return router


def _feedback_routes(api: _Api) -> APIRouter:
    router = APIRouter(dependencies=[Depends(api.feedback_giver)])

    @router.post("/feedback", status_code=204)
    async def give_feedback(body: FeedbackIn) -> None:
        """Thumbs up or down on an answer; stored under DATA_DIR with the question and citations."""
        try:
            await run_in_threadpool(
                api.doors.feedback.record,
                body.question,
                body.answer.model_dump(),
                body.liked,
                body.comment,
            )
        except FeedbackFullError as exc:
            raise HTTPException(503, str(exc)) from exc

    return router


def _library_error(exc: LibraryError) -> HTTPException:
    if isinstance(exc, UploadTooLargeError):
        return HTTPException(413, str(exc))
    if isinstance(exc, (DuplicateDocumentError, LibraryBusyError)):
        return HTTPException(409, str(exc))
    return HTTPException(422, str(exc))


def _document_routes(api: _Api) -> APIRouter:
    router = APIRouter()
    library = api.doors.library

    @router.get("/documents")
    async def documents() -> list[dict[str, Any]]:
        """The documents in the library."""
        return await run_in_threadpool(library.documents)

    @router.post("/documents", dependencies=[Depends(api.admin)], status_code=201)
    async def upload(file: UploadFile, response: Response, wait: bool = True) -> dict[str, Any]:
        """Add a document (PDF, HTML, Markdown, TXT, DOCX); it is answerable when this returns.

        Refused with a one-line `error`: 413 over the upload limit, 409 when the same file is
        already in the library (the message names it), 422 when it cannot be read (unsupported
        type, content that does not match the extension, empty, corrupt, encrypted, no text).

        With `wait=false` the checks that need no ingest (type, size, empty, duplicate) still
        answer at once; the ingest then runs in the background and the reply is 202 with a
        `status_url` (`GET /api/v1/jobs/{id}`) that reports `done` with the report, or `failed`
        with the one-line reason (the file is then not kept)."""
        data = await file.read(library.max_upload_bytes + 1)
        name = file.filename or "upload"
        try:
            if wait:
                source, report = await run_in_threadpool(library.add, name, data)
                return {"source": source, "report": report.as_json()}
            path, source = await run_in_threadpool(library.stage, name, data)
        except LibraryError as exc:
            raise _library_error(exc) from exc

        def work() -> dict[str, Any]:
            return {"source": source, "report": library.commit(path, source).as_json()}

        return api.accepted(api.jobs.submit("upload", work), response, source=source)

    @router.get("/jobs/{job_id}", dependencies=[Depends(api.admin)])
    async def job_status(job_id: str) -> dict[str, Any]:
        """A background upload or ingest: `queued`, `running`, `done` (with `result`) or `failed`
        (with a one-line `error`). Jobs are remembered until 200 newer ones have been submitted."""
        job = api.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return job.as_json()

    @router.delete("/documents/{source:path}", dependencies=[Depends(api.admin)])
    async def delete(source: str) -> dict[str, Any]:
        """Remove a document and its passages."""
        try:
            report = await run_in_threadpool(library.remove, source)
        except LibraryError as exc:
            raise HTTPException(404, str(exc)) from exc
        return {"removed": report.removed}

    @router.patch("/documents/{source:path}", dependencies=[Depends(api.admin)])
    async def edit(source: str, body: MetadataIn) -> dict[str, Any]:
        """Correct a document's issuing body, type, date or symbol; the updated record."""
        changes = body.model_dump(exclude_unset=True)
        if not changes:
            raise HTTPException(422, "nothing to change: give body, doc_type, date or symbol")
        try:
            return await run_in_threadpool(library.edit, source, changes)
        except LibraryError as exc:
            status = 404 if str(exc).startswith("no document") else _library_error(exc).status_code
            raise HTTPException(status, str(exc)) from exc

    @router.post("/ingest", dependencies=[Depends(api.admin)])
    async def reingest(response: Response, wait: bool = True) -> dict[str, Any]:
        """Sync the corpus folder into the store (new, changed and deleted files); the report.

        With `wait=false`: 202 and a `status_url` to poll, as for uploads."""
        if not wait:
            return api.accepted(
                api.jobs.submit("ingest", lambda: library.reingest().as_json()), response
            )
        try:
            report = await run_in_threadpool(library.reingest)
        except LibraryError as exc:
            raise HTTPException(409, str(exc)) from exc
        return report.as_json()

    return router


def _health_routes(api: _Api) -> APIRouter:
    router = APIRouter()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and what is loaded."""
        library = api.doors.library
        docs = await run_in_threadpool(library.documents)
        return {
            "status": "ok",
            "documents": len(docs),
            "chunks": sum(d["chunks"] for d in docs),
            # the sync running in the background, or the last one
            "indexing": library.sync_progress.as_json(),
            "llm": bool(api.settings.llm_base_url),
            "answer_slots": {
                "free": int(api.answering.available_tokens),
                "limit": int(api.answering.total_tokens),
            },
        }

    return router
