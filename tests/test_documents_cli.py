"""`policy-assistant documents list|show|remove`: what the API's /documents routes do, from the
command line; removing asks first and touches only the one document."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import cli


def _library(tmp_path: Path) -> dict[str, str]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("kestrel", "osprey"):
        rules = " ".join(f"Rule {n} of the {name} framework binds every agency." for n in range(9))
        (corpus / f"{name}.md").write_text(f"# The {name} framework\n\n{rules}\n")
    env = {
        "POLICY_ASSISTANT_CORPUS_DIR": str(corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    assert cli(env, "ingest", "--quiet").returncode == 0
    return env


def _listed(env: dict[str, str]) -> set[str]:
    done = cli(env, "documents", "list", "--json")
    assert done.returncode == 0
    return {d["source"] for d in json.loads(done.stdout)}


def test_list_show_and_remove_with_confirmation(tmp_path):
    env = _library(tmp_path)
    assert _listed(env) == {"kestrel.md", "osprey.md"}
    shown = cli(env, "documents", "show", "osprey.md", "--json")
    assert json.loads(shown.stdout)["title"] == "The osprey framework"

    # no terminal to answer the question: nothing is removed without --yes
    refused = cli(env, "documents", "remove", "osprey.md")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert _listed(env) == {"kestrel.md", "osprey.md"}

    missing = cli(env, "documents", "remove", "os*", "--yes")
    assert missing.returncode != 0 and missing.stderr.strip().count("\n") == 0
    assert "no such document" in missing.stderr
    assert _listed(env) == {"kestrel.md", "osprey.md"}

    removed = cli(env, "documents", "remove", "osprey.md", "--yes")
    assert removed.returncode == 0 and "removed osprey.md" in removed.stdout
    assert _listed(env) == {"kestrel.md"}
    assert (Path(env["POLICY_ASSISTANT_CORPUS_DIR"]) / "kestrel.md").exists()
