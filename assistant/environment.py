"""Process environment set before heavy libraries load: no network, no telemetry, no spinning threads."""

from __future__ import annotations

import os

__all__ = ["PROCESS_ENV", "configure_environment"]

PROCESS_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    # OpenMP threads that busy-wait after torch runs starve the next query on 2 cores
    # (p50 15 ms -> 500 ms measured by bench/query.py); passive waiting avoids it
    "OMP_WAIT_POLICY": "PASSIVE",
}


def configure_environment() -> None:
    for key, value in PROCESS_ENV.items():
        os.environ.setdefault(key, value)
