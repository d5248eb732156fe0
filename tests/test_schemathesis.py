"""Schemathesis fuzzes every operation of the app's OpenAPI spec against a real server: no 5xx."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from pydantic import SecretStr

from .test_gradio_client import running_app


def test_no_server_error_on_fuzzed_requests(settings, embedder, tmp_path):
    # a copy of the library: fuzzed uploads and re-ingests must not touch the shared one
    shutil.copytree(settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(settings.data_dir, tmp_path / "data")
    fuzzed = settings.model_copy(
        update={
            "corpus_dir": tmp_path / "corpus",
            "data_dir": tmp_path / "data",
            "rate_limit_per_minute": 0,
            "admin_token": SecretStr("t0ken"),
        }
    )
    with running_app(fuzzed, embedder) as url:
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{url}/api/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "20",
                "--phases",
                "examples,fuzzing",
                "-H",
                "Authorization: Bearer t0ken",
                "--report-dir",
                str(tmp_path / "report"),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert counts and counts.group(1) == counts.group(2) and int(counts.group(1)) >= 50, (
        done.stdout[-1500:]
    )
    # 12 JSON API operations (search, trace and metadata edits among them) and the 2 of the
    # OpenAI-compatible door
    assert "Operations:       14 selected / 14 total" in done.stdout
