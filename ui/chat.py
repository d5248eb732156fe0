"""The Gradio UI: a Chat tab (streamed answers, a sources panel, thumbs up/down, Markdown export)
and a Library tab (the documents; upload and removal for editors when ADMIN_TOKEN is set).

Formatting only: answers come from ``assistant.stream``, documents from the ``Library``. Every
piece of document text is HTML-escaped before it reaches the page, since documents may hold
markup and scripts.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import HTTPException

from assistant import Answer, Scope, ScopeError, TraceError

from .embed import STATIC_DIR
from .library_tab import document_choices, documents_table, indexing_markdown, library_tab
from .render import (
    ABSTAINED_LABEL,
    SOURCES_PLACEHOLDER,
    TRACE_PLACEHOLDER,
    answer_markdown,
    answer_text,
    conversation_markdown,
    md_text,
    sources_html,
    trace_html,
)
from .security import RateLimiter, client_key, lacks_api_key
from .shared import Doors

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
    limiter: RateLimiter, request: gr.Request | None, api_keys: list[str]
) -> str | None:
    """The refusal when this client asked too often (the JSON API's budget is shared), else None."""
    if request is None:
        return None
    try:
        limiter.check(client_key(request, api_keys))
    except HTTPException as exc:
        return str(exc.detail)
    return None


def build_chat_ui(doors: Doors) -> gr.Blocks:
    """The Blocks mounted at /. Questions per client count against the budget the JSON API
    shares (``doors.limiter``), wrong admin tokens against ``doors.guard``."""
    assistant, library, settings, limiter = (
        doors.assistant,
        doors.library,
        doors.settings,
        doors.limiter,
    )

    def chat(message: str, request: gr.Request) -> str:
        """Answer a question from the library; returns the answer text, then its sources."""
        if lacks_api_key(request, settings.api_keys):
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
        indexing = gr.Markdown(indexing_markdown(library), elem_id="pa-indexing")
        ticks = gr.Timer(2.0, active=library.sync_progress.running)

        def indexing_now() -> tuple[str, gr.Timer]:
            text = indexing_markdown(library)
            return text, gr.Timer(active=bool(text))

        ticks.tick(indexing_now, outputs=[indexing, ticks], api_visibility="private")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                bodies, types, _, _, documents = _chat_tab(doors)
            with gr.Tab("Library", id="library"):
                table, choices = library_tab(library, doors.guard)

        def loaded() -> tuple[Any, ...]:
            offered = scope_choices(library)
            listed = document_choices(library)
            return (
                documents_table(library),
                gr.Dropdown(choices=offered["bodies"]),
                gr.Dropdown(choices=offered["types"]),
                gr.Dropdown(choices=offered["documents"]),
                *(gr.Dropdown(choices=listed) for _ in choices),
            )

        blocks.load(
            loaded,
            outputs=[table, bodies, types, documents, *choices],
            api_visibility="private",
        )
        gr.api(chat, api_name="chat", concurrency_limit=ANSWER_CONCURRENCY, concurrency_id="answer")
    return blocks


class _Conversation:
    """The chat tab's handlers; a conversation lives in the browser's ``gr.State`` as a list of
    ``{"question", "answer"}`` records (the answer as ``Answer.as_json()``)."""

    def __init__(self, doors: Doors) -> None:
        self.assistant = doors.assistant
        self.settings = doors.settings
        self.feedback = doors.feedback
        self.limiter = doors.limiter
        self.export_dir = Path(tempfile.mkdtemp(prefix="policy-assistant-exports-"))

    def history_of(self, records: list[dict[str, Any]]) -> list[dict[str, str]]:
        turns = []
        for r in records:
            turns += [
                {"role": "user", "content": r["question"][: self.settings.max_history_chars]},
                {
                    "role": "assistant",
                    "content": r["answer"]["answer"][: self.settings.max_history_chars],
                },
            ]
        return turns[-self.settings.max_history_turns :] if self.settings.max_history_turns else []

    def messages_of(self, records: list[dict[str, Any]]) -> list[dict[str, str]]:
        messages = []
        for r in records:
            messages += [
                {"role": "user", "content": md_text(r["question"])},
                {"role": "assistant", "content": answer_markdown(r["answer"])},
            ]
        return messages

    def export_file(self, records: list[dict[str, Any]]) -> str:
        return write_export(
            self.export_dir, conversation_markdown(records, self.settings.public_url)
        )

    def respond(
        self,
        message: str,
        records: list[dict[str, Any]],
        bodies: list[str] | None,
        types: list[str] | None,
        since: str,
        until: str,
        documents: list[str] | None,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        skip = (gr.skip(),) * 7
        question = (message or "").strip()[: self.settings.max_question_chars]
        if not question:
            yield skip
            return
        shown = self.messages_of(records) + [{"role": "user", "content": md_text(question)}]
        refused = _over_limit(self.limiter, request, self.settings.api_keys)
        try:
            scope = Scope.make(bodies, types, since, until, documents)
        except ScopeError as exc:
            refused = refused or str(exc)
        if refused:
            notice = {
                "role": "assistant",
                "content": f"⚠️ {md_text(refused[:1].upper() + refused[1:])}.",
            }
            yield gr.skip(), [*shown, notice], *skip[2:]
            return
        pending = {"role": "assistant", "content": "…"}
        yield "", [*shown, pending], *skip[2:]
        last = None
        try:
            for partial in self.assistant.stream(question, self.history_of(records), scope):
                last = partial.as_json()
                pending["content"] = answer_markdown(last, final=False)
                yield gr.skip(), [*shown, pending], *skip[2:]
        except Exception:
            log.exception("answering failed")
            last = None
        if last is None:
            pending["content"] = "⚠️ The assistant could not answer just now; please try again."
            yield gr.skip(), [*shown, pending], *skip[2:]
            return
        records = [*records, {"question": question, "answer": last}]
        export = gr.DownloadButton(value=self.export_file(records), visible=True)
        yield (
            gr.skip(),
            self.messages_of(records),
            sources_html(last),
            records,
            export,
            *self.trace_choices(last),
        )

    @staticmethod
    def trace_choices(answer: dict[str, Any]) -> tuple[Any, Any]:
        """The sources of ``answer`` to trace, and the trace panel cleared."""
        choices = [
            (c.label(), json.dumps({"source": c.source, "quote": c.quote}))
            for c in Answer.from_json(answer).citations
        ]
        return gr.Dropdown(
            choices=choices, value=None, interactive=bool(choices)
        ), TRACE_PLACEHOLDER

    def trace(self, chosen: str | None, request: gr.Request) -> str:
        """Where else the library carries the chosen source's wording (the timeline)."""
        if not chosen:
            return TRACE_PLACEHOLDER
        refused = _over_limit(self.limiter, request, self.settings.api_keys)
        if refused:
            return f'<p class="pa-empty">⚠️ {html.escape(refused)}</p>'
        try:
            picked = json.loads(chosen)
            traces = self.assistant.trace_paragraphs(picked["quote"], picked["source"])
        except (TraceError, ValueError, KeyError, TypeError) as exc:
            return f'<p class="pa-empty">⚠️ {html.escape(str(exc) or "cannot trace this")}</p>'
        return trace_html([t.as_json() for t in traces])

    def on_like(self, records: list[dict[str, Any]], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        if isinstance(data.liked, bool) and 0 <= index // 2 < len(records):
            record = records[index // 2]
            self.feedback.record(record["question"], record["answer"], data.liked)

    def show_sources(self, records: list[dict[str, Any]], data: gr.SelectData) -> Any:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        if not 0 <= index // 2 < len(records):
            return gr.skip(), gr.skip(), gr.skip()
        answer = records[index // 2]["answer"]
        return sources_html(answer), *self.trace_choices(answer)

    def clear(self) -> tuple[Any, ...]:
        return (
            [],
            [],
            SOURCES_PLACEHOLDER,
            gr.DownloadButton(value=None, visible=False),
            gr.Dropdown(choices=[], value=None),
            TRACE_PLACEHOLDER,
        )


def _chat_tab(doors: Doors) -> list[Any]:
    """The conversation, the question box, examples, export, and the sources panel."""
    talk = _Conversation(doors)
    settings = doors.settings
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
            scope = _scope_selector(doors)
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
            trace_choice = gr.Dropdown(
                label="Where else does this language appear?",
                info="Choose a source: the passages of other documents that repeat its "
                "wording, oldest first, with what changed.",
                choices=[],
                value=None,
                interactive=False,
                elem_id="pa-trace-choice",
            )
            trace_panel = gr.HTML(
                TRACE_PLACEHOLDER,
                css_template=(STATIC_DIR / "sources.css").read_text(encoding="utf-8"),
                elem_id="pa-trace",
                max_height=700,
            )
    trace_choice.change(
        talk.trace,
        inputs=[trace_choice],
        outputs=[trace_panel],
        api_visibility="private",
        concurrency_limit=ANSWER_CONCURRENCY,
        concurrency_id="answer",
    )
    gr.on(
        [textbox.submit, send.click],
        talk.respond,
        inputs=[textbox, records, *scope],
        outputs=[textbox, chatbot, sources, records, export, trace_choice, trace_panel],
        api_visibility="private",
        concurrency_limit=ANSWER_CONCURRENCY,
        concurrency_id="answer",
        show_progress="minimal",
    )
    chatbot.like(talk.on_like, inputs=[records], outputs=None, api_visibility="private")
    chatbot.select(
        talk.show_sources,
        inputs=[records],
        outputs=[sources, trace_choice, trace_panel],
        api_visibility="private",
    )
    for trigger in (clear_button.click, chatbot.clear):
        trigger(
            talk.clear,
            outputs=[chatbot, records, sources, export, trace_choice, trace_panel],
            api_visibility="private",
        )
    return scope


def scope_choices(library: Any) -> dict[str, list[Any]]:
    """What the scope selector offers: the bodies, types and documents the library holds."""
    docs = library.documents()
    return {
        "bodies": sorted({d["body"] for d in docs if d.get("body")}, key=str.casefold),
        "types": sorted({d["doc_type"] for d in docs if d.get("doc_type")}, key=str.casefold),
        "documents": [(d["title"], d["source"]) for d in docs],
    }


def _scope_selector(doors: Doors) -> list[Any]:
    """Beside the question: ask within some bodies, types, a date range or documents. The
    selection stays for the follow-ups until it is changed."""
    offered = scope_choices(doors.library)
    fixed = doors.settings.fixed_scope
    with gr.Accordion("Scope: ask within part of the library", open=False, elem_id="pa-scope"):
        if fixed:
            gr.Markdown(
                f"This site answers only from: {md_text(doors.settings.scope().describe())}."
            )
        with gr.Row():
            bodies = gr.Dropdown(
                offered["bodies"], multiselect=True, label="Issued by", elem_id="pa-scope-bodies"
            )
            types = gr.Dropdown(
                offered["types"], multiselect=True, label="Type", elem_id="pa-scope-types"
            )
        with gr.Row():
            since = gr.Textbox(label="Since", placeholder="YYYY-MM-DD", elem_id="pa-scope-since")
            until = gr.Textbox(label="Until", placeholder="YYYY-MM-DD", elem_id="pa-scope-until")
        documents = gr.Dropdown(
            offered["documents"], multiselect=True, label="Documents", elem_id="pa-scope-docs"
        )
    return [bodies, types, since, until, documents]
