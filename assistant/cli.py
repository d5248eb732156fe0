"""The `policy-assistant` command: parses arguments, builds parts through ``composition``, prints."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import signal
import sys
import threading
from pathlib import Path

from .environment import configure_environment
from .scope import Scope, ScopeError
from .settings import Settings, SettingsInvalidError, load_settings

__all__ = ["main"]

EPILOG_INGEST = """examples:
  policy-assistant ingest                 sync the default corpus (CORPUS_DIR)
  policy-assistant ingest new/report.pdf  add or update one file
  policy-assistant ingest --prune         also remove documents whose files are gone
  policy-assistant ingest --watch         keep the library in step with the folder
  policy-assistant ingest --rebuild       re-embed everything (after changing model or chunking)
  policy-assistant ingest https://example.org/statement.html
                                          add or re-sync a web page (conditional request)
"""
EPILOG_SEARCH = """examples:
  policy-assistant search "incident reporting deadlines under NIS2"
  policy-assistant search "Article 23" -k 3 --json
  policy-assistant search "incident reporting" --body "European Union" --since 2021-01-01
"""
EPILOG_ASK = """examples:
  policy-assistant ask "What must essential entities report under NIS2, and when?"
  policy-assistant ask "And when was it adopted?" --history turns.json
  policy-assistant ask --batch questions.jsonl --json > answers.jsonl
  policy-assistant ask "What did States agree on capacity-building?" --body "UN General Assembly" \\
      --type resolution --since 2021
  policy-assistant ask "What must be reported?" --doc eu-nis2-directive-2022-2555.md
"""
EPILOG_EVAL = """examples:
  policy-assistant eval bench/dev_cases.jsonl
  policy-assistant eval bench/dev_cases.jsonl --details --min-gold 0.9 --min-terms 0.7
  policy-assistant eval bench/blind_cases.jsonl --split dev   tune on dev; report test once
  policy-assistant eval bench/blind_cases.jsonl --split dev --converse
                                   follow-ups after the assistant's own earlier answers
  POLICY_ASSISTANT_LLM_BASE_URL=http://127.0.0.1:8008/v1 policy-assistant eval bench/dev_cases.jsonl
                                   offline and LLM answers side by side
"""
EPILOG_TRACE = """examples:
  policy-assistant trace un-ga-resolution-78-16-programme-of-action-2023.pdf "paragraph 4"
  policy-assistant trace un-ga-resolution-78-16-programme-of-action-2023.pdf
                                   every passage of it whose wording stands elsewhere
  policy-assistant trace --text "States should not conduct or knowingly support ICT activity"
  policy-assistant trace eu-nis2-directive-2022-2555.md "Article 23" --json --since 2023
"""
EPILOG_SERVE = """examples:
  policy-assistant serve                          http://127.0.0.1:7860
  POLICY_ASSISTANT_ADMIN_TOKEN=s3cret policy-assistant serve --port 8080
  policy-assistant serve --host 0.0.0.0           listen on every interface (put it behind TLS)
