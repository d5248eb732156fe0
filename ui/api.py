"""The JSON HTTP API under /api/v1: ask (plain and streamed), documents, ingest, health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request, Response, UploadFile
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from assistant import Settings
from assistant.answer import Citation
from assistant.errors import StoreError
from assistant.feedback import FeedbackFullError, FeedbackLog
from assistant.jobs import Job, JobRunner
from ingest import (
    DuplicateDocumentError,
    Library,
    LibraryBusyError,
    LibraryError,
    UploadTooLargeError,
)

from .render import flagged_sentences
from .security import AdminGuard, RateLimiter, client_key
from .streaming import EventStreamResponse, stream_in_slot

__all__ = ["build_api"]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    question: str = Field(..., min_length=1, description="The question.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the question is empty")
        return value.strip()


class AnswerOut(BaseModel):
    answer: str
    abstained: bool
    citations: list[Citation]


class FeedbackIn(BaseModel):
    question: str = Field(..., max_length=4000)
    answer: AnswerOut
    liked: bool
    comment: str = Field("", max_length=2000)


def build_api(
    assistant: Any,
    library: Library,
    settings: Settings,
    feedback: FeedbackLog,
    limiter: RateLimiter | None = None,
    guard: AdminGuard | None = None,
) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    limiter = limiter or RateLimiter(settings.rate_limit_per_minute)
    guard = guard or AdminGuard(
        settings.admin_token.get_secret_value(), settings.admin_failures_per_minute
    )
    feedback_limiter = RateLimiter(
        settings.feedback_per_minute, "too much feedback; please wait a moment"
    )
    # answers are CPU-bound (torch, numpy): a few at a time keep latency flat under load
    answering = anyio.CapacityLimiter(settings.max_concurrent_answers)
    jobs = JobRunner(expected=(LibraryError, StoreError))

    def admin(request: Request) -> None:
        guard.check(request, settings.api_keys)

    def keyed(request: Request) -> None:
        if settings.api_keys and request.headers.get("x-api-key") not in settings.api_keys:
            raise HTTPException(401, "a valid X-API-Key header is required")

    def asker(request: Request) -> None:
        keyed(request)
        limiter.check(client_key(request, settings.api_keys))

    def feedback_giver(request: Request) -> None:
        keyed(request)
        feedback_limiter.check(client_key(request, settings.api_keys))

    def validated(body: AskRequest) -> tuple[str, list[dict[str, str]]]:
        if len(body.question) > settings.max_question_chars:
            raise HTTPException(
                413, f"the question is longer than {settings.max_question_chars} characters"
            )
        if len(body.history) > settings.max_history_turns:
            raise HTTPException(413, f"more than {settings.max_history_turns} earlier turns")
        if any(len(t.content) > settings.max_history_chars for t in body.history):
            raise HTTPException(
                413, f"an earlier turn is longer than {settings.max_history_chars} characters"
            )
        return body.question, [t.model_dump() for t in body.history]

    @router.post("/ask", response_model=AnswerOut, dependencies=[Depends(asker)])
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question; every sentence ends with [n] pointing into `citations`."""
        question, history = validated(body)
        answer = await anyio.to_thread.run_sync(assistant.ask, question, history, limiter=answering)
        return answer.as_json()

    @router.post("/ask/stream", dependencies=[Depends(asker)])
    async def ask_stream(body: AskRequest) -> EventStreamResponse:
        """Server-sent events: `token` events carry the answer text so far (`{"text"}`), then
        one `answer` event carries the final Answer JSON. Before it, when a quoted passage holds
        sentences addressed to AI systems (prompt injection, ignored by the assistant), a
        `flagged` event maps citation numbers to those sentences, for display."""
        question, history = validated(body)

        def events() -> Iterator[str]:
            last = None
            for partial in assistant.stream(question, history):
                if last is not None:
                    yield f"event: token\ndata: {json.dumps({'text': last.answer})}\n\n"
                last = partial
            if last is not None:
                final = last.as_json()
                flagged = flagged_sentences(final)
                if flagged:
                    yield f"event: flagged\ndata: {json.dumps(flagged, ensure_ascii=False)}\n\n"
                yield f"event: answer\ndata: {json.dumps(final, ensure_ascii=False)}\n\n"

        return EventStreamResponse(stream_in_slot(answering, events()))

    @router.post("/feedback", dependencies=[Depends(feedback_giver)], status_code=204)
    async def give_feedback(body: FeedbackIn) -> None:
        """Thumbs up or down on an answer; stored under DATA_DIR with the question and citations."""
        try:
            await run_in_threadpool(
                feedback.record, body.question, body.answer.model_dump(), body.liked, body.comment
            )
        except FeedbackFullError as exc:
            raise HTTPException(503, str(exc)) from exc

    @router.get("/documents")
    async def documents() -> list[dict[str, Any]]:
        """The documents in the library."""
        return await run_in_threadpool(library.documents)

    def library_error(exc: LibraryError) -> HTTPException:
        if isinstance(exc, UploadTooLargeError):
            return HTTPException(413, str(exc))
        if isinstance(exc, (DuplicateDocumentError, LibraryBusyError)):
            return HTTPException(409, str(exc))
        return HTTPException(422, str(exc))

    def accepted(job: Job, response: Response, **extra: Any) -> dict[str, Any]:
        response.status_code = 202
        url = f"/api/v1/jobs/{job.id}"
        response.headers["Location"] = url
        return {"job": job.as_json(), "status_url": url, **extra}

    @router.post("/documents", dependencies=[Depends(admin)], status_code=201)
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
            raise library_error(exc) from exc

        def work() -> dict[str, Any]:
            return {"source": source, "report": library.commit(path, source).as_json()}

        return accepted(jobs.submit("upload", work), response, source=source)

    @router.get("/jobs/{job_id}", dependencies=[Depends(admin)])
    async def job_status(job_id: str) -> dict[str, Any]:
        """A background upload or ingest: `queued`, `running`, `done` (with `result`) or `failed`
        (with a one-line `error`). Jobs are remembered until 200 newer ones have been submitted."""
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job")
        return job.as_json()

    @router.delete("/documents/{source:path}", dependencies=[Depends(admin)])
    async def delete(source: str) -> dict[str, Any]:
        """Remove a document and its passages."""
        try:
            report = await run_in_threadpool(library.remove, source)
        except LibraryError as exc:
            raise HTTPException(404, str(exc)) from exc
        return {"removed": report.removed}

    @router.post("/ingest", dependencies=[Depends(admin)])
    async def reingest(response: Response, wait: bool = True) -> dict[str, Any]:
        """Sync the corpus folder into the store (new, changed and deleted files); the report.

        With `wait=false`: 202 and a `status_url` to poll, as for uploads."""
        if not wait:
            return accepted(jobs.submit("ingest", lambda: library.reingest().as_json()), response)
        try:
            report = await run_in_threadpool(library.reingest)
        except LibraryError as exc:
            raise HTTPException(409, str(exc)) from exc
        return report.as_json()

    @router.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness and what is loaded."""
        docs = await run_in_threadpool(library.documents)
        return {
            "status": "ok",
            "documents": len(docs),
            "chunks": sum(d["chunks"] for d in docs),
            "llm": bool(settings.llm_base_url),
            "answer_slots": {
                "free": int(answering.available_tokens),
                "limit": int(answering.total_tokens),
            },
        }

    return router
