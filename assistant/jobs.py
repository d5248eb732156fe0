"""Background jobs for slow library work (a large upload, a re-ingest) that a client polls.

Ingests already run one at a time (the library's lock), so one worker thread is enough; the
last ``keep`` jobs are remembered so that their outcome can be read after they end.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Job", "JobRunner"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    kind: str  # "upload" or "ingest"
    status: Literal["queued", "running", "done", "failed"] = "queued"
    created: float = field(default_factory=time.time)
    finished: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None  # one line, for the client

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created": round(self.created, 3),
            "finished": round(self.finished, 3) if self.finished else None,
            "result": self.result,
            "error": self.error,
        }


class JobRunner:
    """Runs submitted callables one after another in a daemon thread.

    ``expected`` exceptions become the job's one-line ``error``; anything else is logged and
    reported as an internal error.
    """

    def __init__(self, expected: tuple[type[Exception], ...] = (), keep: int = 200) -> None:
        self.expected = expected
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[tuple[Job, Callable[[], dict[str, Any]]]] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def submit(self, kind: str, work: Callable[[], dict[str, Any]]) -> Job:
        job = Job(id=uuid.uuid4().hex, kind=kind)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                oldest = next(iter(self._jobs.values()))
                if oldest.status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="jobs", daemon=True)
                self._worker.start()
        self._queue.put((job, work))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _work(self) -> None:
        while True:
            job, work = self._queue.get()
            job.status = "running"
            try:
                job.result = work()
                job.status = "done"
            except self.expected as exc:
                job.error, job.status = str(exc), "failed"
            except Exception as exc:
                log.exception("job %s (%s) failed", job.id, job.kind)
                job.error, job.status = f"internal error ({type(exc).__name__})", "failed"
            finally:
                job.finished = time.time()
