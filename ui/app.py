"""The web app: one FastAPI app with the JSON API, the document files, the embed page and widget,
and the Gradio chat mounted at /. Every door calls the same Assistant and Library."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant import Settings
from assistant.errors import StoreError
from assistant.feedback import FeedbackLog
from assistant.library import Library, LibraryError

from .api import build_api
from .security import RateLimiter, frame_ancestors

__all__ = ["create_app"]

log = logging.getLogger(__name__)

# An uploaded HTML document is shown as a document, never run as a page of this origin.
_DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


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
    feedback = FeedbackLog(settings.data_dir / "feedback.jsonl")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = _error(exc.status_code, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
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

    body_limit = int(settings.max_upload_mb * 2**20) + 2**20  # an upload plus its form fields

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        """Refuse a declared body over the upload limit before anything reads it."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > body_limit:
            return _error(413, f"request body over the {settings.max_upload_mb:g} MiB limit")
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

    # one budget per client across the JSON API and the Gradio chat
    limiter = RateLimiter(settings.rate_limit_per_minute)
    app.include_router(build_api(assistant, library, settings, feedback, limiter))

    @app.get("/documents/{source:path}", include_in_schema=False)
    async def document_file(source: str) -> FileResponse:
        """The original file of a document (what citation links open)."""
        try:
            path = library.resolve(source)
        except LibraryError as exc:
            raise HTTPException(404, "no such document") from exc
        if not path.is_file() or path.name.startswith("."):
            raise HTTPException(404, "no such document")
        headers = {"Content-Security-Policy": _DOCUMENT_CSP}
        media = "text/plain; charset=utf-8" if path.suffix.lower() in (".html", ".htm") else None
        return FileResponse(
            path, media_type=media, headers=headers, content_disposition_type="inline"
        )

    from .embed import build_embed_router

    app.include_router(build_embed_router(settings))
    if chat:
        import gradio as gr

        from .chat import build_chat_ui

        blocks = build_chat_ui(assistant, library, settings, feedback, limiter)
        app = gr.mount_gradio_app(
            app,
            blocks,
            path="/",
            show_error=False,
            pwa=False,
            max_file_size=int(settings.max_upload_mb * 2**20),
        )
    return app
