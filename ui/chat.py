"""The Gradio UI: a Chat tab (streamed answers, a sources panel, thumbs up/down, Markdown export)
and a Library tab (the documents; upload and removal for editors when ADMIN_TOKEN is set).

Formatting only: answers come from ``assistant.stream``, documents from the ``Library``. Every
piece of document text is HTML-escaped before it reaches the page, since documents may hold
markup and scripts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import HTTPException

from assistant import Settings
from assistant.feedback import FeedbackLog
from ingest import Library, LibraryError

from .embed import STATIC_DIR
from .render import (
    ABSTAINED_LABEL,
    SOURCES_PLACEHOLDER,
    answer_markdown,
    answer_text,
    conversation_markdown,
    md_text,
    sources_html,
)
from .security import AdminGuard, RateLimiter, client_key

__all__ = [
    "ABSTAINED_LABEL",
    "EXAMPLES",
    "answer_markdown",
    "answer_text",
    "build_chat_ui",
    "md_text",
    "sources_html",
]

log = logging.getLogger(__name__)

EXAMPLES = [
    "What does Article 23 of NIS2 require, and what are the reporting deadlines?",
    "What is the UN Programme of Action on ICT security meant to do?",
    "Which principles does the Paris Call for Trust and Security in Cyberspace set out?",
    "Which confidence-building measures do States recommend for ICT security?",
]
# Answers run on a CPU: a few at a time keeps each one fast; the rest wait in Gradio's queue.
ANSWER_CONCURRENCY = 2


def documents_table(library: Library) -> list[list[Any]]:
    """Rows of the Library tab: title, type, pages, chunks, when ingested."""
    rows = []
    for d in library.documents():
        when = (d.get("ingested_at") or "")[:16].replace("T", " ")
        rows.append([d["title"], d["kind"].upper(), d.get("pages") or "", d["chunks"], when])
    return rows


def _document_choices(library: Library) -> list[tuple[str, str]]:
    return [(f"{d['title']} ({d['source']})", d["source"]) for d in library.documents()]


# --- the UI -------------------------------------------------------------------------------------
EXPORT_KEEP_SECONDS = 3600  # Gradio has copied an export into its own cache long before


def write_export(folder: Path, text: str, keep_seconds: float = EXPORT_KEEP_SECONDS) -> str:
    """Write a conversation export under ``folder``; exports older than ``keep_seconds`` go."""
    cutoff = time.time() - keep_seconds
    for old in folder.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old)
    target = folder / hashlib.sha256(text.encode()).hexdigest()[:16]
    target.mkdir(exist_ok=True)
    path = target / "policy-assistant-conversation.md"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _over_limit(
    limiter: RateLimiter | None, request: gr.Request | None, api_keys: list[str]
) -> str | None:
    """The refusal when this client asked too often (the JSON API's budget is shared), else None."""
    if limiter is None or request is None:
        return None
    try:
        limiter.check(client_key(request, api_keys))
    except HTTPException as exc:
        return str(exc.detail)
    return None


def build_chat_ui(
    assistant: Any,
    library: Library,
    settings: Settings,
    feedback: FeedbackLog,
    limiter: RateLimiter | None = None,
    guard: AdminGuard | None = None,
) -> gr.Blocks:
    """The Blocks mounted at /. ``assistant`` has ``ask`` and ``stream`` (``assistant.Assistant``).

    ``limiter`` counts questions per client and ``guard`` wrong admin tokens, both shared with
    the JSON API.
    """
    guard = guard or AdminGuard(
        settings.admin_token.get_secret_value(), settings.admin_failures_per_minute
    )

    def chat(message: str, request: gr.Request) -> str:
        """Answer a question from the library; returns the answer text, then its sources."""
        if settings.api_keys and (request.headers or {}).get("x-api-key") not in settings.api_keys:
            raise gr.Error("a valid X-API-Key header is required")
        question = (message or "").strip()
        if not question:
            raise gr.Error("the question is empty")
        if len(question) > settings.max_question_chars:
            raise gr.Error(f"the question is longer than {settings.max_question_chars} characters")
        refused = _over_limit(limiter, request, settings.api_keys)
        if refused:
            raise gr.Error(refused)
        return answer_text(assistant.ask(question, []).as_json())

    with gr.Blocks(title="Policy assistant", delete_cache=(3600, 3600)) as blocks:
        gr.Markdown(
            "# Policy assistant\nAnswers questions over the library of policy documents. "
            "Every sentence of an answer cites the passage it comes from; open a source to check it."
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(assistant, settings, feedback, limiter)
            with gr.Tab("Library", id="library"):
                table, choice = _library_tab(library, guard)
        if choice is None:
            blocks.load(lambda: documents_table(library), outputs=table, api_visibility="private")
        else:
            blocks.load(
                lambda: (documents_table(library), gr.Dropdown(choices=_document_choices(library))),
                outputs=[table, choice],
                api_visibility="private",
            )
        gr.api(chat, api_name="chat", concurrency_limit=ANSWER_CONCURRENCY, concurrency_id="answer")
    return blocks


def _chat_tab(
    assistant: Any, settings: Settings, feedback: FeedbackLog, limiter: RateLimiter | None
) -> None:
    """The conversation, the question box, examples, export, and the sources panel."""
    export_dir = Path(tempfile.mkdtemp(prefix="policy-assistant-exports-"))

    def history_of(records: list[dict[str, Any]]) -> list[dict[str, str]]:
        turns = []
        for r in records:
            turns += [
                {"role": "user", "content": r["question"][: settings.max_history_chars]},
                {
                    "role": "assistant",
                    "content": r["answer"]["answer"][: settings.max_history_chars],
                },
            ]
        return turns[-settings.max_history_turns :] if settings.max_history_turns else []

    def messages_of(records: list[dict[str, Any]]) -> list[dict[str, str]]:
        messages = []
        for r in records:
            messages += [
                {"role": "user", "content": md_text(r["question"])},
                {"role": "assistant", "content": answer_markdown(r["answer"])},
            ]
        return messages

    def export_file(records: list[dict[str, Any]]) -> str:
        return write_export(export_dir, conversation_markdown(records, settings.public_url))

    def respond(
        message: str, records: list[dict[str, Any]], request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        question = (message or "").strip()[: settings.max_question_chars]
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        shown = messages_of(records) + [{"role": "user", "content": md_text(question)}]
        refused = _over_limit(limiter, request, settings.api_keys)
        if refused:
            notice = {"role": "assistant", "content": f"⚠️ {md_text(refused.capitalize())}."}
            yield gr.skip(), [*shown, notice], gr.skip(), gr.skip(), gr.skip()
            return
        pending = {"role": "assistant", "content": "…"}
        yield "", [*shown, pending], gr.skip(), gr.skip(), gr.skip()
        last = None
        try:
            for partial in assistant.stream(question, history_of(records)):
                last = partial.as_json()
                pending["content"] = answer_markdown(last, final=False)
                yield gr.skip(), [*shown, pending], gr.skip(), gr.skip(), gr.skip()
        except Exception:
            log.exception("answering failed")
            last = None
        if last is None:
            pending["content"] = "⚠️ The assistant could not answer just now; please try again."
            yield gr.skip(), [*shown, pending], gr.skip(), gr.skip(), gr.skip()
            return
        records = [*records, {"question": question, "answer": last}]
        export = gr.DownloadButton(value=export_file(records), visible=True)
        yield gr.skip(), messages_of(records), sources_html(last), records, export

    def on_like(records: list[dict[str, Any]], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        if isinstance(data.liked, bool) and 0 <= index // 2 < len(records):
            record = records[index // 2]
            feedback.record(record["question"], record["answer"], data.liked)

    def show_sources(records: list[dict[str, Any]], data: gr.SelectData) -> Any:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        ok = 0 <= index // 2 < len(records)
        return sources_html(records[index // 2]["answer"]) if ok else gr.skip()

    def clear() -> tuple[Any, ...]:
        return [], [], SOURCES_PLACEHOLDER, gr.DownloadButton(value=None, visible=False)

    records = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="Conversation",
                height=520,
                latex_delimiters=[],
                buttons=["copy"],
                placeholder="Ask about the documents in the library, e.g. NIS2 reporting "
                "deadlines, the UN Programme of Action or the Paris Call.",
                elem_id="pa-chatbot",
            )
            with gr.Row():
                textbox = gr.Textbox(
                    show_label=False,
                    placeholder="Ask a question…",
                    max_length=settings.max_question_chars,
                    scale=5,
                    autofocus=True,
                    elem_id="pa-question",
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="pa-ask")
            gr.Examples(EXAMPLES, inputs=textbox, label="Example questions")
            with gr.Row():
                clear_button = gr.Button("New conversation", size="sm")
                export = gr.DownloadButton(
                    "Export conversation (Markdown)", visible=False, size="sm", elem_id="pa-export"
                )
        with gr.Column(scale=2):
            sources = gr.HTML(
                SOURCES_PLACEHOLDER,
                css_template=(STATIC_DIR / "sources.css").read_text(encoding="utf-8"),
                js_on_load=None,
                elem_id="pa-sources",
                max_height=700,
            )
    gr.on(
        [textbox.submit, send.click],
        respond,
        inputs=[textbox, records],
        outputs=[textbox, chatbot, sources, records, export],
        api_visibility="private",
        concurrency_limit=ANSWER_CONCURRENCY,
        concurrency_id="answer",
        show_progress="minimal",
    )
    chatbot.like(on_like, inputs=[records], outputs=None, api_visibility="private")
    chatbot.select(show_sources, inputs=[records], outputs=[sources], api_visibility="private")
    for trigger in (clear_button.click, chatbot.clear):
        trigger(clear, outputs=[chatbot, records, sources, export], api_visibility="private")


def _library_tab(library: Library, guard: AdminGuard) -> tuple[gr.Dataframe, gr.Dropdown | None]:
    """The documents table, and the editors' area only when an admin token is configured.
    Returns the table and the editors' document choice (None without a token)."""
    gr.Markdown("The documents the assistant answers from.")
    table = gr.Dataframe(
        value=documents_table(library),
        headers=["Title", "Type", "Pages", "Chunks", "Ingested (UTC)"],
        datatype=["str", "str", "str", "number", "str"],
        interactive=False,
        wrap=True,
        column_widths=["52%", "9%", "9%", "10%", "20%"],
        elem_id="pa-documents",
    )
    refresh = gr.Button("Refresh", size="sm")
    refresh.click(lambda: documents_table(library), outputs=table, api_visibility="private")
    choice = _editors_area(library, guard, table) if guard.token else None
    return table, choice


def _editors_area(library: Library, guard: AdminGuard, table: gr.Dataframe) -> gr.Dropdown:
    """Upload and removal; every action checks the token (in constant time, and a client that
    keeps sending wrong ones is barred for a minute: ``AdminGuard``)."""
    refused = "⚠️ The admin token is not valid. (After many wrong ones, wait a minute.)"

    def authorised(token: str, request: gr.Request | None) -> bool:
        return guard.matches(token or "", client_key(request) if request else "ip:unknown")

    def refreshed() -> tuple[list[list[Any]], gr.Dropdown]:
        return documents_table(library), gr.Dropdown(choices=_document_choices(library), value=None)

    # Gradio finds its progress tracker by this default value (its documented pattern).
    def add(
        token: str,
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:
        if not authorised(token, request) or not path:
            return refused if path else "⚠️ Choose a file first.", gr.skip(), gr.skip(), gr.skip()
        name = Path(path).name
        progress(0.1, desc=f"Reading, splitting and embedding {name}…")
        try:
            source, report = library.add(name, Path(path).read_bytes())
        except LibraryError as exc:
            status = f"⚠️ Could not add {md_text(name)}: {md_text(str(exc))}"
            return status, gr.skip(), gr.skip(), gr.skip()
        progress(1.0, desc="Done")
        passages = report.chunks_written
        status = f"**Added** {md_text(name)} as {md_text(source)} ({passages} passages); it is answerable now."
        return status, *refreshed(), None

    def remove(token: str, source: str | None, request: gr.Request) -> tuple:
        if not authorised(token, request) or not source:
            return refused if source else "⚠️ Choose a document first.", gr.skip(), gr.skip()
        try:
            library.remove(source)
        except LibraryError as exc:
            return f"⚠️ {md_text(str(exc))}", gr.skip(), gr.skip()
        return f"**Removed** {md_text(source)}.", *refreshed()

    with gr.Accordion("Editors: add or remove documents", open=True, elem_id="pa-admin"):
        token = gr.Textbox(label="Admin token", type="password", elem_id="pa-admin-token")
        with gr.Row():
            upload = gr.File(
                label="Document (PDF, HTML, Markdown, TXT, DOCX)",
                file_types=sorted(Library.supported),
                type="filepath",
                elem_id="pa-upload",
            )
            with gr.Column():
                add_button = gr.Button("Add to the library", variant="primary", elem_id="pa-add")
                choice = gr.Dropdown(
                    label="Document to remove", choices=_document_choices(library), value=None
                )
                remove_button = gr.Button(
                    "Remove from the library", variant="stop", elem_id="pa-remove"
                )
        status = gr.Markdown(elem_id="pa-admin-status")
    # one change to the library at a time (the Library also serialises ingests)
    add_button.click(
        add,
        inputs=[token, upload],
        outputs=[status, table, choice, upload],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="library",
    )
    remove_button.click(
        remove,
        inputs=[token, choice],
        outputs=[status, table, choice],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="library",
    )
    return choice
