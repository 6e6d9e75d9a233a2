"""Where the CPU of `POST /v1/ask` goes under concurrent load: a per-stage CPU profile of the real server.

`qa serve` runs as a subprocess on 127.0.0.1 under a per-thread profiler (bench/_profiled_serve.py: cProfile
on each thread's own CPU clock). After a warm-up, `--clients` concurrent clients share `--requests` asks
(extractive); the profile taken after the warm-up is subtracted from the one taken after the load, and the
CPU of each stage is divided by the requests served:

- query embedding (`embed_query`, and the batch encode when queries are micro-batched),
- keyword terms (segmenting the question) and keyword search (the BM25 index),
- dense search (FAISS), fusion, hydration (reading the winning chunks), the rest of retrieval,
- answer (the extractive answerer), serialization (the response model and JSON),
- event loop and HTTP: everything else the process's threads ran (uvicorn, middleware, routing, asyncio).

Each `--variant NAME:KEY=VALUE,...` runs the server with those settings on the same collection in the same
run, so variants compare as ratios on the same machine state. Profiling inflates Python-heavy stages (each
call is counted), so latencies here are not the service's: bench/ask_latency.py measures those.

    .venv/bin/python bench/ask_profile.py --sizes 100000 --variant before:QA_EMBED_BACKEND=torch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import marshal
import os
import signal
import tempfile
import time
from pathlib import Path

import httpx
from _common import QUESTIONS, REPO, Report, build_collection, table
from ask_latency import load_level, serve

# (path fragment, function name) of each stage's top-level functions; their cumulative CPU is the stage's.
STAGES: dict[str, list[tuple[str, str]]] = {
    "query embedding": [("qa/embed/", "embed_query"), ("qa/embed/", "_encode_batch")],
    "keyword terms": [("qa/segment.py", "index_terms")],
    "keyword search": [("qa/index/collection.py", "keyword_search")],
    "dense search": [("qa/index/collection.py", "dense_search")],
    "fusion": [("qa/retrieve.py", "_fuse")],
    "hydration": [("qa/retrieve.py", "_hydrate")],
    "answer": [("qa/answer/extractive.py", "answer")],
    "serialization": [
        ("qa/api/responses.py", "of"),
        ("fastapi/routing.py", "serialize_response"),
        ("starlette/responses.py", "render"),
    ],
}
RETRIEVAL = ("qa/retrieve.py", "run")

Stats = dict[tuple[str, int, str], list[float]]


def _load(path: Path, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the profiled server wrote no snapshot {path}")
        time.sleep(0.1)
    time.sleep(0.5)  # the file is written in one go; give the writer time to close it
    with open(path, "rb") as fh:
        return marshal.load(fh)  # type: ignore[no-any-return]


def _diff(after: Stats, before: Stats) -> Stats:
    out: Stats = {}
    for func, (cc, nc, tt, ct) in after.items():
        b = before.get(func, [0, 0, 0.0, 0.0])
        out[func] = [cc - b[0], nc - b[1], tt - b[2], ct - b[3]]
    return out


def _cumulative(stats: Stats, path: str, name: str) -> tuple[float, int]:
    """Cumulative CPU seconds and call count of the functions named `name` in files matching `path`."""
    ct, calls = 0.0, 0
    for (file, _line, func), (_cc, nc, _tt, fct) in stats.items():
        if func == name and path in file.replace(os.sep, "/"):
            ct += fct
            calls += int(nc)
    return ct, calls


def profile_variant(
    index_dir: Path, tmp: Path, name: str, env: dict[str, str], questions: list[str], clients: int, requests: int
) -> dict[str, object]:
    prefix = tmp / f"profile-{name}"
    launcher = (str(REPO / "bench" / "_profiled_serve.py"), str(prefix))
    with serve(index_dir, tmp / f"server-{name}.log", env, launcher) as (base, pid):
        for q in questions[:8]:  # warm-up: model, collection, FAISS, the keyword index
            resp = httpx.post(f"{base}/v1/ask", json={"question": q}, timeout=300)
            resp.raise_for_status()
        os.kill(pid, signal.SIGUSR1)
        before = _load(Path(f"{prefix}.1"))
        load_avg = os.getloadavg()[0]
        result = asyncio.run(load_level(base, questions, clients, requests))
        os.kill(pid, signal.SIGUSR1)
        after = _load(Path(f"{prefix}.2"))
    stats = _diff(after["stats"], before["stats"])  # type: ignore[arg-type]
    served = max(1, int(result["ok"]))  # type: ignore[call-overload]
    if os.environ.get("QA_BENCH_PROFILE_TOP"):
        for func, v in sorted(stats.items(), key=lambda kv: -kv[1][2])[: int(os.environ["QA_BENCH_PROFILE_TOP"])]:
            print(f"{v[2] * 1000 / served:8.2f} ms own {v[3] * 1000 / served:8.2f} ms cum {int(v[1]):7d} {func}")
    total = sum(v[2] for v in stats.values())  # own time of every function: all profiled CPU
    stages: dict[str, float] = {}
    for stage, funcs in STAGES.items():
        stages[stage] = sum(_cumulative(stats, path, func)[0] for path, func in funcs)
    retrieval = _cumulative(stats, *RETRIEVAL)[0]
    in_retrieval = ("query embedding", "keyword terms", "keyword search", "dense search", "fusion", "hydration")
    stages["retrieval, other"] = max(0.0, retrieval - sum(stages[s] for s in in_retrieval))
    stages["event loop, HTTP, rest"] = max(0.0, total - sum(stages.values()))
    process_cpu = float(after["cpu_s"]) - float(before["cpu_s"])  # type: ignore[arg-type]
    return {
        "served": served,
        "ms": {k: v * 1000 / served for k, v in stages.items()},
        "profiled_ms": total * 1000 / served,
        "process_ms": process_cpu * 1000 / served,
        "latency": result,
        "load": load_avg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="'sample' and/or total chunk counts")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=160)
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="server settings to profile (repeatable); default: one variant with the defaults",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = parser.parse_args()
    from qa.runtime import configure_process

    configure_process(embedding=True)
    variants: list[tuple[str, dict[str, str]]] = []
    for spec in args.variant or ["default:"]:
        name, _, settings = spec.partition(":")
        variants.append((name, dict(kv.split("=", 1) for kv in settings.split(",") if kv)))
    report = Report(f"/v1/ask CPU profile by stage ({args.clients} clients)")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line]
    with tempfile.TemporaryDirectory(prefix="qa-bench-profile-") as tmp_name:
        tmp = Path(tmp_name)
        for size in args.sizes.split(","):
            index_dir = tmp / size
            timings = build_collection(index_dir, 0 if size == "sample" else int(size))
            chunks = int(timings["chunks"])
            results = []
            for name, env in variants:
                results.append(profile_variant(index_dir, tmp, name, env, questions, args.clients, args.requests))
                print(name, json.dumps(results[-1], default=str), flush=True)
            names = [n for n, _ in variants]
            rows: list[list[object]] = []
            for stage in [*STAGES, "retrieval, other", "event loop, HTTP, rest"]:
                rows.append([stage, *[r["ms"][stage] for r in results]])  # type: ignore[index]
            rows.append(["**all profiled threads**", *[r["profiled_ms"] for r in results]])
            rows.append(["process CPU (incl. native threads)", *[r["process_ms"] for r in results]])
            lat = [r["latency"] for r in results]
            rows.append(["p50 / p95 ms under the profiler", *[f"{x['p50']:.0f} / {x['p95']:.0f}" for x in lat]])  # type: ignore[index]
            rows.append(["req/s under the profiler", *[x["rps"] for x in lat]])  # type: ignore[index]
            rows.append(["errors", *[x["errors"] for x in lat]])  # type: ignore[index]
            rows.append(["load average (1 min) at the start of the load", *[r["load"] for r in results]])
            settings = "; ".join(
                f"{n}: {', '.join(f'{k}={v}' for k, v in e.items()) or 'defaults'}" for n, e in variants
            )
            report.add(
                f"{chunks:,} chunks; {args.requests} asks from {QUESTIONS.relative_to(REPO)} shared by "
                f"{args.clients} clients after 8 warm-up asks; CPU ms per request by stage. Variants: {settings}."
            )
            report.add(table(["stage (CPU ms / request)", *names], rows))
    report.finish(write=not args.no_write)


if __name__ == "__main__":
    main()