"""
EPILOG_SHELL = """Type a question or keywords at the prompt; an empty line or Ctrl-D quits."""


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from vectorstore import is_url

    from .composition import run_ingest

    urls = [p for p in args.paths if is_url(p)]
    paths = [Path(p) for p in args.paths if p not in urls] or (
        [] if urls else [settings.corpus_dir]
    )
    missing = [str(p) for p in paths if not p.exists()]
    if missing:  # checked before anything is touched: a mistyped path changes nothing
        return _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        report = run_ingest(
            settings,
            paths,
            prune=args.prune,
            rebuild=args.rebuild,
            progress=not args.quiet,
            urls=urls,
        )
    except KeyboardInterrupt:
        return _fail(
            "interrupted: documents already committed are stored whole; run ingest again to finish"
        )
    _print_report(report, args.json)
    if args.watch:
        return _watch(settings, args)
    return 0 if report.ok else 1


def _print_report(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
        return
    for source, note in report.notes:
        print(f"note: {source}: {note}")
    for source, reason in report.failed:
        print(f"failed: {source}: {reason}", file=sys.stderr)
    print(report.summary(), flush=True)


def _watch(settings: Settings, args: argparse.Namespace) -> int:
    """`ingest --watch`: sync CORPUS_DIR again whenever its files change (and on the interval)."""
    from .composition import watch_corpus

    every = settings.sync_interval_minutes
    print(
        f"watching {settings.corpus_dir} for changes"
        + (f", and syncing every {every:g} min" if every else "")
        + " (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: at once
        stop.set()  # the watch ends after the sync under way, which is never cut short
        print("stopping (Ctrl-C again stops at once)", file=sys.stderr, flush=True)

    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, on_signal) for s in handled}
    try:
        with contextlib.suppress(KeyboardInterrupt):
            watch_corpus(settings, lambda report: _print_report(report, args.json), stop=stop)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0


def _scope_of(args: argparse.Namespace) -> Scope:
    """The scope the --body/--type/--since/--until/--doc options give (ScopeError if bad)."""
    return Scope.make(args.body, args.type, args.since, args.until, args.doc)


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import build_embedder, build_searcher

    try:
        scope = _scope_of(args).within(settings.scope()) or None
    except ScopeError as exc:
        return _fail(str(exc), 2)
    searcher = build_searcher(settings, build_embedder(settings))
    if scope and not searcher.allowed(scope):
        return _fail(f"no document in the library matches the scope ({scope.describe()})")
    hits = searcher.search(args.query, k=args.k or settings.search_k, scope=scope)
    if args.json:
        rows = [{**h.as_json(), **_metadata(searcher, h.chunk.source)} for h in hits]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no passage matches")
    for rank, hit in enumerate(hits, start=1):
        print(_format_hit(rank, hit))
    return 0


def _metadata(searcher, source: str) -> dict[str, str | None]:
    record = searcher.documents.get(source)
    return {f: getattr(record, f, None) for f in ("body", "doc_type", "date", "symbol")}


def _format_hit(rank: int, hit) -> str:
    c = hit.chunk
    where = ", ".join(p for p in (c.title, f"p. {c.page}" if c.page else "", c.locator or "") if p)
    text = c.text if len(c.text) <= 400 else c.text[:400] + "…"
    return f"[{rank}] {where}  (score {hit.score:.3f}, {c.source})\n    {text}\n"


def _load_history(path: str | None) -> list[dict[str, str]]:
    if not path:
        return []
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(
        isinstance(t, dict)
        and t.get("role") in ("user", "assistant")
        and isinstance(t.get("content"), str)
        for t in data
    ):
        raise ValueError(f"{path}: history must be a JSON list of {{role, content}} turns")
    return data


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import build_assistant

    if bool(args.question) == bool(args.batch):
        return _fail("give a QUESTION or --batch FILE.jsonl, not both or neither")
    try:
        history = _load_history(args.history)
        cases = None
        if args.batch:
            from .evaluate import load_cases

            cases = load_cases(Path(args.batch))
        scope = _scope_of(args)
    except (OSError, ValueError) as exc:
        return _fail(str(exc), 2 if isinstance(exc, ScopeError) else 1)
    assistant = build_assistant(settings)
    if cases is None:
        answer = assistant.ask(args.question, history, scope)
        print(
            json.dumps(answer.as_json(), ensure_ascii=False, indent=2)
            if args.json
            else answer.to_text()
        )
        return 0
    for case in cases:
        answer = assistant.ask(case["question"], case.get("history") or [], scope)
        if args.json:
            print(
                json.dumps({"question": case["question"], **answer.as_json()}, ensure_ascii=False)
            )
        else:
            print(f"Q: {case['question']}\n{answer.to_text()}\n")
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import (
        build_assistant,
        build_embedder,
        build_llm,
        build_searcher,
        page_text_reader,
    )
    from .evaluate import evaluate, load_cases, side_by_side

    try:
        cases = load_cases(Path(args.cases))
        scope = _scope_of(args)
    except (OSError, ValueError) as exc:
        return _fail(str(exc), 2 if isinstance(exc, ScopeError) else 1)
    if args.split:
        cases = [c for c in cases if c.get("split") == args.split]
        if not cases:
            return _fail(f"no case of {args.cases} is in the {args.split!r} split")
    searcher = build_searcher(settings, build_embedder(settings))
    llm = None if args.offline else build_llm(settings)
    # with an LLM configured, the offline answers are scored beside it (the same cases and
    # passages); the thresholds apply to the LLM's answers, the ones the doors would give
    runs = {"offline": None} | ({"LLM": llm} if llm is not None else {})
    reports = {
        name: evaluate(
            cases,
            functools.partial(build_assistant(settings, searcher, llm=model).ask, scope=scope),
            page_text_reader(settings.corpus_dir),
            converse=args.converse,
        )
        for name, model in runs.items()
    }
    if args.details:
        for name, run in reports.items():
            for r in run.results:
                flag = "ABSTAIN" if r.answer.abstained else "answer "
                print(
                    f"{name + ' ' if len(reports) > 1 else ''}{flag} gold={r.gold_cited} "
                    f"terms={r.terms_found} valid={r.citations_valid} "
                    f"| {r.case.get('id', '')}: {r.answer.answer[:160]}"
                )
        print()
    report = list(reports.values())[-1]
    print(side_by_side(reports) if len(reports) > 1 else report.table())
    for name, run in reports.items():
        for key in ("kind", "lang"):
            if any(key in r.case for r in run.results):
                print(f"\n{name}:" if len(reports) > 1 else "")
                print(run.breakdown(key))
    metrics = report.metrics()
    below = [
        f"{name} {metrics[name]:.3f} < {minimum}"
        for name, minimum in (
            ("gold_source_hit_rate", args.min_gold),
            ("key_terms_all_present", args.min_terms),
            ("citation_validity", args.min_validity),
            ("abstention_recall", args.min_abstention_recall),
        )
        if minimum is not None and not metrics[name] >= minimum
    ]
    if (
        args.max_wrong_abstention is not None
        and metrics["wrong_abstention_rate"] > args.max_wrong_abstention
    ):
        below.append(
            f"wrong_abstention_rate {metrics['wrong_abstention_rate']:.3f} > {args.max_wrong_abstention}"
        )
    if below:
        return _fail("below threshold: " + "; ".join(below))
    return 0


def cmd_trace(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import build_assistant
    from .trace import TraceError

    if bool(args.source) == bool(args.text):
        return _fail("give a SOURCE [LOCATOR] or --text TEXT, not both or neither", 2)
    try:
        scope = _scope_of(args)
    except ScopeError as exc:
        return _fail(str(exc), 2)
    assistant = build_assistant(settings, llm=None)
    try:
        if args.source and not args.locator and not args.text:
            return _trace_document(assistant, args, scope)
        traced = assistant.trace(
            args.text, source=args.source, locator=args.locator, scope=scope, limit=args.limit
        )
    except TraceError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps([m.as_json() for m in traced.matches], indent=2, ensure_ascii=False))
        return 0
    if traced.selected is not None:
        print(f"Traced: {traced.selected.label()[4:]}")
    print(f"  {_clip(traced.text, 300)}\n")
    if not traced.matches:
        print("No other document in the library carries this wording.")
    for m in traced.matches:
        print(f"{m.citation.label()}  similarity {m.similarity:.2f}  ({m.citation.source})")
        print(f"    {_clip(_marked(m.diff), 600)}\n")
    return 0


def _trace_document(assistant, args: argparse.Namespace, scope: Scope) -> int:
    """``trace SOURCE`` alone: each of its passages whose wording stands elsewhere."""
    traces = assistant.trace_document(args.source, scope)
    if args.json:
        rows = [
            {**m.as_json(), "traced": t.selected.as_json() if t.selected else None}
            for t in traces
            for m in t.matches
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not traces:
        print(f"No passage of {args.source} has its wording elsewhere in the library.")
    for t in traces:
        where = t.selected.where() if t.selected else ""
        print(f"== {where or 'passage'}: {_clip(t.text, 160)}")
        for m in t.matches:
            print(f"   {m.citation.label()}  similarity {m.similarity:.2f}")
        print()
    return 0


def _marked(diff: list[dict[str, str]]) -> str:
    """A diff as text: [-removed-] and {+added+}, as `git diff --word-diff` writes them."""
    marks = {"equal": "{}", "removed": "[-{}-]", "added": "{{+{}+}}"}
    return " ".join(marks[d["op"]].format(d["text"]) for d in diff)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    updates = {k: v for k, v in (("host", args.host), ("port", args.port)) if v}
    settings = settings.model_copy(update=updates)
    from .composition import build_web_app, server_config

    app = build_web_app(
        settings, sync=not args.no_sync, progress=True, watch=args.watch, background=True
    )
    url = f"http://{settings.host}:{settings.port}"
    print(f"policy-assistant is serving at {url}  (API docs: {url}/api/docs)", file=sys.stderr)
    uvicorn.Server(server_config(app, settings)).run()
    return 0


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from .composition import build_mcp_server

    # stdout carries the protocol: everything else goes to stderr
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_mcp_server(settings).run("stdio")
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import open_library, remove_document

    _, library = open_library(settings)
    if args.action == "list":
        docs = library.documents()
        if args.json:
            print(json.dumps(docs, indent=2, ensure_ascii=False))
        else:
            for d in docs:
                print(f"{d['source']}\t{d['chunks']} passages\t{d['title']}")
        return 0
    if not args.source:
        return _fail(f"documents {args.action} needs a SOURCE (see: documents list)")
    found = {d["source"]: d for d in library.documents()}.get(args.source)
    if found is None:
        return _fail(f"{args.source}: no such document (see: documents list)")
    if args.action == "show":
        print(
            json.dumps(found, indent=2, ensure_ascii=False)
            if args.json
            else "\n".join(f"{k}: {v}" for k, v in found.items())
        )
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            return _fail("removing a document needs --yes (or an answer at a terminal)")
        reply = input(f"remove {args.source} and its {found['chunks']} passages? [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("nothing removed")
            return 1
    failed = remove_document(library, args.source)
    if failed:
        return _fail(f"{args.source}: {failed}")
    print(json.dumps({"removed": [args.source]}) if args.json else f"removed {args.source}")
    return 0


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from .composition import build_embedder, build_searcher

    searcher = build_searcher(settings, build_embedder(settings))
    searcher.refresh(force=True)
    print(f"{len(searcher.documents)} documents. Search the library; an empty line quits.")
    while True:
        try:
            query = input("search> ").strip()
        except EOFError:
            break
        if not query:
            break
        for rank, hit in enumerate(searcher.search(query, k=settings.search_k), start=1):
            print(_format_hit(rank, hit))
    return 0


def _add_scope_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group(
        "scope", "ask within part of the library (`documents list` shows bodies, types, dates)"
    )
    group.add_argument(
        "--body", action="append", metavar="BODY", help='issuing body, e.g. "European Union"'
    )
    group.add_argument(
        "--type", action="append", metavar="TYPE", help="document type, e.g. resolution"
    )
    group.add_argument("--since", metavar="DATE", help="dated on or after (ISO, e.g. 2021-01-01)")
    group.add_argument("--until", metavar="DATE", help="dated on or before (ISO)")
    group.add_argument(
        "--doc", action="append", metavar="SOURCE", help="a document, by name (repeatable)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policy-assistant",
        description="Answers questions over a library of policy documents, with citations. "
        "Settings come from POLICY_ASSISTANT_* environment variables or a .env file "
        "(see the README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser(
        "ingest",
        help="read documents into the store (skips unchanged files)",
        description="Read PDF, HTML, Markdown, TXT and DOCX files and web pages, split them "
        "along their structure, embed them and sync them into the store. Unchanged files are "
        "skipped, changed ones replaced; a known page costs one conditional request. Scanned "
        "PDF pages are read by OCR when Tesseract is installed. Exit code 1 if any file or "
        "page failed (a URL into a private network is refused: WEB_ALLOW_PRIVATE).",
        epilog=EPILOG_INGEST,
        formatter_class=formatter,
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="files, folders or http(s) URLs of web pages (default: CORPUS_DIR and the pages "
        "its SOURCES.web lists)",
    )
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="re-embed the whole CORPUS_DIR (and any PATH given) into a new store beside the "
        "old one, switched in when complete",
    )
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
    p.add_argument(
        "--watch",
        action="store_true",
        help="after the sync, keep syncing CORPUS_DIR whenever its files change (removed files "
        "leave the library), and every SYNC_INTERVAL_MINUTES when set",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "search",
        help="find passages (dense + lexical, fused)",
        description="Print the passages that best match QUERY, from dense and lexical "
        "retrieval fused.",
        epilog=EPILOG_SEARCH,
        formatter_class=formatter,
    )
    p.add_argument("query", metavar="QUERY")
    p.add_argument("-k", type=int, default=0, help="number of passages (default: SEARCH_K)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of {source, title, page, locator, score, text, body, "
        "doc_type, date, symbol}",
    )
    _add_scope_options(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "ask",
        help="answer a question with citations",
        description="Answer QUESTION from the library: a short answer whose every sentence "
        "ends with [n], then the sources. Without an LLM the answer is made of the documents' "
        "own sentences; when the library does not answer, it says so.",
        epilog=EPILOG_ASK,
        formatter_class=formatter,
    )
    p.add_argument("question", nargs="?", metavar="QUESTION")
    p.add_argument("--json", action="store_true", help="print the Answer JSON")
    p.add_argument(
        "--history", metavar="FILE", help="earlier turns: a JSON list of {role, content}"
    )
    p.add_argument(
        "--batch",
        metavar="FILE.jsonl",
        help='answer each line {"question": ..., "history": [...]}; one output line each',
    )
    _add_scope_options(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "eval",
        help="score the assistant on question cases",
        description="Ask every case of CASES.jsonl (question, history, gold_sources, "
        "must_contain, answerable) and print: gold sources among the citations, key terms in "
        "the answer, citation validity (each quote re-read from the original file at its page), "
        "abstention precision and recall. With an LLM endpoint configured the offline and the "
        "LLM answers are scored side by side. The --min options make it exit 1 below a "
        "threshold (the LLM's figures when there is one).",
        epilog=EPILOG_EVAL,
        formatter_class=formatter,
    )
    p.add_argument("cases", metavar="CASES.jsonl")
    p.add_argument("--details", action="store_true", help="print a line per case first")
    p.add_argument(
        "--split", choices=["dev", "test"], help="only the cases of this split (bench/blind_cases)"
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="score only the offline answers, also when an LLM endpoint is configured",
    )
    p.add_argument(
        "--converse",
        action="store_true",
        help="ask a follow-up's earlier questions first and give it the assistant's own answers "
        "to them as its history, not the case's written ones",
    )
    p.add_argument("--min-gold", type=float, metavar="X", help="minimum gold-source hit rate")
    p.add_argument("--min-terms", type=float, metavar="X", help="minimum key-term accuracy")
    p.add_argument("--min-validity", type=float, metavar="X", help="minimum citation validity")
    p.add_argument(
        "--min-abstention-recall", type=float, metavar="X", help="minimum abstention recall"
    )
    p.add_argument(
        "--max-wrong-abstention",
        type=float,
        metavar="X",
        help="maximum share of answerable questions abstained",
    )
    _add_scope_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "trace",
        help="where else the library carries a passage's wording, and what changed",
        description="Find the passages of other documents that repeat a passage (or a text) "
        "word for word or with changes, oldest first, each with a word-level diff: "
        "[-removed-] is in the traced text only, {+added+} in the other document only.",
        epilog=EPILOG_TRACE,
        formatter_class=formatter,
    )
    p.add_argument("source", nargs="?", metavar="SOURCE", help="the document, by name")
    p.add_argument(
        "locator",
        nargs="?",
        metavar="LOCATOR",
        help='its passage, e.g. "paragraph 5" (none: each paragraph of the document)',
    )
    p.add_argument("--text", help="trace this text instead of a passage")
    p.add_argument("--limit", type=int, default=20, help="most matches shown (default 20)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of matches: the citation keys plus similarity (0-1) and diff",
    )
    _add_scope_options(p)
    p.set_defaults(func=cmd_trace)

    p = sub.add_parser(
        "serve",
        help="serve the chat UI, the HTTP API and the embed widget",
        description="Sync CORPUS_DIR into the store (unchanged files are skipped), then serve the "
        "Gradio chat at /, the JSON API at /api/v1 (docs at /api/docs), the embeddable chat at "
        "/embed and the widget script at /widget.js.",
        epilog=EPILOG_SERVE,
        formatter_class=formatter,
    )
    p.add_argument("--host", help="address to bind (default: HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: PORT, 7860)")
    p.add_argument("--no-sync", action="store_true", help="do not ingest CORPUS_DIR at start")
    p.add_argument(
        "--watch",
        action="store_true",
        help="sync CORPUS_DIR whenever its files change, and every SYNC_INTERVAL_MINUTES",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "mcp",
        help="serve the library to an MCP client over stdio",
        description="Run the Model Context Protocol server over stdin/stdout, as desktop "
        "assistants start it: tools search_library, ask_library, list_documents and the "
        "resources document://SOURCE. The served app offers the same at /mcp (streamable HTTP).",
        epilog="example (a desktop assistant's configuration):\n"
        '  {"mcpServers": {"policy-library": {"command": "/path/to/.venv/bin/policy-assistant",'
        ' "args": ["mcp"]}}}',
        formatter_class=formatter,
    )
    p.set_defaults(func=cmd_mcp)

    p = sub.add_parser(
        "documents",
        help="list, show or remove the library's documents",
        description="What the HTTP API's /documents routes do, from the command line.",
        epilog="examples:\n  policy-assistant documents list\n"
        "  policy-assistant documents show eu-nis2-directive-2022-2555.md --json\n"
        "  policy-assistant documents remove old-draft.pdf --yes",
        formatter_class=formatter,
    )
    p.add_argument("action", choices=("list", "show", "remove"))
    p.add_argument("source", nargs="?", help="the document (its name, as `list` shows it)")
    p.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--yes", action="store_true", help="remove without asking")
    p.set_defaults(func=cmd_documents)

    p = sub.add_parser(
        "shell",
        help="an interactive search prompt",
        description="Search the library interactively.",
        epilog=EPILOG_SHELL,
    )
    p.set_defaults(func=cmd_shell)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_environment()
    argv = sys.argv[1:] if argv is None else argv
    for arg in argv:  # bytes that are not UTF-8 arrive as lone surrogates
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            print("error: an argument is not valid UTF-8 text", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsInvalidError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from vectorstore import StoreError

    try:
        return args.func(args, settings)
    except StoreError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
