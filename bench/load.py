"""Load on the JSON API: many concurrent clients asking questions, and a memory soak.

The real app (``assistant.composition.build_web_app(settings, chat=False, sync=True)``, settings from
the environment: DATA_DIR, CORPUS_DIR, ...) is served by uvicorn in a separate process on a free
loopback port, with the rate limit off. This process then drives it with asyncio clients
(``httpx.AsyncClient``) that POST ``/api/v1/ask`` with the questions of bench/dev_cases.jsonl
(history included), each client sending its next question as soon as the last one is answered.

Load mode (the default): ``--clients`` clients for ``--duration`` seconds after a warm-up that
is not counted; prints throughput, p50/p95/p99/max latency and errors by status for each server
configuration given with ``--config``, with the server's CPU time per answer (user + system of
its processes, from /proc), which other processes on the machine disturb far less than the
latencies. Goal: no errors and p95 <= 2 s. The first question after the start is timed on its
own (the app loads the embedding model on first use) and the server's RSS is read idle and after.

Soak mode (``--soak SECONDS``): a steady moderate load (``--soak-clients`` clients paced to
``--soak-rate`` questions per second in all) while the resident memory of the server (VmRSS from
/proc of the uvicorn process and its workers) is sampled every ``--sample-every`` seconds;
prints the growth from the first minute's level (median of its samples after the one at 0 s,
taken before the first answer loads the model) to the end (the last sample). Goal: under 10 %.

A server configuration ``W[xA[xN]]`` is W uvicorn workers, at most A questions answered at once
per worker (the app's MAX_CONCURRENT_ANSWERS; 0 or absent: as configured, 4 by default; 40 is
what the app did before that setting: FastAPI's thread pool) and N torch threads per worker (0
or absent: torch's default, one per core, set by this script's app factory).

The load average is recorded with every result: on a shared machine the figures also measure
the other processes. It counts runnable threads, the server's own included: with 40 answers at
once the "after" figure rises by itself. Results go to bench/results/<name>.json.

    POLICY_ASSISTANT_DATA_DIR=/tmp/fulldata python -m bench.load
    POLICY_ASSISTANT_DATA_DIR=/tmp/fulldata python -m bench.load --config 1 --config 1x40
    POLICY_ASSISTANT_DATA_DIR=/tmp/fulldata python -m bench.load --soak 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    PROJECT_ROOT,
    configure_environment,
    format_table,
    free_port,
    machine,
    percentile,
    write_results,
)

GOAL_P95_SECONDS = 2.0
GOAL_SOAK_GROWTH = 0.10
HOST = "127.0.0.1"
# read by server_app() in the server's workers
TORCH_THREADS_ENV = "BENCH_LOAD_TORCH_THREADS"
READY_DIR_ENV = "BENCH_LOAD_READY_DIR"


# --- the server side -----------------------------------------------------------------------------
def server_app() -> Any:
    """The uvicorn app factory (``bench.load:server_app``) run in each server worker."""
    configure_environment()
    torch_threads = int(os.environ.get(TORCH_THREADS_ENV) or 0)
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    from assistant.composition import build_web_app
    from assistant.settings import Settings

    app = build_web_app(Settings(), chat=False, sync=True)
    ready = os.environ.get(READY_DIR_ENV)
    if ready:
        (Path(ready) / str(os.getpid())).touch()
    return app


def default_answers() -> int | None:
    """The app's MAX_CONCURRENT_ANSWERS (None in a version without that setting)."""
    from assistant.settings import Settings

    return getattr(Settings(), "max_concurrent_answers", None)


@dataclass(frozen=True)
class ServerConfig:
    workers: int = 1
    answers: int = 0  # MAX_CONCURRENT_ANSWERS; 0: the app's setting
    torch_threads: int = 0  # 0: torch's default

    @classmethod
    def parse(cls, spec: str) -> ServerConfig:
        m = re.fullmatch(r"(\d+)(?:x(\d+))?(?:x(\d+))?", spec.strip())
        if not m or int(m.group(1)) < 1:
            raise argparse.ArgumentTypeError(f"{spec!r}: expected WORKERS[xANSWERS[xTORCH]]")
        return cls(int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0))

    @property
    def label(self) -> str:
        answers = self.answers or f"app's {default_answers()}"
        torch = f"torch {self.torch_threads}" if self.torch_threads else "torch default"
        return f"{self.workers}w x {answers} at once, {torch}"


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier]
        tree += children
        frontier = children
    return tree


