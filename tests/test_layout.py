"""Architecture rules: imports flow one way and `import assistant` stays light."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from .conftest import ROOT

# package -> our packages it may import
ALLOWED = {
    "vectorstore": set(),
    "ingest": {"vectorstore"},
    "assistant": {"vectorstore"},
    "ui": {"assistant", "ingest"},  # the doors: answers from assistant, the library from ingest
}
# builds and wires everything, the one module that imports upward (ingest and ui)
COMPOSITION_ROOT = ROOT / "assistant" / "composition.py"


def imported_packages(path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package):
    for path in (ROOT / package).rglob("*.py"):
        allowed = ALLOWED[package] | {package}
        if path == COMPOSITION_ROOT:
            allowed |= {"ingest", "ui"}
        assert imported_packages(path) <= allowed, path


def test_import_assistant_is_light():
    code = (
        "import sys, assistant, vectorstore, ingest; "
        "print(sorted(m for m in ('torch', 'chromadb', 'gradio', 'sentence_transformers', 'bm25s') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_core_exports_what_it_lists():
    """As httpx guards its surface: every name in ``assistant.__all__`` resolves, the list is
    sorted and has no duplicates, and ``dir`` shows it."""
    import assistant

    assert assistant.__all__ == sorted(set(assistant.__all__))
    for name in assistant.__all__:
        assert getattr(assistant, name) is not None, name
    assert sorted(dir(assistant)) == assistant.__all__
    with pytest.raises(AttributeError):
        assistant.not_a_name  # noqa: B018


def test_the_doors_use_only_the_public_surface():
    """ui/ imports ``from assistant import …``, never the core's internal modules."""
    for path in (ROOT / "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                assert not node.module.startswith("assistant."), f"{path.name}: {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("assistant.") for a in node.names), path.name
