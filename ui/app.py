"""The web app: one FastAPI app with the JSON API, the document files, the embed page and widget,
and the Gradio chat mounted at /. Every door calls the same Assistant and Library."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant import Settings, StoreError
from ingest import Library, LibraryError

from .api import build_api
from .openai_api import openai_error
from .security import BodyLimit, frame_ancestors
from .shared import Doors

__all__ = ["create_app", "server_config"]

log = logging.getLogger(__name__)

# An uploaded HTML document is shown as a document, never run as a page of this origin.
_DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


OTHER_BODY_LIMIT = 2 * 2**20  # Gradio's queue calls carry the chat's messages: small, not tiny


def server_config(app: Any, settings: Settings) -> Any:
    """The uvicorn configuration `serve` runs (tests use it too): forwarded client addresses
    are believed only from TRUSTED_PROXIES, so a visitor cannot dodge the per-client limits
    by sending another ``X-Forwarded-For`` with each request."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies) or None,
    )


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def create_app(
    assistant: Any, library: Library, settings: Settings, *, chat: bool = True
) -> FastAPI:
    """The app; ``chat=False`` leaves out the Gradio UI (API-only deployments, fast tests)."""
    app = FastAPI(
        title="policy-assistant",
        description="Answers questions over a library of policy documents, with citations.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    # one feedback log, and one budget and admin guard per client across the API and the chat
    doors = Doors.build(assistant, library, settings)
    app.state.doors = doors  # what the app serves, for the process that runs it (and tests)
    _handle_errors(app)
    _guard_requests(app, settings)
    app.include_router(build_api(doors))
    app.include_router(_document_files(library))
    from .embed import build_embed_router

    app.include_router(build_embed_router(settings))
    from .mcp_server import mount_mcp

    mount_mcp(app, assistant, library, settings)
    if chat:
        app = _mount_chat(app, doors)
    return app


def _handle_errors(app: FastAPI) -> None:
    """Every error is JSON with a one-line ``error``; a crash says no more than that."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = (
            JSONResponse(openai_error(exc.status_code, str(exc.detail)), exc.status_code)
            if request.url.path.startswith("/v1/")  # OpenAI clients read OpenAI's error object
            else _error(exc.status_code, str(exc.detail))
        )
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        if request.url.path.startswith("/v1/"):
            where = "; ".join(f"{d['where']}: {d['problem']}" for d in details)
            return JSONResponse(openai_error(400, f"invalid request: {where}"), 400)
        return _error(422, "invalid request", details=details)

    @app.exception_handler(StoreError)
    async def store_unusable(request: Request, exc: StoreError) -> JSONResponse:
        """The store cannot answer (empty, damaged, server unreachable): say why, retry later."""
        log.error("store error on %s: %s", request.url.path, exc)
        return _error(503, str(exc))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _error(500, "internal error")


def _guard_requests(app: FastAPI, settings: Settings) -> None:
    """Body limits, no anonymous uploads, security headers, and CORS from its allow-list."""
    upload_limit = int(settings.max_upload_mb * 2**20) + 2**20  # an upload plus its form fields
    small_limit = settings.max_request_kb * 1024

    def body_limit(method: str, path: str) -> int:
        """Questions, searches, traces, feedback and MCP calls are small; only uploads may be
        large."""
        small = (
            "/api/v1/ask",
            "/api/v1/feedback",
            "/api/v1/search",
            "/api/v1/trace",
            "/v1/",
            "/mcp",
        )
        if path.startswith(small):
            return small_limit
        if path.startswith(("/api/v1/documents", "/gradio_api/upload")):
            return upload_limit
        return OTHER_BODY_LIMIT

    app.add_middleware(BodyLimit, limit_for=body_limit)

    if not settings.admin_token.get_secret_value():

        @app.middleware("http")
        async def no_anonymous_uploads(request: Request, call_next: Any) -> Any:
            """Gradio's upload route writes files to a temporary folder for anyone; the chat
            needs it only for the editors' upload, which exists only with an ADMIN_TOKEN."""
            if request.url.path.startswith("/gradio_api/upload"):
                return _error(403, "uploads are switched off: no ADMIN_TOKEN is set")
            return await call_next(request)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if "content-security-policy" not in response.headers:
            response.headers["Content-Security-Policy"] = frame_ancestors(settings.embed_origins)
        return response

    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
            max_age=600,
        )


def _document_files(library: Library) -> APIRouter:
    router = APIRouter()

    @router.get("/documents/{source:path}", include_in_schema=False)
    async def document_file(source: str) -> FileResponse:
        """The original file of a document (what citation links open)."""
        try:  # only documents the library lists: never .git/config, notes beside them, links
            path = await run_in_threadpool(library.file_of, source)
        except LibraryError as exc:
            raise HTTPException(404, "no such document") from exc
        headers = {"Content-Security-Policy": _DOCUMENT_CSP}
        media = "text/plain; charset=utf-8" if path.suffix.lower() in (".html", ".htm") else None
        return FileResponse(
            path, media_type=media, headers=headers, content_disposition_type="inline"
        )

    return router


def _mount_chat(app: FastAPI, doors: Doors) -> FastAPI:
    import gradio as gr

    from .chat import build_chat_ui

    return gr.mount_gradio_app(
        app,
        build_chat_ui(doors),
        path="/",
        show_error=False,
        pwa=False,
        max_file_size=int(doors.settings.max_upload_mb * 2**20),
    )
