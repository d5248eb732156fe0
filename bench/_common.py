"""Helpers shared by the benchmark scripts: settings, plain-text tables, results files, memory."""

from __future__ import annotations

import json
import os
import platform
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.environment import configure_environment
from assistant.settings import Settings

__all__ = [
    "PROJECT_ROOT",
    "RESULTS_DIR",
    "Timing",
    "bench_settings",
    "configure_environment",
    "folder_or_temp",
    "format_table",
    "free_port",
    "machine",
    "peak_rss_mib",
    "percentile",
    "timed",
    "write_results",
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


def bench_settings(data_dir: Path, corpus_dir: Path, **overrides: Any) -> Settings:
    """The app's settings (environment and ``.env`` included) with the benchmark's folders."""
    return Settings(data_dir=data_dir, corpus_dir=corpus_dir, **overrides)


@contextmanager
def folder_or_temp(path: Path | None, prefix: str) -> Iterator[Path]:
    """``path`` (created if needed, kept afterwards), or a temporary folder removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


@dataclass(frozen=True)
class Timing:
    """Seconds of wall-clock time and of CPU time of this process (all its threads)."""

    wall: float
    cpu: float


def timed(fn: Callable[[], Any]) -> tuple[Any, Timing]:
    """``fn()`` and the time it took.

    The CPU time shows the work done whatever else runs on the machine; the wall time grows
    when other processes compete for the cores.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def _is_number(cell: str) -> bool:
    try:
        float(cell.split()[0])
    except (IndexError, ValueError):
        return False
    return True


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table; columns whose cells all start with a number are right-aligned."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right = [all(_is_number(r[i]) for r in cells[1:] if r[i]) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank); 0 for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def peak_rss_mib() -> float:
    """Peak resident memory of this process, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` to ``bench/results/<name>.json`` and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path
