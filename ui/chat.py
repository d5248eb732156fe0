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

from .embed import STATIC_DIR
from .library_tab import document_choices, documents_table, library_tab
from .render import (
    ABSTAINED_LABEL,
    SOURCES_PLACEHOLDER,
    answer_markdown,
    answer_text,
    conversation_markdown,
    md_text,
    sources_html,
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
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                _chat_tab(doors)
            with gr.Tab("Library", id="library"):
                table, choice = library_tab(library, doors.guard)
        if choice is None:
            blocks.load(lambda: documents_table(library), outputs=table, api_visibility="private")
        else:
            blocks.load(
                lambda: (documents_table(library), gr.Dropdown(choices=document_choices(library))),
                outputs=[table, choice],
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
        self, message: str, records: list[dict[str, Any]], request: gr.Request
    ) -> Iterator[tuple[Any, ...]]:
        question = (message or "").strip()[: self.settings.max_question_chars]
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        shown = self.messages_of(records) + [{"role": "user", "content": md_text(question)}]
        refused = _over_limit(self.limiter, request, self.settings.api_keys)
        if refused:
            notice = {"role": "assistant", "content": f"⚠️ {md_text(refused.capitalize())}."}
            yield gr.skip(), [*shown, notice], gr.skip(), gr.skip(), gr.skip()
            return
        pending = {"role": "assistant", "content": "…"}
        yield "", [*shown, pending], gr.skip(), gr.skip(), gr.skip()
        last = None
        try:
            for partial in self.assistant.stream(question, self.history_of(records)):
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
        export = gr.DownloadButton(value=self.export_file(records), visible=True)
        yield gr.skip(), self.messages_of(records), sources_html(last), records, export

    def on_like(self, records: list[dict[str, Any]], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        if isinstance(data.liked, bool) and 0 <= index // 2 < len(records):
            record = records[index // 2]
            self.feedback.record(record["question"], record["answer"], data.liked)

    def show_sources(self, records: list[dict[str, Any]], data: gr.SelectData) -> Any:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        ok = 0 <= index // 2 < len(records)
        return sources_html(records[index // 2]["answer"]) if ok else gr.skip()

    def clear(self) -> tuple[Any, ...]:
        return [], [], SOURCES_PLACEHOLDER, gr.DownloadButton(value=None, visible=False)


def _chat_tab(doors: Doors) -> None:
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
        talk.respond,
        inputs=[textbox, records],
        outputs=[textbox, chatbot, sources, records, export],
        api_visibility="private",
        concurrency_limit=ANSWER_CONCURRENCY,
        concurrency_id="answer",
        show_progress="minimal",
    )
    chatbot.like(talk.on_like, inputs=[records], outputs=None, api_visibility="private")
    chatbot.select(talk.show_sources, inputs=[records], outputs=[sources], api_visibility="private")
    for trigger in (clear_button.click, chatbot.clear):
        trigger(talk.clear, outputs=[chatbot, records, sources, export], api_visibility="private")
