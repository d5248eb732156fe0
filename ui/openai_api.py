"""An OpenAI-compatible door: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Chat front ends that speak the OpenAI Chat Completions API (Open WebUI, LibreChat, the ``openai``
SDK, LangChain's ``ChatOpenAI``) can use the library as a model. The last user message is the
question and the earlier user/assistant turns its history; system messages are read by nobody
(they cannot change the assistant's rules). The reply's text keeps its ``[n]`` markers and ends
with a ``Sources:`` list, so a plain client shows where each claim comes from; the same Citation
objects as everywhere else travel in a top-level ``citations`` list (on the completion, and on
the last chunk of a stream). Keys: ``Authorization: Bearer <key>`` (or ``X-API-Key``) against
API_KEYS, with the JSON API's rate limit and answer slots. Errors are OpenAI error objects.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from .api import ScopeIn
from .streaming import EventStreamResponse, stream_in_slot

if TYPE_CHECKING:
    from .api import _Api

__all__ = ["MODEL_ID", "SOURCES_HEADING", "build_openai_routes", "openai_error"]

MODEL_ID = "policy-assistant"
SOURCES_HEADING = "\n\nSources:\n"


class Part(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "text"
    text: str = ""


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[Part] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    """The fields this door reads; the rest of OpenAI's (temperature, max_tokens, …) are
    accepted and have no effect: the answer is the library's, not a sampled text."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_ID
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    scope: ScopeIn | None = Field(
        None, description="This door's extension: the JSON API's scope (SDKs: `extra_body`)."
    )


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = {
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


def _question_and_history(messages: list[Message]) -> tuple[str, list[dict[str, str]]]:
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise HTTPException(400, "the last message must be a user message with text")
    history = [
        # an earlier reply of this door: its sources list is not part of what was said
        {"role": m.role, "content": m.text().split(SOURCES_HEADING)[0]}
        for m in turns[:-1]
    ]
    return turns[-1].text().strip(), history


def build_openai_routes(api: _Api) -> APIRouter:
    from .api import AskRequest

    router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
    assistant = api.doors.assistant

    @router.get("/models", dependencies=[Depends(api.keyed)])
    async def models() -> dict[str, Any]:
        """The one model: this library."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "library"}],
        }

    @router.post("/chat/completions", dependencies=[Depends(api.asker)], response_model=None)
    async def chat_completions(body: CompletionRequest) -> dict[str, Any] | EventStreamResponse:
        """A cited answer in the Chat Completions format (``stream: true`` for chunks)."""
        question, history = _question_and_history(body.messages)
        # the JSON API's limits on question and history length apply here too
        question, history, scope = api.validated(
            AskRequest(question=question, history=history, scope=body.scope)
        )
        made = int(time.time())
        ident = f"chatcmpl-{uuid.uuid4().hex}"
        if not body.stream:
            answer = await anyio.to_thread.run_sync(
                assistant.ask, question, history, scope, limiter=api.answering
            )
            return {
                "id": ident,
                "object": "chat.completion",
                "created": made,
                "model": body.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.to_text()},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": answer.as_json()["citations"],
                "abstained": answer.abstained,
            }

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            data = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": made,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events() -> Iterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            sent, last = "", None
            for partial in assistant.stream(question, history, scope):
                last = partial
                # Only checked text is sent: an LLM's raw tokens (partials without citations)
                # may lose sentences in the check, and a chunk cannot be taken back.
                if partial.citations and partial.answer.startswith(sent):
                    yield chunk({"content": partial.answer[len(sent) :]})
                    sent = partial.answer
            if last is None:
                return
            full = last.to_text()
            rest = full[len(sent) :] if full.startswith(sent) else "\n\n" + full
            if rest:
                yield chunk({"content": rest})
            yield chunk(
                {},
                "stop",
                citations=last.as_json()["citations"],
                abstained=last.abstained,
            )
            yield "data: [DONE]\n\n"

        return EventStreamResponse(stream_in_slot(api.answering, events()))

    return router
