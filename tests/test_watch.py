"""A watched corpus folder: files added, changed and removed while `ingest --watch` (a real
subprocess) or the served app's library watch runs are synced in, debounced, one sync at a time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

NOTE = "A note on the repair of submarine cables by specialised ships in the Baltic Sea."
OTHER = "A note on the protection of satellite ground stations against jamming attacks."


def _lines_until(process: subprocess.Popen, wanted: str, timeout: float = 120) -> list[str]:
    """Lines of the process's stdout until one contains ``wanted``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            time.sleep(0.1)
            continue
        seen.append(line)
        if wanted in line:
            return seen
    raise AssertionError(f"no {wanted!r} within {timeout} s: {seen}")


def test_ingest_watch_syncs_files_added_and_removed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cables.txt").write_text(NOTE)
    env = {
        **os.environ,
        "POLICY_ASSISTANT_CORPUS_DIR": str(corpus),
        "POLICY_ASSISTANT_DATA_DIR": str(tmp_path / "data"),
    }
    command = [
        str(Path(sys.executable).with_name("policy-assistant")),
        "ingest",
        "--watch",
        "--quiet",
    ]
    env["PYTHONFAULTHANDLER"] = "1"  # a SIGABRT prints every thread's stack (see below)
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        _lines_until(process, "added 1, updated 0, unchanged 0")
        time.sleep(1.0)  # the watch starts after the first sync's report
        (corpus / "satellites.txt").write_text(OTHER)
        _lines_until(process, "added 1, updated 0, unchanged 1")
        (corpus / "cables.txt").unlink()
        _lines_until(process, "removed 1")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # where it hangs, for the failure's message
            process.wait(timeout=30)
            raise AssertionError(f"no exit within 60 s of SIGINT:\n{errors.read_text()}") from None
    assert code == 0, errors.read_text()
    assert "stopping" in errors.read_text()


def test_the_served_librarys_watch_keeps_the_last_sync(tmp_path, embedder):
    from assistant.composition import open_library, run_ingest
    from assistant.settings import Settings
    from ui.library_tab import last_sync_markdown

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "satellites.txt").write_text(OTHER)
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    run_ingest(settings, [corpus], progress=False)
    _, library = open_library(settings, embedder)
    assert "No sync" in last_sync_markdown(library)
    stop = threading.Event()
    watcher = threading.Thread(target=library.watch, kwargs={"stop": stop}, daemon=True)
    watcher.start()
    try:
        time.sleep(1.0)
        (corpus / "cables.txt").write_text(NOTE)
        deadline = time.monotonic() + 90
        while "cables.txt" not in library.sources() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "cables.txt" in library.sources()
        assert library.last_sync["changed"] == ["cables.txt"]
        shown = last_sync_markdown(library)
        assert "Last sync" in shown and "added 1, updated 0, unchanged 1" in shown
        assert "Changed: cables.txt" in shown
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not watcher.is_alive()
