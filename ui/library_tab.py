"""The Gradio Library tab: the documents, and for editors (when ADMIN_TOKEN is set) upload and
removal, each checked against the admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ingest import Library, LibraryError

from .render import md_text
from .security import AdminGuard, client_key

__all__ = ["documents_table", "document_choices", "library_tab"]


def documents_table(library: Library) -> list[list[Any]]:
    """Rows of the Library tab: title, type, pages, chunks, when ingested."""
    rows = []
    for d in library.documents():
        when = (d.get("ingested_at") or "")[:16].replace("T", " ")
        rows.append([d["title"], d["kind"].upper(), d.get("pages") or "", d["chunks"], when])
    return rows


def document_choices(library: Library) -> list[tuple[str, str]]:
    return [(f"{d['title']} ({d['source']})", d["source"]) for d in library.documents()]


def library_tab(library: Library, guard: AdminGuard) -> tuple[gr.Dataframe, gr.Dropdown | None]:
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
        return documents_table(library), gr.Dropdown(choices=document_choices(library), value=None)

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
                    label="Document to remove", choices=document_choices(library), value=None
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
