"""The library as a Model Context Protocol server (the official ``mcp`` SDK).

Tools: ``search_library`` (passages with citations), ``ask_library`` (a cited Answer, as
structured content), ``list_documents``; each document is a resource
(``document://{source}``, its text as the readers see it). Two transports: ``policy-assistant mcp``
over stdio (what desktop assistants start), and streamable HTTP at ``/mcp`` on the served app,
behind API_KEYS when they are set. Bad arguments come back as a one-line tool error.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import BaseModel, Field

from assistant import Scope, ScopeError, ScopeMatchesNothing, Settings, TraceError
from ingest import Library, LibraryError

from .api import ScopeIn

__all__ = ["build_mcp", "mount_mcp"]

INSTRUCTIONS = (
    "A library of cyber-policy documents (UN, EU, NATO, OSCE, national strategies). Use "
    "ask_library for an answer whose every sentence cites a passage [n]; show the citations "
    "with it. Use search_library to read passages yourself. An answer with abstained=true means "
    "the library does not contain the answer: say so instead of answering from memory."
)


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(..., max_length=20000)


def build_mcp(assistant: Any, library: Library, settings: Settings) -> MCPServer:
    """The MCP server over ``assistant`` (has ask() and search()) and ``library``."""
    server = MCPServer(name="policy-assistant", instructions=INSTRUCTIONS)

    def checked(scope: ScopeIn | None) -> Scope | None:
        try:
            return scope.scope() if scope else None
        except ScopeError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def search_library(
        query: str, k: int = 8, scope: ScopeIn | None = None
    ) -> list[dict[str, Any]]:
        """The k passages (1-30) that match the query best, each with its citation: document,
        title, page, locator, the exact quote, a link, and the document's body, doc_type, date
        and symbol. `scope` limits the search (bodies, types, since, until, documents)."""
        if not query.strip():
            raise ToolError("the query is empty")
        if not 1 <= k <= 30:
            raise ToolError("k must be between 1 and 30")
        try:
            return [asdict(c) for c in assistant.search(query.strip(), k, checked(scope))]
        except ScopeMatchesNothing as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def ask_library(
        question: str, history: list[Turn] | None = None, scope: ScopeIn | None = None
    ) -> dict[str, Any]:
        """Answer a question from the library. Every sentence of `answer` ends with [n],
        pointing into `citations` (document, page, exact quote, link); `abstained` is true when
        the library does not answer it. `history`: earlier turns, oldest first. `scope`: ask
        within part of the library (bodies, types, since, until, documents)."""
        question = question.strip()
        if not question:
            raise ToolError("the question is empty")
        if len(question) > settings.max_question_chars:
            raise ToolError(f"the question is longer than {settings.max_question_chars} characters")
        turns = [t.model_dump() for t in history or []][-settings.max_history_turns :]
        return assistant.ask(question, turns, checked(scope)).as_json()

    @server.tool()
    def trace_language(
        source: str | None = None,
        locator: str | None = None,
        text: str | None = None,
        scope: ScopeIn | None = None,
    ) -> dict[str, Any]:
        """Where else the library carries the wording of a passage (`source` and `locator`,
        e.g. "paragraph 4") or of a `text`: matches in other documents, oldest first, each
        with its citation, `similarity` (0-1, 1 verbatim) and a word-level `diff`
        (op equal/removed/added)."""
        if not (text or source):
            raise ToolError("give a source (and locator) or a text to trace")
        try:
            return assistant.trace(
                text, source=source, locator=locator, scope=checked(scope)
            ).as_json()
        except TraceError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool()
    def list_documents() -> list[dict[str, Any]]:
        """The documents in the library: source (its name), title, passages, pages, and the
        metadata a scope filters on: body, doc_type, date (ISO), symbol."""
        return library.documents()

    @server.resource("document://{source}", mime_type="text/plain")
    def document(source: str) -> str:
        """A document's text, with [page N] lines for PDFs."""
        try:
            return library.text_of(source)
        except LibraryError as exc:
            raise ResourceError(f"{source}: {exc}") from exc

    return server


class _Keyed:
    """The MCP endpoint behind API_KEYS (when set): a request without a key gets 401."""

    def __init__(self, app: Any, api_keys: list[str]) -> None:
        self.app, self.api_keys = app, api_keys

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.requests import Request
        from starlette.responses import JSONResponse

        from .security import lacks_api_key

        if scope["type"] == "http" and lacks_api_key(Request(scope), self.api_keys):
            message = "a valid API key is required (X-API-Key or Authorization: Bearer)"
            await JSONResponse({"error": message}, 401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def mount_mcp(app: Any, assistant: Any, library: Library, settings: Settings) -> None:
    """Streamable HTTP at ``/mcp`` on ``app`` (stateless, JSON replies); its session manager
    runs in the app's lifespan."""
    from contextlib import asynccontextmanager

    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from starlette.routing import Route

    server = build_mcp(assistant, library, settings)
    server.streamable_http_app(stateless_http=True, json_response=True, host=settings.host)
    manager = server.session_manager
    endpoint = _Keyed(StreamableHTTPASGIApp(manager), list(settings.api_keys))
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(running: Any) -> Any:
        async with manager.run(), previous(running) as state:
            yield state

    app.router.lifespan_context = lifespan
