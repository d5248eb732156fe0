"""The `policy-assistant` command: the composition root that wires settings, store, ingest and search."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .offline import go_offline
from .settings import Settings

__all__ = ["main"]

EPILOG_INGEST = """examples:
  policy-assistant ingest                 sync the default corpus (CORPUS_DIR)
  policy-assistant ingest new/report.pdf  add or update one file
  policy-assistant ingest --prune         also remove documents whose files are gone
  policy-assistant ingest --rebuild       start from an empty store (after changing model or chunking)
"""
EPILOG_SEARCH = """examples:
  policy-assistant search "incident reporting deadlines under NIS2"
  policy-assistant search "Article 23" -k 3 --json
"""
EPILOG_SHELL = """Type a question or keywords at the prompt; an empty line or Ctrl-D quits."""


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest import ChunkingConfig, ingest

    from .components import build_embedder, build_searcher, build_store

    embedder = build_embedder(settings)
    store = build_store(settings, embedder)
    if args.rebuild:
        store.drop()
    paths = [Path(p) for p in args.paths] or [settings.corpus_dir]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return _fail(f"no such file or folder: {', '.join(missing)}")
    try:
        report = ingest(
            paths,
            store,
            embedder,
            root=settings.corpus_dir,
            config=ChunkingConfig(settings.chunk_max_tokens, settings.chunk_min_tokens),
            prune=args.prune,
            catalog_file=settings.catalog_file,
            max_file_bytes=int(settings.max_file_mb * 2**20),
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        return _fail(
            "interrupted: documents already committed are stored whole; run ingest again to finish"
        )
    build_searcher(settings, embedder, store).refresh(force=True)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for source, note in report.notes:
            print(f"note: {source}: {note}")
        for source, reason in report.failed:
            print(f"failed: {source}: {reason}", file=sys.stderr)
        print(report.summary())
    return 0 if report.ok else 1


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .components import build_embedder, build_searcher

    searcher = build_searcher(settings, build_embedder(settings))
    hits = searcher.search(args.query, k=args.k or settings.search_k)
    if args.json:
        print(json.dumps([h.as_json() for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no passage matches")
    for rank, hit in enumerate(hits, start=1):
        print(_format_hit(rank, hit))
    return 0


def _format_hit(rank: int, hit) -> str:
    c = hit.chunk
    where = ", ".join(p for p in (c.title, f"p. {c.page}" if c.page else "", c.locator or "") if p)
    text = c.text if len(c.text) <= 400 else c.text[:400] + "…"
    return f"[{rank}] {where}  (score {hit.score:.3f}, {c.source})\n    {text}\n"


def cmd_shell(args: argparse.Namespace, settings: Settings) -> int:
    from .components import build_embedder, build_searcher

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
        description="Read PDF, HTML, Markdown, TXT and DOCX files, split them along their "
        "structure, embed them and sync them into the store. Unchanged files are skipped, "
        "changed ones replaced. Exit code 1 if any file failed.",
        epilog=EPILOG_INGEST,
        formatter_class=formatter,
    )
    p.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: CORPUS_DIR)"
    )
    p.add_argument("--rebuild", action="store_true", help="empty the store first")
    p.add_argument("--prune", action="store_true", help="remove documents whose files are gone")
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
        help="print a JSON array of {source, title, page, locator, score, text}",
    )
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "shell",
        help="an interactive search prompt",
        description="Search the library interactively.",
        epilog=EPILOG_SHELL,
    )
    p.set_defaults(func=cmd_shell)
    return parser


def main(argv: list[str] | None = None) -> int:
    go_offline()
    args = build_parser().parse_args(argv)
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        return _fail(f"bad setting POLICY_ASSISTANT_{str(first['loc'][0]).upper()}: {first['msg']}")
    from vectorstore import StoreError

    try:
        return args.func(args, settings)
    except StoreError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
