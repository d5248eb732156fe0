"""The Gradio Library tab: the documents with their metadata, and for editors (when ADMIN_TOKEN
is set) upload, removal and metadata corrections, each checked against the admin token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ingest import Library, LibraryError

from .render import md_text
from .security import AdminGuard, client_key

__all__ = [
    "document_choices",
    "documents_table",
    "indexing_markdown",
    "last_sync_markdown",
    "library_tab",
]


COLUMNS = ["Title", "Issued by", "Type", "Date", "Symbol", "Passages", "File"]


def documents_table(library: Library) -> list[list[Any]]:
    """Rows of the Library tab: title, issuing body, type, date, symbol, passages, file kind."""
    return [
        [
            d["title"],
            d.get("body") or "",
            d.get("doc_type") or "",
            d.get("date") or "",
            d.get("symbol") or "",
            d["chunks"],
            d["kind"].upper(),
        ]
        for d in library.documents()
    ]


def indexing_markdown(library: Library) -> str:
    """While the folder is being synced: how far it is (empty otherwise)."""
    progress = library.sync_progress
    if not progress.running:
        return ""
    return (
        f"**The library is being indexed:** {md_text(progress.message())}. Answers come "
        "from the documents indexed so far."
    )


def last_sync_markdown(library: Library) -> str:
    """The last sync of the folder: when, what it did, what changed and what failed."""
    indexing = indexing_markdown(library)
    if indexing:
        return indexing
    last = library.last_sync
    if not last:
        return "*No sync of the corpus folder has run in this server yet.*"
    lines = [
        f"**Last sync** {md_text(last['at'].replace('T', ' '))} UTC: {md_text(last['summary'])}"
    ]
    if last["changed"]:
        lines.append("Changed: " + ", ".join(md_text(s) for s in last["changed"][:20]))
    for f in last["failed"][:20]:
        lines.append(f"⚠️ {md_text(f['source'])}: {md_text(f['reason'])}")
    return "  \n".join(lines)


def document_choices(library: Library) -> list[tuple[str, str]]:
    return [(f"{d['title']} ({d['source']})", d["source"]) for d in library.documents()]


def library_tab(library: Library, guard: AdminGuard) -> tuple[gr.Dataframe, list[gr.Dropdown]]:
    """The documents table (sort by a column's header, filter with the search box), and the
    editors' area only when an admin token is configured. Returns the table and the editors'
    document choices (none without a token)."""
    gr.Markdown(
        "The documents the assistant answers from. Click a column's header to sort by it; "
        "type in the search box to filter (e.g. *resolution* or *European Union*)."
    )
    table = gr.Dataframe(
        value=documents_table(library),
        headers=COLUMNS,
        datatype=["str", "str", "str", "str", "str", "number", "str"],
        interactive=False,
        wrap=True,
        show_search="filter",
        column_widths=["38%", "15%", "10%", "10%", "13%", "7%", "7%"],
        elem_id="pa-documents",
    )
    synced = gr.Markdown(last_sync_markdown(library), elem_id="pa-last-sync")
    refresh = gr.Button("Refresh", size="sm")
    refresh.click(
        lambda: (documents_table(library), last_sync_markdown(library)),
        outputs=[table, synced],
        api_visibility="private",
    )
    choices = _editors_area(library, guard, table) if guard.token else []
    return table, choices


def _editors_area(library: Library, guard: AdminGuard, table: gr.Dataframe) -> list[gr.Dropdown]:
    """Upload, removal and metadata corrections; every action checks the token (in constant time, and a client that
    keeps sending wrong ones is barred for a minute: ``AdminGuard``)."""
    refused = "⚠️ The admin token is not valid. (After many wrong ones, wait a minute.)"

    def authorised(token: str, request: gr.Request | None) -> bool:
        return guard.matches(token or "", client_key(request) if request else "ip:unknown")

    def refreshed() -> tuple[list[list[Any]], gr.Dropdown, gr.Dropdown]:
        listed = document_choices(library)
        return (
            documents_table(library),
            gr.Dropdown(choices=listed, value=None),
            gr.Dropdown(choices=listed, value=None),
        )

    # Gradio finds its progress tracker by this default value (its documented pattern).
    def add(
        token: str,
        path: str | None,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),  # noqa: B008
    ) -> tuple:
        skip = (gr.skip(),) * 4
        if not authorised(token, request) or not path:
            return refused if path else "⚠️ Choose a file first.", *skip
        name = Path(path).name
        progress(0.1, desc=f"Reading, splitting and embedding {name}…")
        try:
            source, report = library.add(name, Path(path).read_bytes())
        except LibraryError as exc:
            return f"⚠️ Could not add {md_text(name)}: {md_text(str(exc))}", *skip
        progress(1.0, desc="Done")
        passages = report.chunks_written
        status = f"**Added** {md_text(name)} as {md_text(source)} ({passages} passages); it is answerable now."
        return status, *refreshed(), None

    def remove(token: str, source: str | None, request: gr.Request) -> tuple:
        skip = (gr.skip(),) * 3
        if not authorised(token, request) or not source:
            return refused if source else "⚠️ Choose a document first.", *skip
        try:
            library.remove(source)
        except LibraryError as exc:
            return f"⚠️ {md_text(str(exc))}", *skip
        return f"**Removed** {md_text(source)}.", *refreshed()

    def current(source: str | None) -> tuple:
        record = next((d for d in library.documents() if d["source"] == source), None)
        if record is None:
            return ("",) * 4
        return tuple(record.get(f) or "" for f in ("body", "doc_type", "date", "symbol"))

    def save(
        token: str,
        source: str | None,
        body: str,
        doc_type: str,
        date: str,
        symbol: str,
        request: gr.Request,
    ) -> tuple:
        skip = (gr.skip(),) * 3
        if not authorised(token, request) or not source:
            return refused if source else "⚠️ Choose a document first.", *skip
        changes = {"body": body, "doc_type": doc_type, "date": date, "symbol": symbol}
        try:
            library.edit(source, changes)
        except LibraryError as exc:
            return f"⚠️ {md_text(str(exc))}", *skip
        table_rows, _, _ = refreshed()
        return f"**Saved** the metadata of {md_text(source)}.", table_rows, gr.skip(), gr.skip()

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
        with gr.Group():
            gr.Markdown("Correct a document's metadata (kept through later syncs):")
            edit_choice = gr.Dropdown(
                label="Document",
                choices=document_choices(library),
                value=None,
                elem_id="pa-edit-doc",
            )
            with gr.Row():
                fields = [
                    gr.Textbox(label="Issued by", elem_id="pa-edit-body"),
                    gr.Textbox(label="Type", elem_id="pa-edit-type"),
                    gr.Textbox(
                        label="Date (ISO)", placeholder="YYYY-MM-DD", elem_id="pa-edit-date"
                    ),
                    gr.Textbox(label="Symbol", elem_id="pa-edit-symbol"),
                ]
            save_button = gr.Button("Save metadata", elem_id="pa-edit-save")
        status = gr.Markdown(elem_id="pa-admin-status")
    # one change to the library at a time (the Library also serialises ingests)
    add_button.click(
        add,
        inputs=[token, upload],
        outputs=[status, table, choice, edit_choice, upload],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="library",
    )
    remove_button.click(
        remove,
        inputs=[token, choice],
        outputs=[status, table, choice, edit_choice],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="library",
    )
    edit_choice.change(current, inputs=[edit_choice], outputs=fields, api_visibility="private")
    save_button.click(
        save,
        inputs=[token, edit_choice, *fields],
        outputs=[status, table, choice, edit_choice],
        api_visibility="private",
        concurrency_limit=1,
        concurrency_id="library",
    )
    return [choice, edit_choice]