def rss_mib(pids: list[int]) -> float:
    """Sum of VmRSS of ``pids`` in MiB (processes gone meanwhile count 0)."""
    total = 0
    for pid in pids:
        try:
            m = re.search(r"^VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` (from /proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


class Server:
    """``uvicorn bench.load:server_app --factory`` on a free loopback port, in its own process."""

    def __init__(self, config: ServerConfig, start_timeout: float) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self.port = free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        self._tmp = tempfile.TemporaryDirectory(prefix="load-bench-")
        self.ready_dir = Path(self._tmp.name) / "ready"
        self.ready_dir.mkdir()
        self.log_path = Path(self._tmp.name) / "server.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        cfg = self.config
        env = os.environ | {
            "POLICY_ASSISTANT_RATE_LIMIT_PER_MINUTE": "0",
            TORCH_THREADS_ENV: str(cfg.torch_threads),
            READY_DIR_ENV: str(self.ready_dir),
        }
        if cfg.answers:
            env["POLICY_ASSISTANT_MAX_CONCURRENT_ANSWERS"] = str(cfg.answers)
        if cfg.torch_threads:
            env["OMP_NUM_THREADS"] = str(cfg.torch_threads)
        command = [
            sys.executable, "-m", "uvicorn", "bench.load:server_app", "--factory",
            "--host", HOST, "--port", str(self.port), "--workers", str(cfg.workers),
            "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "5",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        """Until every worker has built its app and /api/v1/health answers (bounded)."""
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            if len(list(self.ready_dir.iterdir())) >= self.config.workers:
                try:
                    if httpx.get(f"{self.url}/api/v1/health", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        raise RuntimeError(f"the server was not ready in {self.start_timeout:.0f} s")

    def pids(self) -> list[int]:
        assert self.proc is not None
        return process_tree(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # uvicorn stops its workers on SIGTERM
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in reversed(process_tree(self.proc.pid)):
                    with contextlib.suppress(OSError):  # gone meanwhile
                        os.kill(pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._tmp.cleanup()


# --- the client side -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    started: float  # seconds since the start of the run
    seconds: float
    outcome: str  # "200", another status, "bad body", "timeout", an httpx error name


def load_questions(path: Path) -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{"question": c["question"], "history": c.get("history") or []} for c in cases]


async def drive(
    url: str,
    bodies: list[dict[str, Any]],
    clients: int,
    duration: float,
    timeout: float,
    rate: float = 0.0,
    disconnecting: int = 0,
    door: str = "api",
) -> tuple[list[Sample], float]:
    """``clients`` clients asking in turn until ``duration`` has passed; (samples, elapsed).

    The first ``disconnecting`` clients are visitors who close the widget mid-answer: they ask
    through ``/api/v1/ask/stream`` and hang up after the first bytes (outcome "hung up"; not an
    error: the others' answers show whether the server noticed).

    Without ``rate`` each client asks again as soon as it has its answer; with it, client i
    sends its n-th question at ``(i + n * clients) / rate`` seconds (if free by then). A client
    starts no question after ``duration``; those in flight end within ``timeout``.
    """
    import httpx

    samples: list[Sample] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as http:
        start = time.perf_counter()

        async def client(i: int) -> None:
            for n in range(10**7):  # bounded: ends at the deadline long before
                if rate:
                    delay = start + (i + n * clients) / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                sent = time.perf_counter()
                if sent - start >= duration:
                    return
                body = bodies[(i + n * clients) % len(bodies)]
                try:
                    if i < disconnecting:
                        async with http.stream("POST", "/api/v1/ask/stream", json=body) as r:
                            async for _ in r.aiter_raw():
                                break  # the first bytes came: close the bubble
                        outcome = "hung up" if r.status_code == 200 else str(r.status_code)
                        samples.append(Sample(sent - start, time.perf_counter() - sent, outcome))
                        continue
                    if door == "openai":
                        messages = [
                            *body.get("history", []),
                            {"role": "user", "content": body["question"]},
                        ]
                        response = await http.post(
                            "/v1/chat/completions",
                            json={"model": "policy-assistant", "messages": messages},
                        )
                        expected = "citations"
                    else:
                        response = await http.post("/api/v1/ask", json=body)
                        expected = "answer"
                    outcome = str(response.status_code)
                    if response.status_code == 200 and expected not in response.json():
                        outcome = "bad body"
                except httpx.TimeoutException:
                    outcome = "timeout"
                except (httpx.HTTPError, ValueError) as exc:
                    outcome = type(exc).__name__
                samples.append(Sample(sent - start, time.perf_counter() - sent, outcome))

        await asyncio.wait_for(
            asyncio.gather(*(client(i) for i in range(clients))), duration + timeout + 30
        )
        return samples, time.perf_counter() - start


def answer_slots(url: str) -> dict[str, int] | None:
    """The server's free and total answer slots once the load is over (all free: no leak)."""
    import httpx

    for _ in range(50):  # answers still finishing release their slots within a few seconds
        slots = httpx.get(f"{url}/api/v1/health", timeout=10).json().get("answer_slots")
        if not slots or slots["free"] == slots["limit"]:
            return slots
        time.sleep(0.2)
    return slots


def first_answer(url: str, body: dict[str, Any], timeout: float) -> float | None:
    """Seconds for the first question after the start (None if it failed)."""
    import httpx

    started = time.perf_counter()
    try:
        ok = httpx.post(f"{url}/api/v1/ask", json=body, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        ok = False
    return time.perf_counter() - started if ok else None


def summarise(samples: list[Sample], elapsed: float) -> dict[str, Any]:
    ok = [s.seconds for s in samples if s.outcome == "200"]
    errors = Counter(s.outcome for s in samples if s.outcome not in ("200", "hung up"))
    return {
        "requests": len(samples),
        "ok": len(ok),
        "hung_up": sum(s.outcome == "hung up" for s in samples),
        "errors": dict(errors),
        "elapsed_seconds": elapsed,
        "throughput_rps": len(ok) / elapsed if elapsed else 0.0,
        "latency_seconds": {
            "p50": percentile(ok, 0.50),
            "p95": percentile(ok, 0.95),
            "p99": percentile(ok, 0.99),
            "max": max(ok, default=0.0),
            "mean": statistics.mean(ok) if ok else 0.0,
        },
    }


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# --- the two modes -------------------------------------------------------------------------------
def run_load(
    config: ServerConfig, args: argparse.Namespace, bodies: list[dict]
) -> list[dict[str, Any]]:
    """One server; each door of ``args.doors`` driven in turn on it (side by side)."""
    print(f"server {config.label}: starting ...", file=sys.stderr)
    results = []
    with Server(config, args.start_timeout) as server:
        pids = server.pids()
        rss_idle = rss_mib(pids)
        first = first_answer(server.url, bodies[0], args.timeout)
        if args.warmup:
            asyncio.run(drive(server.url, bodies, args.clients, args.warmup, args.timeout))
        for door in args.doors:
            load_before, cpu_before = loadavg(), cpu_seconds(pids)
            client_cpu = time.process_time()
            print(
                f"server {config.label}, {door}: {args.clients} clients for "
                f"{args.duration:.0f} s ...",
                file=sys.stderr,
            )
            # hang-ups are a widget's, so only the JSON API's clients hang up
            disconnecting = round(args.clients * args.disconnect_share) if door == "api" else 0
            samples, elapsed = asyncio.run(
                drive(
                    server.url,
                    bodies,
                    args.clients,
                    args.duration,
                    args.timeout,
                    disconnecting=disconnecting,
                    door=door,
                )
            )
            result = summarise(samples, elapsed)
            result["disconnecting_clients"] = disconnecting
            result["answer_slots_after"] = answer_slots(server.url)
            result.update(
                config=asdict(config),
                door=door,
                label=config.label if len(args.doors) == 1 else f"{config.label} {door}",
                server_cpu_seconds=cpu_seconds(pids) - cpu_before,
                client_cpu_seconds=time.process_time() - client_cpu,
                first_answer_seconds=first,
                server_rss_mib={"idle": rss_idle, "after": rss_mib(pids)},
                load_average_1m={"before": load_before, "after": loadavg()},
            )
            if result["errors"]:
                result["server_log_tail"] = server.log_tail()
            results.append(result)
    return results


def run_soak(config: ServerConfig, args: argparse.Namespace, bodies: list[dict]) -> dict[str, Any]:
    print(f"server {config.label}: starting ...", file=sys.stderr)
    with Server(config, args.start_timeout) as server:
        pids = server.pids()
        rss_start = rss_mib(pids)
        trace: list[dict[str, float]] = []

        async def sample_memory(stop: asyncio.Event, started: float) -> None:
            for _ in range(int(args.soak / args.sample_every) + 10):  # bounded
                trace.append(
                    {
                        "t": round(time.perf_counter() - started, 1),
                        "rss_mib": round(rss_mib(pids), 1),
                        "load_1m": loadavg(),
                    }
                )
                try:
                    await asyncio.wait_for(stop.wait(), args.sample_every)
                    return
                except TimeoutError:
                    pass

        async def soak() -> tuple[list[Sample], float]:
            stop = asyncio.Event()
            sampler = asyncio.create_task(sample_memory(stop, time.perf_counter()))
            try:
                return await drive(
                    server.url,
                    bodies,
                    args.soak_clients,
                    args.soak,
                    args.timeout,
                    rate=args.soak_rate,
                )
            finally:
                stop.set()
                await sampler

        print(
            f"server {config.label}: soak, {args.soak_clients} clients at {args.soak_rate} "
            f"questions/s for {args.soak:.0f} s ...",
            file=sys.stderr,
        )
        load_before, cpu_before = loadavg(), cpu_seconds(pids)
        samples, elapsed = asyncio.run(soak())
        trace.append(
            {"t": round(elapsed, 1), "rss_mib": round(rss_mib(pids), 1), "load_1m": loadavg()}
        )
        result = summarise(samples, elapsed)
        # the sample at 0 s precedes the first answer (the model loads on first use)
        first = [p["rss_mib"] for p in trace if 0 < p["t"] <= 60] or [trace[-1]["rss_mib"]]
        first_level, end = statistics.median(first), trace[-1]["rss_mib"]
        result.update(
            config=asdict(config),
            label=config.label,
            clients=args.soak_clients,
            target_rate=args.soak_rate,
            server_cpu_seconds=cpu_seconds(pids) - cpu_before,
            rss_mib={
                "before_load": rss_start,
                "first_minute_median": first_level,
                "end": end,
                "max": max(p["rss_mib"] for p in trace),
                "growth": (end - first_level) / first_level,
            },
            rss_trace=trace,
            load_average_1m={"before": load_before, "after": loadavg()},
        )
        if result["errors"]:
            result["server_log_tail"] = server.log_tail()
    return result


# --- output --------------------------------------------------------------------------------------
def _errors(res: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(res["errors"].items())) or "none"


def print_load(runs: list[dict[str, Any]], clients: int, duration: float) -> None:
    rows = []
    for r in runs:
        lat = r["latency_seconds"]
        slots = r.get("answer_slots_after")
        leak = bool(slots) and slots["free"] != slots["limit"]
        met = not r["errors"] and not leak and lat["p95"] <= GOAL_P95_SECONDS
        rows.append(
            [
                r["label"],
                r["ok"],
                r.get("hung_up", 0),
                "{free}/{limit}".format(**r["answer_slots_after"])
                if r.get("answer_slots_after")
                else "-",
                f"{r['throughput_rps']:.1f}",
                f"{lat['p50']:.2f}",
                f"{lat['p95']:.2f}",
                f"{lat['p99']:.2f}",
                f"{lat['max']:.2f}",
                _errors(r),
                f"{r['server_cpu_seconds'] / r['elapsed_seconds'] * 100:.0f}",
                f"{r['server_cpu_seconds'] / max(r['ok'], 1) * 1000:.1f}",
                f"{r['server_rss_mib']['idle']:.0f} / {r['server_rss_mib']['after']:.0f}",
                f"{first:.1f}" if (first := r.get("first_answer_seconds")) else "failed",
                f"{r['load_average_1m']['before']:.1f} / {r['load_average_1m']['after']:.1f}",
                "met" if met else "NOT met",
            ]
        )
    headers = [
        "server",
        "answers",
        "hung up",
        "free slots after",
        "req/s",
        "p50 s",
        "p95 s",
        "p99 s",
        "max s",
        "errors",
        "server CPU %",
        "CPU ms/answer",
        "RSS MiB idle/after",
        "1st answer s",
        "load 1m before/after",
        "goal",
    ]
    print(
        f"\n{clients} clients, {duration:.0f} s each; goal: no errors, p95 <= "
        f"{GOAL_P95_SECONDS:.0f} s"
    )
    print(format_table(headers, rows))


def print_soak(res: dict[str, Any]) -> None:
    lat, mem = res["latency_seconds"], res["rss_mib"]
    minute_rows = []
    for minute in range(int(res["elapsed_seconds"] // 60) + 1):
        points = [p for p in res["rss_trace"] if minute * 60 <= p["t"] < (minute + 1) * 60]
        if points:
            minute_rows.append(
                [
                    f"{minute}-{minute + 1}",
                    f"{min(p['rss_mib'] for p in points):.0f}",
                    f"{max(p['rss_mib'] for p in points):.0f}",
                    f"{points[-1]['load_1m']:.1f}",
                ]
            )
    print(
        f"\nsoak: server {res['label']}, {res['clients']} clients paced to "
        f"{res['target_rate']} questions/s, {res['elapsed_seconds']:.0f} s"
    )
    print(format_table(["minute", "RSS min MiB", "RSS max MiB", "load 1m"], minute_rows))
    growth = mem["growth"]
    rows = [
        ["answers / errors", f"{res['ok']} / {_errors(res)}", ""],
        ["throughput", f"{res['throughput_rps']:.1f} req/s", ""],
        [
            "latency p50 / p95 / p99",
            f"{lat['p50']:.3f} / {lat['p95']:.3f} / {lat['p99']:.3f} s",
            "",
        ],
        [
            "server CPU",
            f"{res['server_cpu_seconds'] / res['elapsed_seconds'] * 100:.0f} %, "
            f"{res['server_cpu_seconds'] / max(res['ok'], 1) * 1000:.1f} ms per answer",
            "",
        ],
        ["RSS before the load", f"{mem['before_load']:.0f} MiB", ""],
        ["RSS, first minute (median)", f"{mem['first_minute_median']:.0f} MiB", ""],
        ["RSS at the end / max", f"{mem['end']:.0f} / {mem['max']:.0f} MiB", ""],
        [
            "growth first minute -> end",
            f"{growth * 100:+.1f} %",
            f"goal < {GOAL_SOAK_GROWTH * 100:.0f} %: "
            f"{'met' if growth < GOAL_SOAK_GROWTH else 'NOT met'}",
        ],
        [
            "load 1m before / after",
            f"{res['load_average_1m']['before']:.1f} / {res['load_average_1m']['after']:.1f}",
            "",
        ],
    ]
    print(format_table(["measure", "value", "goal"], rows))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        type=ServerConfig.parse,
        action="append",
        metavar="W[xA[xN]]",
        help="server: W workers, A questions answered at once per worker, N torch threads "
        "(repeatable; default 1: the app as configured)",
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    parser.add_argument(
        "--doors",
        type=lambda v: [d.strip() for d in v.split(",")],
        default=["api"],
        help="doors driven in turn on each server: api (/api/v1/ask), openai "
        "(/v1/chat/completions); e.g. api,openai (default api)",
    )
    parser.add_argument(
        "--disconnect-share",
        type=float,
        default=0.2,
        help="share of the clients that hang up mid-stream, like visitors closing the widget (0.2)",
    )
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds (60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="uncounted seconds first (10)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds (30)")
    parser.add_argument(
        "--soak", type=float, metavar="SECONDS", help="soak mode: memory under load this long"
    )
    parser.add_argument("--soak-clients", type=int, default=10, help="soak clients (10)")
    parser.add_argument(
        "--soak-rate", type=float, default=10.0, help="soak questions per second, in all (10)"
    )
    parser.add_argument("--sample-every", type=float, default=5.0, help="RSS samples, s (5)")
    parser.add_argument(
        "--start-timeout", type=float, default=300.0, help="seconds for the server to start"
    )
    parser.add_argument("--cases", type=Path, default=PROJECT_ROOT / "bench" / "dev_cases.jsonl")
    parser.add_argument("--name", help="results file name (default: load, or soak)")
    args = parser.parse_args(argv)
    args.config = args.config or [ServerConfig()]
    if not args.doors or set(args.doors) - {"api", "openai"}:
        parser.error("--doors takes api, openai or api,openai")
    if args.soak is not None and not 60 < args.soak <= 3600:
        parser.error("--soak takes 61 to 3600 seconds (the first minute is the baseline)")
    if not 0 < args.duration <= 3600 or not 0 < args.clients <= 500:
        parser.error("--duration takes up to 3600 s and --clients up to 500")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment()
    bodies = load_questions(args.cases)
    data_dir = os.environ.get("POLICY_ASSISTANT_DATA_DIR", "./data")
    common = {
        "data_dir": data_dir,
        "cases": str(args.cases),
        "questions": len(bodies),
        "max_concurrent_answers_default": default_answers(),
        "machine": machine(),
    }
    if args.soak is not None:
        results = [run_soak(c, args, bodies) for c in args.config]
        for res in results:
            print_soak(res)
        payload = {"benchmark": "soak", **common, "runs": results}
        name = args.name or "soak"
    else:
        results = [r for c in args.config for r in run_load(c, args, bodies)]
        print_load(results, args.clients, args.duration)
        payload = {
            "benchmark": "load",
            **common,
            "clients": args.clients,
            "duration": args.duration,
            "warmup": args.warmup,
            "runs": results,
        }
        name = args.name or "load"
    for res in results:
        if res.get("server_log_tail"):
            print(f"\nserver log ({res['label']}):\n{res['server_log_tail']}", file=sys.stderr)
    print(f"data dir {data_dir}; wrote {write_results(name, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
